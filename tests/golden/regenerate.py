"""Regenerate the golden decisions: `.venv/bin/python tests/golden/regenerate.py`.

WHEN TO RUN IT: only when a decision is *meant* to change — a rule set in scoring_rules/, the
bundled model in models/default, the decision code, or a case added to profiles.json — and
`tests/test_golden_decisions.py` fails because of that change. Never run it to make that test
pass after a change that was not supposed to move a decision: the failure is the point.

Afterwards review the diff (`git diff --word-diff tests/golden/`) line by line: every changed
line is a changed decision of the named profile (line i of each file = case i of
profiles.json), and the diff must show only the changes intended. Commit the golden files with
the change that caused them and say in the message which decisions moved and why.

Files: `<product>.<mode>.jsonl`, one line per case of profiles.json, each the
`parkcredit.decision.canonical_json` of `decide(batch, ruleset).record(i)`; mode `rules` decides
on the rule set alone, mode `model` with the bundled model (models/default, advisory in every
rule set). Every record is computed from the profile's `as_of`; nothing reads the clock.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from parkcredit.decision import canonical_json, decide
from parkcredit.profile import to_frame
from parkcredit.rules import RuleSet, load_ruleset

GOLDEN = Path(__file__).resolve().parent
ROOT = GOLDEN.parents[1]  # the repository: scoring_rules/ and models/default resolve from here
RULES = ROOT / "scoring_rules"
MODEL = ROOT / "models" / "default"
PROFILES = GOLDEN / "profiles.json"
PRODUCTS = ("chengxindai", "yuanbaodai", "xiaoweikuaidai")
MODES = ("rules", "model")


def load_cases(path: Path = PROFILES) -> list[tuple[str, dict[str, Any]]]:
    """(case name, profile dict) in file order; `base` + `overrides` resolved, null = missing."""
    resolved: dict[str, dict[str, Any]] = {}
    out = []
    for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
        name = case["case"]
        if name in resolved:
            raise ValueError(f"{path}: case {name!r} twice")
        profile = dict(case["profile"]) if "profile" in case else {**resolved[case["base"]], **case["overrides"]}
        profile = {k: v for k, v in profile.items() if v is not None}
        resolved[name] = profile
        out.append((name, profile))
    usccs = [p["uscc"] for _, p in out]
    if len(set(usccs)) != len(usccs):
        raise ValueError(f"{path}: every case needs its own USCC")
    return out


def frame(profiles: list[dict[str, Any]]) -> pd.DataFrame:
    return to_frame(profiles)


@cache
def ruleset(product: str) -> RuleSet:
    return load_ruleset(RULES / f"{product}.yaml")


@cache
def bundled_model() -> Any:
    from parkcredit.model.runtime import load_model_dir

    model, _, _ = load_model_dir(MODEL)
    return model


def model_for(mode: str) -> Any:
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} not in {MODES}")
    return bundled_model() if mode == "model" else None


def decide_lines(profiles: list[dict[str, Any]], rs: RuleSet, model: Any = None) -> list[str]:
    """Canonical JSON of the decision of each profile, decided as one batch."""
    d = decide(frame(profiles), rs, model)
    return [canonical_json(d.record(i)) for i in range(len(d))]


def golden_path(product: str, mode: str) -> Path:
    return GOLDEN / f"{product}.{mode}.jsonl"


def golden_lines(product: str, mode: str) -> list[str]:
    """The committed lines (without their newlines) of one golden file."""
    return golden_path(product, mode).read_bytes().decode("utf-8").split("\n")[:-1]


def mismatches(got: list[str], want: list[str], names: list[str] | None = None) -> list[str]:
    """One line per differing case: its name and the top-level record keys whose values differ."""
    names = names if names is not None else [n for n, _ in load_cases()]
    out = []
    if len(got) != len(want):
        out.append(f"{len(got)} decisions against {len(want)} golden lines (profiles.json has {len(names)} cases)")
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        if g == w:
            continue
        a, b = json.loads(g), json.loads(w)
        keys = sorted(k for k in a.keys() | b.keys() if a.get(k, KeyError) != b.get(k, KeyError))
        name = names[i] if i < len(names) else f"line {i + 1}"
        out.append(f"case {i} {name!r}: differs in {keys or ['(bytes only: same values)']}")
    return out


def render(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def main() -> int:
    cases = load_cases()
    names, profiles = [n for n, _ in cases], [p for _, p in cases]
    for product in PRODUCTS:
        for mode in MODES:
            path = golden_path(product, mode)
            lines = decide_lines(profiles, ruleset(product), model_for(mode))
            old = golden_lines(product, mode) if path.exists() else None
            path.write_bytes(render(lines))
            state = "new" if old is None else "unchanged" if old == lines else "CHANGED"
            print(f"{path.relative_to(ROOT)}: {len(lines)} decisions, {state}")
            for problem in mismatches(lines, old, names) if old not in (None, lines) else []:
                print(f"  {problem}")
    print("review the diff before committing: git diff --word-diff tests/golden/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
