"""Golden decisions: `decide` reproduces the committed records of a fixed set of profiles, byte for byte.

The profiles are tests/golden/profiles.json; the records tests/golden/<product>.<mode>.jsonl (line
i = case i). A failure here means a decision changed. If that change is intended, regenerate with
`tests/golden/regenerate.py` (read its docstring) and review the diff; otherwise it is a bug.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from golden.regenerate import (
    MODES,
    PRODUCTS,
    RULES,
    decide_lines,
    golden_lines,
    golden_path,
    load_cases,
    mismatches,
    model_for,
    render,
    ruleset,
)
from parkcredit.rules import load_ruleset

CASES = load_cases()
NAMES = [name for name, _ in CASES]
PROFILES = [profile for _, profile in CASES]
COMBOS = [(product, mode) for product in PRODUCTS for mode in MODES]


@pytest.mark.parametrize(("product", "mode"), COMBOS)
def test_decisions_match_the_golden_records_byte_for_byte(product: str, mode: str) -> None:
    path = golden_path(product, mode)
    got = decide_lines(PROFILES, ruleset(product), model_for(mode))
    if render(got) != path.read_bytes():
        problems = mismatches(got, golden_lines(product, mode))
        pytest.fail(
            f"{path.name}: {len(problems)} decision(s) differ from the golden record\n  " + "\n  ".join(problems)
            + "\nAn intended change? Run tests/golden/regenerate.py and review the diff (see its docstring).",
            pytrace=False,
        )  # fmt: skip


@pytest.mark.parametrize(("product", "mode"), COMBOS)
def test_one_row_at_a_time_decides_the_same_bytes_as_the_batch(product: str, mode: str) -> None:
    rs, model = ruleset(product), model_for(mode)
    alone = [decide_lines([p], rs, model)[0] for p in PROFILES]
    assert mismatches(alone, golden_lines(product, mode)) == []
    assert mismatches(alone, decide_lines(PROFILES, rs, model)) == []


def test_the_golden_set_covers_what_its_cases_claim() -> None:
    """The cases keep their point: each product sees all three outcomes, and the edges named in
    profiles.json land where their notes say (read from the golden files, not recomputed)."""
    status = {
        (p, name): json.loads(line)["status"]
        for p in PRODUCTS
        for name, line in zip(NAMES, golden_lines(p, "rules"), strict=True)
    }
    for p in PRODUCTS:
        assert {status[p, n] for n in NAMES} == {"ELIGIBLE", "INELIGIBLE", "NOT_APPLICABLE"}
    assert [status[p, "individual_business_92"] for p in PRODUCTS] == ["NOT_APPLICABLE", "NOT_APPLICABLE", "ELIGIBLE"]
    assert [status[p, "too_young"] for p in PRODUCTS] == ["NOT_APPLICABLE", "NOT_APPLICABLE", "ELIGIBLE"]
    assert [status[p, "score_exactly_55"] for p in PRODUCTS] == ["INELIGIBLE", "ELIGIBLE", "INELIGIBLE"]
    assert {status[p, "public_institution_12"] for p in PRODUCTS} == {"NOT_APPLICABLE"}
    assert [status[p, "individual_business_92_ungraded"] for p in PRODUCTS] == [
        "NOT_APPLICABLE", "NOT_APPLICABLE", "ELIGIBLE"
    ]  # fmt: skip
    for mode in MODES:
        records = [json.loads(line) for p in PRODUCTS for line in golden_lines(p, mode)]
        assert len(records) == len(PRODUCTS) * len(NAMES)
        assert all((r["contributions"] is None) == (mode == "rules") for r in records)
        assert all(r["model"]["status"] == ("none" if mode == "rules" else "ok") for r in records)


def test_a_changed_points_value_fails_the_golden_comparison(tmp_path: Path) -> None:
    """The comparison can fail: one points value changed in a copy of the rule set (tax grade B,
    30 -> 29) changes every record's rule-set hash, and the scores and trace of exactly the cases
    graded B; the failure report names those cases and keys."""
    text = (RULES / "chengxindai.yaml").read_text(encoding="utf-8")
    line = "          - {id: B, values: [B], points: 30}\n"
    assert text.count(line) == 1
    changed = tmp_path / "chengxindai.yaml"
    changed.write_text(text.replace(line, line.replace("points: 30", "points: 29")), encoding="utf-8")

    got = decide_lines(PROFILES, load_ruleset(changed))
    assert render(got) != golden_path("chengxindai", "rules").read_bytes()
    problems = dict(zip(NAMES, mismatches(got, golden_lines("chengxindai", "rules")), strict=True))
    assert all("'ruleset'" in p for p in problems.values())  # the hash of the edited rule set
    scored = {n for n, p in problems.items() if "'total_score'" in p}
    assert (
        scored
        == {n for n, p in CASES if p.get("tax_credit_grade") == "B"}
        == {"complete_all_fields", "small_tax_first_borrower"}
    )
    for n in scored:
        assert all(f"'{key}'" in problems[n] for key in ("dimension_scores", "trace", "reasons")), problems[n]
