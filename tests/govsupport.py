"""Rule-set texts for the governance tests: the bundled chengxindai.yaml with small, named edits."""

from __future__ import annotations

from pathlib import Path

RULES = Path(__file__).resolve().parents[1] / "scoring_rules"
BASE = (RULES / "chengxindai.yaml").read_text(encoding="utf-8")


def variant(*, version: str = "1.1", effective_from: str = "2026-07-01", threshold: int | None = None) -> str:
    """chengxindai.yaml as version `version`, effective `effective_from`, optionally another threshold."""
    text = BASE.replace('version: "1.0"', f'version: "{version}"', 1)
    text = text.replace("effective_from: 2026-01-01", f"effective_from: {effective_from}", 1)
    if threshold is not None:
        text = text.replace("threshold: 60\n", f"threshold: {threshold}\n", 1)
        text = text.replace("  - {id: C, min_score: 60}", f"  - {{id: C, min_score: {threshold}}}", 1)
    assert text != BASE
    return text


def broken() -> str:
    """A file whose characteristic DEV_DEBT_RATIO has overlapping bins (refused at load)."""
    old = '          - {id: "50_70", ge: 0.50, lt: 0.70, points: 7}'
    assert old in BASE
    return BASE.replace(old, '          - {id: "50_70", ge: 0.45, lt: 0.70, points: 7}', 1)
