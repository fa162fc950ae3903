"""Rules-only decision throughput: the vectorised `decide` against a per-row Python evaluation.

    python benchmarks/bench_rules.py [--rows 200000] [--row-sample 5000] [--repeat 3] [--product chengxindai]

Both paths start from the same derived profile frame (synthetic park, `synth.generate`) and
the same compiled rule set. The vectorised path is timed over `--rows` rows in chunks of
100,000 (as `parkcredit score` does); the per-row path (`rules.rowwise`: a plain loop over
row dicts, expressions as scalar closures — what a hand-written engine would do) over the first
`--row-sample` of them, its dicts prepared outside the timing (favouring it). Each path is timed
`--repeat` times, alternating, and its best time counts (as `timeit` does: on a shared machine
the slower runs measure the neighbours). The per-row path computes less than `decide` does (no
reasons, rule trace, knock-out list or validity date), which also favours it. The two must agree
on every sampled row; the script prints rows/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from parkcredit.catalog import load_product
from parkcredit.decision import decide
from parkcredit.profile import COLUMNS, coerce, derive
from parkcredit.rules.rowwise import decide_rows, rows_of
from parkcredit.synth import generate

CHUNK = 100_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--row-sample", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--product", default="chengxindai")
    args = ap.parse_args()

    rs = load_product(args.product)
    t = time.perf_counter()
    frame = derive(coerce(generate(args.rows, seed=1)[COLUMNS])[0])
    print(f"{args.rows:,} synthetic rows, coerced and derived in {time.perf_counter() - t:.1f} s; "
          f"rule set {rs.product} {rs.version}")  # fmt: skip

    decide(frame.head(1000), rs)  # warm-up
    m = min(args.row_sample, len(frame))
    rows = rows_of(frame.head(m), rs)
    vec_times, row_times = [], []
    for _ in range(max(args.repeat, 1)):
        t = time.perf_counter()
        parts = [decide(frame.iloc[s : s + CHUNK], rs).summary for s in range(0, len(frame), CHUNK)]
        vec_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        ref = decide_rows(rows, rs)
        row_times.append(time.perf_counter() - t)
    vec_s, row_s = min(vec_times), min(row_times)
    vec_rate, row_rate = len(frame) / vec_s, m / row_s

    summary = parts[0].head(m)
    same = (
        [r["status"] for r in ref] == summary["status"].tolist()
        and [r["limit_yuan"] for r in ref] == summary["limit_yuan"].tolist()
        and np.allclose([r["total_score"] for r in ref], summary["total_score"].to_numpy(), atol=1e-3)
    )
    eligible = sum(int(p["eligible"].sum()) for p in parts)
    spread = lambda ts: "/".join(f"{x:.2f}" for x in ts)  # noqa: E731
    print(f"vectorised decide : {vec_rate:>12,.0f} rows/s  "
          f"({len(frame):,} rows, best of {spread(vec_times)} s; {eligible:,} eligible)")  # fmt: skip
    print(f"per-row Python    : {row_rate:>12,.0f} rows/s  ({m:,} rows, best of {spread(row_times)} s)")
    print(f"ratio             : {vec_rate / row_rate:>12.1f} ×   (same decisions on the sample: {same})")
    if not same:
        raise SystemExit("the two paths disagree")


if __name__ == "__main__":
    main()
