"""Backtest timing: a candidate rule set against a synthetic park of 10,000 and 1,000,000 enterprises.

    python benchmarks/bench_backtest.py                 # 10,000 and 1,000,000
    python benchmarks/bench_backtest.py --n 10000 50000

Baseline 企业诚信贷 v1.0 (scoring_rules/chengxindai.yaml); candidate the same file with the
threshold and band C lowered to 58 (v1.1). Outcomes are the generator's `default_12m`. Prints the
time to generate and coerce the park (not part of a backtest: the service reads stored snapshots)
and the backtest itself (two vectorised decisions in chunks of 200,000 rows, swap sets, breakdowns
by industry and band, AUC/KS).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from parkcredit.governance.backtest import backtest
from parkcredit.profile import coerce
from parkcredit.rules import load_ruleset, parse_ruleset
from parkcredit.synth import generate

RULES = Path(__file__).resolve().parents[1] / "scoring_rules"


def candidate_text() -> str:
    text = (RULES / "chengxindai.yaml").read_text(encoding="utf-8")
    text = text.replace('version: "1.0"', 'version: "1.1"', 1).replace("threshold: 60\n", "threshold: 58\n", 1)
    return text.replace("  - {id: C, min_score: 60}", "  - {id: C, min_score: 58}", 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    base = load_ruleset(RULES / "chengxindai.yaml")
    cand = parse_ruleset(candidate_text(), source="chengxindai-v1.1")
    for n in args.n:
        t0 = time.perf_counter()
        park = generate(n, args.seed)
        bad = park.pop("default_12m").to_numpy("float64")
        frame, errors = coerce(park)
        assert not errors
        t1 = time.perf_counter()
        report = backtest(frame, base, cand, bad=bad)
        t2 = time.perf_counter()
        rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(
            f"backtest n={n:>9,}: {t2 - t1:6.2f} s  (generate+coerce {t1 - t0:6.2f} s; "
            f"{n / (t2 - t1):,.0f} enterprises/s; approved {report['before']['approved']:,} -> "
            f"{report['after']['approved']:,}; swap-in {report['swap']['swap_in']:,}; "
            f"AUC {report['discrimination']['before']['auc']}; peak RSS {rss_gb:.1f} GB)",
            flush=True,
        )


if __name__ == "__main__":
    main()
