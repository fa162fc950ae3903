"""decide(): knock-outs, missing data, scores, bands, limits, reasons, batch = one row.

Byte-for-byte reproducibility against committed records: tests/test_golden_decisions.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import E1, frame_of, profile
from parkcredit.decision import canonical_json, decide
from parkcredit.rules import RuleSet


def one(rs: RuleSet, **overrides: Any) -> dict[str, Any]:
    return decide(frame_of(profile(**overrides)), rs).record(0)


def test_e1_is_eligible_for_the_capped_limit(chengxindai: RuleSet) -> None:
    r = one(chengxindai)
    assert r["status"] == "ELIGIBLE" and r["band"] == "A"
    assert r["limit_yuan"] == 3_000_000  # min(8 × 1.9 M, 30 % × 48 M) = 14.4 M, capped
    assert r["dimension_scores"] == {"development": 92.0, "safety": 100.0, "environment": 100.0, "credit": 100.0}
    assert r["total_score"] == pytest.approx(0.3 * 92 + 0.2 * 100 + 0.2 * 100 + 0.3 * 100)


def test_limit_formula_by_hand(chengxindai: RuleSet) -> None:
    # band A (m = 1.0), grade B (k = 6): min(6 × 200k, 30 % × 5 M) = 1.2 M, minus 150k existing -> 1.05 M
    r = one(chengxindai, tax_credit_grade="B", tax_paid_yuan_y1=200_000, tax_paid_yuan_y2=200_000,
            revenue_yuan_y1=5_000_000, revenue_yuan_y2=4_000_000, existing_unsecured_loans_yuan=150_000)  # fmt: skip
    assert r["band"] == "A" and r["limit_yuan"] == 1_050_000


def test_limit_rounds_down_to_10000_and_uses_y1_when_y2_missing(chengxindai: RuleSet) -> None:
    r = one(chengxindai, tax_paid_yuan_y1=123_456, tax_paid_yuan_y2=None)
    assert r["limit_yuan"] == 980_000  # 8 × 123,456 = 987,648 -> 980,000


def test_limit_below_minimum_is_not_offered(chengxindai: RuleSet) -> None:
    r = one(chengxindai, tax_paid_yuan_y1=10_000, tax_paid_yuan_y2=10_000)
    assert r["status"] == "INELIGIBLE" and r["limit_yuan"] == 0
    assert r["reasons"][0]["code"] == "LIMIT_BELOW_MINIMUM"


KNOCKOUTS = {
    "KO_DISHONEST_DEBTOR": [{"dishonest_debtor_enterprise": True}, {"dishonest_debtor_legal_rep": True}],
    "KO_TAX_GRADE": [{"tax_credit_grade": "C"}, {"tax_credit_grade": "D"}],
    "KO_ABNORMAL_TAXPAYER": [{"abnormal_taxpayer": True}],
    "KO_ENV_RED_BLACK": [{"env_credit_level": "RED"}, {"env_credit_level": "BLACK"}],
    "KO_ENV_INCIDENT": [{"env_incident_level_36m": "LARGER"}],
    "KO_SAFETY_SERIOUS": [
        {"safety_dishonest_list": True},
        {"accident_serious_last_on": dt.date(2024, 1, 1)},
        {"accident_fatal_last_on": dt.date(2026, 1, 1)},
    ],
    "KO_MARKET_LISTS": [{"abnormal_operation_list": True}, {"serious_illegal_list": True}],
    "KO_MU_CLASS_D": [{"mu_efficiency_class": "D"}],
    "KO_BANK_NPL": [{"bank_npl_flag": True}, {"bank_overdue_max_days_24m": 95}],
    "KO_ARREARS": [{"utility_arrears_months": 3}, {"rent_arrears_months": 4}, {"ss_arrears_months": 3}],
    "KO_MAJOR_HAZARD": [{"major_hazards_overdue": 1}],
    "KO_TAX_ARREARS": [{"tax_arrears_yuan": 5_000}],
}


@pytest.mark.parametrize(
    ("code", "overrides"), [(code, o) for code, cases in KNOCKOUTS.items() for o in cases], ids=lambda x: str(x)
)
def test_each_knockout_makes_an_otherwise_excellent_enterprise_ineligible(
    chengxindai: RuleSet, code: str, overrides: dict[str, Any]
) -> None:
    r = one(chengxindai, **overrides)
    assert r["status"] == "INELIGIBLE" and r["limit_yuan"] == 0
    assert [k["code"] for k in r["knockouts"]] == [code]
    assert r["reasons"][0]["code"] == code and r["reasons"][0]["zh"] and r["reasons"][0]["en"]


def test_all_bundled_knockouts_are_tested(chengxindai: RuleSet) -> None:
    assert {k.id for k in chengxindai.spec.knockouts} == set(KNOCKOUTS)


def test_old_events_stop_counting(chengxindai: RuleSet) -> None:
    r = one(chengxindai, accident_serious_last_on=dt.date(2022, 1, 1), accident_fatal_last_on=dt.date(2025, 1, 1))
    assert r["knockouts"] == [] and r["eligible"]


def test_knockouts_are_reported_separately_from_the_score(chengxindai: RuleSet) -> None:
    # E4 of DOMAIN §5.2: band A by score, ineligible by two knock-outs
    r = one(chengxindai, env_credit_level="RED", dishonest_debtor_enterprise=True)
    assert r["band"] == "A" and not r["eligible"]
    assert [k["code"] for k in r["knockouts"]] == ["KO_DISHONEST_DEBTOR", "KO_ENV_RED_BLACK"]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"uscc": "92510311MA6D4Q1U4P"}, "PRE_ENTERPRISE"),
        ({"established_on": dt.date(2025, 1, 1)}, "PRE_OPERATING"),
        ({"tax_paid_yuan_y1": None}, "PRE_TAX_DATA"),
    ],
)
def test_failed_precondition_is_not_applicable(chengxindai: RuleSet, overrides: dict[str, Any], code: str) -> None:
    r = one(chengxindai, **overrides)
    assert r["status"] == "NOT_APPLICABLE" and r["limit_yuan"] == 0
    assert r["reasons"][0]["code"] == code


def test_individual_business_fits_xiaoweikuaidai(chengxindai: RuleSet) -> None:
    from factories import RULES
    from parkcredit.rules import load_ruleset

    rs = load_ruleset(RULES / "xiaoweikuaidai.yaml")
    r = decide(frame_of(profile(uscc="92510311MA6D4Q1U4P")), rs).record(0)
    assert r["status"] == "ELIGIBLE" and r["limit_yuan"] == 1_000_000


def test_missing_values_fall_in_the_missing_bin(chengxindai: RuleSet) -> None:
    r = one(chengxindai, mu_efficiency_class=None, env_credit_level=None, bank_overdue_max_days_24m=None)
    chars = {c["id"]: c for d in r["trace"] for c in d["characteristics"]}
    assert chars["DEV_MU_CLASS"]["bin"] == "MISSING" and chars["DEV_MU_CLASS"]["points"] == 12
    assert chars["ENV_LEVEL"]["bin"] == "MISSING" and chars["ENV_LEVEL"]["points"] == 20
    assert chars["CRD_BANK_REPAYMENT"]["bin"] == "MISSING" and chars["CRD_BANK_REPAYMENT"]["points"] == 15


def test_not_rated_is_a_category_not_missing(chengxindai: RuleSet) -> None:
    chars = {c["id"]: c for d in one(chengxindai, env_credit_level="NOT_RATED")["trace"] for c in d["characteristics"]}
    assert chars["ENV_LEVEL"]["bin"] == "NOT_RATED" and chars["ENV_LEVEL"]["points"] == 25


def test_zero_denominator_is_missing_not_a_crash(chengxindai: RuleSet) -> None:
    r = one(chengxindai, revenue_yuan_y2=0, total_assets_yuan=0)
    chars = {c["id"]: c for d in r["trace"] for c in d["characteristics"]}
    assert chars["DEV_REVENUE_GROWTH"]["bin"] == "MISSING" and chars["DEV_DEBT_RATIO"]["bin"] == "MISSING"


def test_expired_certificate_and_safety_grade_do_not_count(chengxindai: RuleSet) -> None:
    r = one(chengxindai, hnte_valid_until=dt.date(2026, 1, 1), safety_std_valid_until=dt.date(2026, 6, 1))
    chars = {c["id"]: c for d in r["trace"] for c in d["characteristics"]}
    assert chars["DEV_CERTIFICATION"]["bin"] == "NONE"
    assert chars["SAF_STD_GRADE"]["bin"] == "NONE"


def test_high_risk_sector_without_safety_grade_scores_zero(chengxindai: RuleSet) -> None:
    chars = {
        c["id"]: c
        for d in one(chengxindai, safety_std_grade=None, high_risk_sector=True)["trace"]
        for c in d["characteristics"]
    }
    assert chars["SAF_STD_GRADE"]["bin"] == "NONE_HIGH_RISK" and chars["SAF_STD_GRADE"]["points"] == 0
    chars = {c["id"]: c for d in one(chengxindai, safety_std_grade=None)["trace"] for c in d["characteristics"]}
    assert chars["SAF_STD_GRADE"]["bin"] == "MISSING" and chars["SAF_STD_GRADE"]["points"] == 15


def test_dimension_floor_blocks_a_strong_total(chengxindai: RuleSet) -> None:
    r = one(chengxindai, safety_std_grade="NONE", high_risk_sector=True, accidents_general_36m=2,
            safety_penalties_36m=3, hazard_rectification_rate=0.5)  # fmt: skip
    assert r["dimension_scores"]["safety"] < 40 and r["total_score"] >= 60
    assert not r["eligible"] and r["reasons"][0]["code"] == "FLOOR_SAFETY"


def test_valid_until_ends_with_the_first_expiring_grade(chengxindai: RuleSet) -> None:
    assert one(chengxindai)["valid_until"] == "2027-06-30"
    assert one(chengxindai, safety_std_valid_until=dt.date(2026, 9, 30))["valid_until"] == "2026-09-30"


@pytest.mark.parametrize("months", [1, 6, 12, 13])
def test_valid_until_counts_calendar_months_like_pandas(months: int) -> None:
    """Month ends clip (Jan 31 + 1 month = Feb 28/29; Feb 29 + 12 = Feb 28), exactly as
    `pd.DateOffset(months=N)` counts; a grade that expires first wins, on its own date."""
    from types import SimpleNamespace

    from parkcredit.decision import _valid_until

    as_of = pd.to_datetime(["2024-01-31", "2024-02-29", "2023-12-31", "2024-03-15", "2024-08-31", "2024-05-31"])
    expiry = pd.to_datetime([None, "2024-03-01", "2023-12-30", "2024-03-15", None, "2024-06-30"])
    rs = SimpleNamespace(
        spec=SimpleNamespace(valid_until=SimpleNamespace(months=months)),
        valid_until_fields=["g"],
        fields_read=frozenset(),
    )
    got = _valid_until(pd.DataFrame({"as_of": as_of, "g": expiry}), rs).tolist()  # type: ignore[arg-type]
    want = as_of + pd.DateOffset(months=months)
    want = [e if pd.notna(e) and a <= e < w else w for a, e, w in zip(as_of, expiry, want, strict=True)]
    assert got == [w.date() for w in want]


def test_principal_reasons_rank_point_shortfalls(chengxindai: RuleSet) -> None:
    r = one(chengxindai, tax_credit_grade="M", env_credit_level="YELLOW")
    codes = [x["code"] for x in r["reasons"]]
    # tax M costs 20 points × 0.30 = 6.0; env yellow 30 × 0.20 = 6.0 (tie: file order keeps env first);
    # certification 5 × 0.30 = 1.5
    assert codes[:3] == ["ENV_LEVEL_YELLOW", "CRD_TAX_GRADE_M", "DEV_CERTIFICATION_PROV_OR_HNTE"]
    assert len(codes) <= 4 and all(x.get("points_lost", 1) > 0 for x in r["reasons"])


def test_one_row_and_a_batch_decide_alike(chengxindai: RuleSet) -> None:
    rows = [profile(), profile(uscc="915103112074653157", tax_credit_grade="B"), profile(env_credit_level="RED")]
    batch = decide(frame_of(*rows), chengxindai)
    for i, row in enumerate(rows):
        assert canonical_json(decide(frame_of(row), chengxindai).record(0)) == canonical_json(batch.record(i))


def test_summary_columns_match_records(chengxindai: RuleSet) -> None:
    d = decide(frame_of(profile(), profile(tax_credit_grade="D")), chengxindai)
    assert d.summary["knockouts"].tolist() == ["", "KO_TAX_GRADE"]
    assert d.summary["reason_1"].tolist()[1] == "KO_TAX_GRADE"
    assert d.summary["limit_yuan"].tolist() == [d.record(0)["limit_yuan"], 0]


# -- properties over generated profiles ------------------------------------------------------

grades = st.sampled_from(["A", "B", "M", "C", "D", None])
money = st.one_of(st.none(), st.integers(0, 2_000_000_000))
profiles = st.fixed_dictionaries(
    {
        "tax_credit_grade": grades,
        "env_credit_level": st.sampled_from(["GREEN", "BLUE", "YELLOW", "RED", "BLACK", "NOT_RATED", None]),
        "mu_efficiency_class": st.sampled_from(["A", "B", "C", "D", None]),
        "safety_std_grade": st.sampled_from(["L1", "L2", "L3", "NONE", None]),
        "revenue_yuan_y1": money, "revenue_yuan_y2": money, "tax_paid_yuan_y1": money, "tax_paid_yuan_y2": money,
        "existing_unsecured_loans_yuan": money, "net_profit_yuan_y1": st.one_of(st.none(), st.integers(-10**9, 10**9)),
        "total_liabilities_yuan": money, "bank_overdue_max_days_24m": st.one_of(st.none(), st.integers(0, 400)),
        "utility_arrears_months": st.one_of(st.none(), st.integers(0, 12)),
        "hazard_rectification_rate": st.one_of(st.none(), st.floats(0, 1)),
        "dishonest_debtor_enterprise": st.one_of(st.none(), st.booleans()),
    }
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(profiles, min_size=1, max_size=20))
def test_limit_never_above_cap_and_zero_unless_eligible(chengxindai: RuleSet, batch: list[dict[str, Any]]) -> None:
    frame = frame_of(*[profile(**p) for p in batch])
    s = decide(frame, chengxindai).summary
    assert (s["limit_yuan"] <= chengxindai.cap_yuan).all()
    assert (s["limit_yuan"][~s["eligible"]] == 0).all()
    assert (s["limit_yuan"] % 10_000 == 0).all()
    assert ((s["total_score"] >= 0) & (s["total_score"] <= 100)).all()


@settings(max_examples=40, deadline=None)
@given(profiles)
def test_a_better_tax_grade_never_lowers_the_score(chengxindai: RuleSet, p: dict[str, Any]) -> None:
    order = ["D", "C", "M", "B", "A"]
    frame = frame_of(*[profile(**{**p, "tax_credit_grade": g}) for g in order])
    totals = decide(frame, chengxindai).summary["total_score"].to_numpy()
    assert np.all(np.diff(totals) >= 0)


def test_empty_frame_decides_nothing(chengxindai: RuleSet) -> None:
    d = decide(frame_of(E1).iloc[0:0], chengxindai)
    assert len(d) == 0 and isinstance(d.summary, pd.DataFrame)
