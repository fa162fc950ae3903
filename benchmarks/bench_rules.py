"""Rules-only decision throughput: the vectorised `decide` against a per-row Python evaluation.

    python benchmarks/bench_rules.py [--rows 200000] [--row-sample 5000] [--product chengxindai]

Both paths start from the same derived profile frame (synthetic park, `synth.generate`) and
the same compiled rule set. The vectorised path is timed over `--rows` rows in chunks of
100,000 (as `parkcredit score` does); the per-row path (`rules.rowwise`: a plain loop over
row dicts, expressions as scalar closures — what a hand-written engine would do) over the first
`--row-sample` of them, its dicts prepared outside the timing (favouring it). The two must agree
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
    ap.add_argument("--product", default="chengxindai")
    args = ap.parse_args()

    rs = load_product(args.product)
    t = time.perf_counter()
    frame = derive(coerce(generate(args.rows, seed=1)[COLUMNS])[0])
    print(f"{args.rows:,} synthetic rows, coerced and derived in {time.perf_counter() - t:.1f} s; "
          f"rule set {rs.product} {rs.version}")  # fmt: skip

    decide(frame.head(1000), rs)  # warm-up
    t = time.perf_counter()
    parts = [decide(frame.iloc[s : s + CHUNK], rs).summary for s in range(0, len(frame), CHUNK)]
    vec_s = time.perf_counter() - t
    vec_rate = len(frame) / vec_s

    m = min(args.row_sample, len(frame))
    sample = frame.head(m)
    rows = rows_of(sample, rs)
    t = time.perf_counter()
    ref = decide_rows(rows, rs)
    row_s = time.perf_counter() - t
    row_rate = m / row_s

    summary = parts[0].head(m)
    same = (
        [r["status"] for r in ref] == summary["status"].tolist()
        and [r["limit_yuan"] for r in ref] == summary["limit_yuan"].tolist()
        and np.allclose([r["total_score"] for r in ref], summary["total_score"].to_numpy(), atol=1e-3)
    )
    eligible = sum(int(p["eligible"].sum()) for p in parts)
    print(f"vectorised decide : {vec_rate:>12,.0f} rows/s  "
          f"({len(frame):,} rows in {vec_s:.2f} s; {eligible:,} eligible)")  # fmt: skip
    print(f"per-row Python    : {row_rate:>12,.0f} rows/s  ({m:,} rows in {row_s:.2f} s)")
    print(f"ratio             : {vec_rate / row_rate:>12.1f} ×   (same decisions on the sample: {same})")
    if not same:
        raise SystemExit("the two paths disagree")


if __name__ == "__main__":
    main()
