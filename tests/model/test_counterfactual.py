"""Path to eligibility (达标路径): minimal, actionable, and each option really makes the enterprise eligible."""

from __future__ import annotations

import datetime as dt

from factories import AS_OF, frame_of, profile
from parkcredit.decision import decide
from parkcredit.model.counterfactual import ACTIONS, path_to_eligibility

# what an enterprise cannot change by acting: identity, industry, age, history
FORBIDDEN = {"uscc", "industry_code", "established_on", "in_park_since", "accidents_general_36m",
             "accident_serious_last_on", "accident_fatal_last_on", "bank_overdue_max_days_24m", "arrears_months_24m",
             "revenue_yuan_y1", "revenue_yuan_y2", "land_area_mu"}  # fmt: skip


def _apply(base: dict, option: dict) -> dict:
    changed = dict(base)
    for change in option["changes"]:
        for field, value in change["fields"].items():
            is_date = isinstance(value, str) and field.endswith("_until")
            changed[field] = dt.date.fromisoformat(value) if is_date else value
    return changed


def test_eligible_enterprise_needs_no_path(chengxindai) -> None:
    assert path_to_eligibility(frame_of(profile()), chengxindai) == []


def test_two_knockouts_need_exactly_both_fixes(chengxindai) -> None:
    base = profile(tax_credit_grade="C", abnormal_operation_list=True)
    assert not decide(frame_of(base), chengxindai).summary["eligible"].iloc[0]
    options = path_to_eligibility(frame_of(base), chengxindai)
    assert options, "raising the grade and leaving the list should make it eligible"
    assert all(o["n_changes"] >= 2 for o in options)  # no single action clears both knock-outs
    assert {c["code"] for c in options[0]["changes"]} == {"TAX_GRADE_UP", "LEAVE_ABNORMAL_LIST"}
    assert options[0]["changes"][0]["zh"] and options[0]["changes"][0]["en"]
    for option in options:
        rec = decide(frame_of(_apply(base, option)), chengxindai).record(0)
        assert rec["eligible"] and rec["limit_yuan"] == option["limit_yuan"]
        assert rec["total_score"] == option["total_score"]


def test_options_are_minimal_and_only_touch_actionable_fields(chengxindai) -> None:
    base = profile(tax_credit_grade="C", major_hazards_open=2, hazard_rectification_rate=0.5,
                   env_credit_level="RED", utility_arrears_months=4)  # fmt: skip
    options = path_to_eligibility(frame_of(base), chengxindai, max_changes=4)
    assert options
    sets = [frozenset(c["code"] for c in o["changes"]) for o in options]
    for a in sets:
        assert not any(b < a for b in sets), f"{set(a)} is not minimal"
    touched = {f for o in options for c in o["changes"] for f in c["fields"]}
    assert touched and not touched & FORBIDDEN


def test_history_knockout_has_no_path(chengxindai) -> None:
    recent = AS_OF - dt.timedelta(days=200)  # a serious accident within 36 months: nothing to do about it
    assert path_to_eligibility(frame_of(profile(accident_serious_last_on=recent)), chengxindai) == []


def test_every_action_has_chinese_and_english_text() -> None:
    codes = [a.code for a in ACTIONS]
    assert len(codes) == len(set(codes))
    assert all(a.zh and a.en for a in ACTIONS)
