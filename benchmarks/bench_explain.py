"""Explanation throughput of the bundled model, all on the same rows, in one run.

    python benchmarks/bench_explain.py [--rows 20000] [--shap-rows 2000] [--threads 0]

Prints rows/s of: the booster's bare `predict` (raw score), LightGBM's own TreeSHAP
`predict(pred_contrib=True)`, `shap.TreeExplainer(...).shap_values`, parkcredit's
TreeSHAP tables alone, and parkcredit's full explained decision (`decide`: derived fields,
rules, model PD, every contribution, ranked reasons) — with ratios against `pred_contrib` and
the largest difference between the contributions (must be below 1e-9).

The shap package is slow on this model, so it runs on the first `--shap-rows` rows only (its
rows/s is still a rate on the same kind of rows).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from parkcredit.decision import decide
from parkcredit.model.runtime import load_model_dir
from parkcredit.profile import COLUMNS, coerce, derive
from parkcredit.settings import get_settings
from parkcredit.synth import generate


def _rate(fn: Callable[[], Any], rows: int, repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return rows / best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--shap-rows", type=int, default=2_000)
    ap.add_argument("--threads", type=int, default=0, help="threads for LightGBM and numba (0 = all cores)")
    args = ap.parse_args()
    if args.threads:
        import numba

        numba.set_num_threads(args.threads)

    model, ruleset, _ = load_model_dir(get_settings().model_dir)
    assert ruleset is not None
    frame, errors = coerce(generate(args.rows, seed=11)[COLUMNS])
    assert not errors
    frame = derive(frame)
    X = model.matrix(frame)
    booster = model.booster
    n, trees = len(X), booster.num_trees()
    print(f"model {model.version}: {trees} trees, {X.shape[1]} features; {n:,} synthetic rows")

    model.contributions(X[:256])  # compile the numba kernel outside the timing
    r_pred, _ = _rate(lambda: booster.predict(X, raw_score=True, num_threads=args.threads), n)
    r_contrib, ref = _rate(lambda: booster.predict(X, pred_contrib=True, num_threads=args.threads), n)
    r_tables, ours = _rate(lambda: model.contributions(X), n)
    r_decide, dec = _rate(lambda: decide(frame, ruleset, model), n)

    import shap

    m = min(args.shap_rows, n)
    explainer = shap.TreeExplainer(booster)
    r_shap, sv = _rate(lambda: explainer.shap_values(X[:m]), m, repeat=1)

    diff = float(np.abs(ours - ref).max())
    diff_shap = float(np.abs(np.asarray(sv) - ref[:m, :-1]).max())
    diff_decide = float(np.abs(dec.model.contributions - ref[:, :-1]).max())
    rows = [
        ("booster.predict (raw score, no explanation)", r_pred),
        ("booster.predict(pred_contrib=True)", r_contrib),
        (f"shap.TreeExplainer.shap_values ({m:,} rows)", r_shap),
        ("parkcredit TreeSHAP tables (contributions only)", r_tables),
        ("parkcredit decide: rules + model + contributions + reasons", r_decide),
    ]
    print(f"{'path':<62} {'rows/s':>12} {'× pred_contrib':>15}")
    for name, r in rows:
        print(f"{name:<62} {r:>12,.0f} {r / r_contrib:>15.1f}")
    print(f"max |parkcredit − pred_contrib| = {diff:.2e} (tables), {diff_decide:.2e} (decide); "
          f"max |shap − pred_contrib| = {diff_shap:.2e}")  # fmt: skip
    if max(diff, diff_decide) >= 1e-9:
        raise SystemExit("contributions differ from pred_contrib by 1e-9 or more")


if __name__ == "__main__":
    main()
