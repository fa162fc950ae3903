"""One enterprise's decision in process (issue 18): profile → decision → record → canonical JSON.

    python benchmarks/bench_one_decision.py                    # bundled model on, then rules alone
    python benchmarks/bench_one_decision.py --frame            # through a frame: decide(to_frame([p]))
    python benchmarks/bench_one_decision.py --profile          # + a pyinstrument tree of the loop

The profile is the first golden case (tests/golden/profiles.json) as a dict, as the API hands it over.
`decide_profiles` (the API's path) when this tree has it, else — or with `--frame` — `to_frame` +
`decide`. Best of `--repeat` × `--n` calls (the machine is shared: the slower runs measure the others).
Runs on an older tree too (`PYTHONPATH=<tree>/src`), for before/after.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the golden cases and their loaders

import parkcredit.decision as decision  # noqa: E402
from golden.regenerate import bundled_model, load_cases, ruleset  # noqa: E402
from parkcredit.profile import to_frame  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--product", default="chengxindai")
    ap.add_argument("--n", type=int, default=300, help="calls a timing")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--frame", action="store_true", help="decide(to_frame([profile])) where decide_profiles exists")
    ap.add_argument("--profile", action="store_true", help="print a pyinstrument tree of the loop (model on)")
    args = ap.parse_args()
    profile = load_cases()[0][1]
    rs = ruleset(args.product)
    fast = hasattr(decision, "decide_profiles") and not args.frame
    path = "decide_profiles" if fast else "to_frame + decide"
    for label, model in (("bundled model", bundled_model()), ("rules alone", None)):
        one = _one(profile, rs, model, fast)
        for _ in range(30):
            one()
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            for _ in range(args.n):
                one()
            times.append((time.perf_counter() - t) / args.n * 1e3)
        times.sort()
        print(f"{path}, {label}: best {times[0]:.2f} ms, median {times[len(times) // 2]:.2f} ms a decision")
        if args.profile and model is not None:
            from pyinstrument import Profiler

            p = Profiler(interval=0.0001)
            p.start()
            for _ in range(args.n):
                one()
            p.stop()
            print(p.output_text(unicode=True, show_all=False))


def _one(profile: dict[str, object], rs: object, model: object, fast: bool) -> Callable[[], str]:
    def one() -> str:
        d = (
            decision.decide_profiles([profile], rs, model)  # type: ignore[attr-defined]
            if fast
            else decision.decide(to_frame([profile]), rs, model)  # type: ignore[arg-type]
        )
        return decision.canonical_json(d.record(0))

    return one


if __name__ == "__main__":
    main()
