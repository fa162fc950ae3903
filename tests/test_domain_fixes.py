"""Issue 17's domain fixes, each as the behaviour a committee officer relies on (DOMAIN.md §5.2, §5.4)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from factories import AS_OF, RULES, frame_of, profile
from parkcredit.decision import decide
from parkcredit.model.counterfactual import ACTIONS, TAX_GRADE_LADDER, path_to_eligibility, relevant_actions
from parkcredit.profile import derive
from parkcredit.rules import RuleSet, load_ruleset

ROOT = Path(__file__).resolve().parents[1]
PRODUCTS = ("chengxindai", "yuanbaodai", "xiaoweikuaidai")


@pytest.fixture(scope="module", params=PRODUCTS)
def any_ruleset(request: pytest.FixtureRequest) -> RuleSet:
    return load_ruleset(RULES / f"{request.param}.yaml")


@pytest.fixture(scope="module")
def xiaowei() -> RuleSet:
    return load_ruleset(RULES / "xiaoweikuaidai.yaml")


@pytest.fixture(scope="module")
def chengxin() -> RuleSet:
    return load_ruleset(RULES / "chengxindai.yaml")


def _record(rs: RuleSet, **overrides: Any) -> dict[str, Any]:
    return decide(frame_of(profile(**overrides)), rs).record(0)


# ---- the tax-grade ladder: D -> C -> B -> A, M outside it -------------------------------------------------------


def test_the_tax_grade_ladder_has_no_m() -> None:
    assert TAX_GRADE_LADDER == ["D", "C", "B", "A"]


@pytest.mark.parametrize("grade", ["C", "D"])
def test_a_c_or_d_grade_enterprise_is_never_told_to_reach_m(any_ruleset: RuleSet, grade: str) -> None:
    options = path_to_eligibility(frame_of(profile(tax_credit_grade=grade)), any_ruleset, max_changes=3)
    proposed = {c["fields"].get("tax_credit_grade") for o in options for c in o["changes"]} - {None}
    assert "M" not in proposed
    if grade == "C":
        assert proposed == {"B"}, "from C the next step is B"


def test_an_m_grade_is_no_step_to_climb(chengxin: RuleSet) -> None:
    base = frame_of(profile(tax_credit_grade="M", tax_paid_yuan_y1=10_000, tax_paid_yuan_y2=10_000))
    assert "TAX_GRADE_UP" not in {a.code for a, _ in relevant_actions(base, chengxin)}


# ---- a missing tax grade is its own reason ----------------------------------------------------------------------


def _individual_business(**overrides: Any) -> dict[str, Any]:
    """A small 个体工商户 (USCC 92…) without a tax grade, healthy otherwise."""
    small = dict(uscc="92510311MA6GD0038M", tax_credit_grade=None, revenue_yuan_y1=3_200_000,
                 revenue_yuan_y2=2_900_000, tax_paid_yuan_y1=90_000, tax_paid_yuan_y2=80_000)  # fmt: skip
    return profile(**{**small, **overrides})


def test_an_ungraded_individual_business_gets_a_reason_naming_the_grade_not_limit_below_minimum(
    xiaowei: RuleSet,
) -> None:
    r = decide(frame_of(_individual_business()), xiaowei).record(0)
    codes = [x["code"] for x in r["reasons"]]
    assert "LIMIT_BELOW_MINIMUM" not in codes
    assert "CRD_TAX_GRADE_UNGRADED" in codes
    reason = next(x for x in r["reasons"] if x["code"] == "CRD_TAX_GRADE_UNGRADED")
    assert "纳税" in reason["zh"] and "tax" in reason["en"].lower()
    assert r["status"] == "ELIGIBLE"
    # the lower limit basis: k = 3 (M gets 4) on the average tax of two years, band multiple m
    avg = (90_000 + 80_000) / 2
    m = {"A": 1.0, "B": 0.8, "C": 0.6}[r["band"]]
    assert r["limit_yuan"] == int(m * min(3 * avg, 0.20 * 3_200_000) // 10_000 * 10_000)
    graded_m = decide(frame_of(_individual_business(tax_credit_grade="M")), xiaowei).record(0)
    assert graded_m["limit_yuan"] > r["limit_yuan"]  # no grade is never better than M
    assert graded_m["total_score"] == r["total_score"]  # scored like M: the other signals decide


def test_an_ungraded_enterprise_91_is_not_applicable_with_the_tax_grade_reason(any_ruleset: RuleSet) -> None:
    r = _record(any_ruleset, tax_credit_grade=None)
    assert r["status"] == "NOT_APPLICABLE"
    assert r["reasons"][0]["code"] == "PRE_TAX_GRADE"
    assert "纳税信用等级" in r["reasons"][0]["zh"] and "tax credit grade" in r["reasons"][0]["en"]
    assert "LIMIT_BELOW_MINIMUM" not in [x["code"] for x in r["reasons"]]


# ---- the cap bounds all unsecured credit ------------------------------------------------------------------------


@pytest.mark.parametrize("existing", [0, 500_000, 2_999_999, 4_000_000])
def test_existing_unsecured_loans_are_subtracted_after_the_cap(chengxin: RuleSet, existing: int) -> None:
    r = _record(chengxin, existing_unsecured_loans_yuan=existing)  # E1: 14.4 M before the cap of 3 M
    expected = max(0, (3_000_000 - existing) // 10_000 * 10_000)
    if expected < 100_000:
        assert r["status"] == "INELIGIBLE" and r["reasons"][0]["code"] == "LIMIT_BELOW_MINIMUM"
    else:
        assert r["limit_yuan"] == expected
        assert r["limit_yuan"] + existing <= chengxin.cap_yuan


# ---- the model's view is apart from the reasons when it does not decide ------------------------------------------


class _Model:
    """A stand-in model that blames one reason group heavily."""

    version = "test"

    def explain(self, frame: pd.DataFrame) -> Any:
        import numpy as np

        from parkcredit.decision import ModelOutput

        n = len(frame)
        return ModelOutput(pd=np.full(n, 0.2), raw=np.full(n, 2.0), base_value=-1.0,
                           contributions=np.full((n, 1), 3.0), features=["net_margin"], groups=["MODEL_PROFITABILITY"],
                           group_text={"MODEL_PROFITABILITY": ("盈利能力", "profitability")}, version="test")  # fmt: skip


def _with_mode(rs: RuleSet, mode: str, tmp_path: Path) -> RuleSet:
    extra = {"advisory": "", "pd_ceiling": "\n  pd_ceiling: 0.5", "limit_scaling": "\n  limit_scaling: [[0.5, 1.0]]"}
    text = rs.text.replace("model:\n  mode: advisory", f"model:\n  mode: {mode}{extra[mode]}")
    path = tmp_path / f"{mode}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_ruleset(path)


def test_an_advisory_model_is_never_a_reason_but_its_view_is_shown_apart(chengxin: RuleSet, tmp_path: Path) -> None:
    r = decide(frame_of(profile(tax_paid_yuan_y1=10_000, tax_paid_yuan_y2=10_000)), chengxin, _Model()).record(0)
    assert r["model"]["mode"] == "advisory"
    assert all(x["kind"] != "model" for x in r["reasons"])
    assert [v["code"] for v in r["model_view"]] == ["MODEL_PROFITABILITY"]
    assert r["model_view"][0]["logodds"] == 3.0


@pytest.mark.parametrize("mode", ["pd_ceiling", "limit_scaling"])
def test_a_deciding_model_is_cited_among_the_reasons(chengxin: RuleSet, tmp_path: Path, mode: str) -> None:
    rs = _with_mode(chengxin, mode, tmp_path)
    r = decide(frame_of(profile()), rs, _Model()).record(0)
    assert "MODEL_PROFITABILITY" in [x["code"] for x in r["reasons"]]
    assert r["model_view"] == []


# ---- every action touches a field a rule reads -------------------------------------------------------------------

# a profile on which each action applies
NEEDS = {
    "RECTIFY_HAZARDS": {"hazard_rectification_rate": 0.5, "major_hazards_open": 1},
    "CLEAR_ARREARS": {"utility_arrears_months": 4},
    "PAY_TAX_ARREARS": {"tax_arrears_yuan": 5_000},
    "TAX_GRADE_UP": {"tax_credit_grade": "C"},
    "ENV_LEVEL_UP": {"env_credit_level": "YELLOW"},
    "SAFETY_GRADE_UP": {"safety_std_grade": "L3"},
    "OBTAIN_PERMITS": {"eia_status": "MISSING"},
    "SETTLE_ENFORCEMENT": {"enforcement_open_yuan": 100_000},
    "REPAIR_PENALTY_RECORDS": {"admin_penalties_general_36m": 1},
    "LEAVE_ABNORMAL_LIST": {"abnormal_operation_list": True},
}


def test_every_action_is_covered_here() -> None:
    assert {a.code for a in ACTIONS} == set(NEEDS)


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.code)
def test_every_action_changes_a_field_every_bundled_rule_set_reads(any_ruleset: RuleSet, action: Any) -> None:
    base = frame_of(profile(**NEEDS[action.code]))
    changes = action.changes(base.iloc[0])
    assert changes, f"{action.code} does not apply to its own test profile"
    after = base.copy()
    for f, v in changes.items():
        after.loc[0, f] = v
    read = sorted(any_ruleset.fields_read)
    before_d, after_d = derive(base)[read].astype(object), derive(after)[read].astype(object)
    moved = [c for c in read if not before_d[c].equals(after_d[c])]
    assert moved, f"{action.code} changes {sorted(changes)}, which no rule of {any_ruleset.product} reads"
    assert action.code in {a.code for a, _ in relevant_actions(base, any_ruleset)}


# ---- texts that agree with the formulas and the law --------------------------------------------------------------


def test_the_revenue_share_in_each_limit_comment_is_the_formulas(any_ruleset: RuleSet) -> None:
    share = re.search(r"(0\.\d+) \* revenue_yuan_y1", any_ruleset.spec.limit.formula)
    assert share
    pct = f"{float(share.group(1)) * 100:g} %"
    comments = [ln for ln in any_ruleset.text.splitlines() if ln.startswith("#") and "revenue" in ln]
    assert comments and all(pct in ln for ln in comments if "% of revenue" in ln or "-of-revenue" in ln), comments
    assert not any(f"{p} %-of-revenue" in ln for ln in comments for p in ("20", "30") if f"{p} %" != pct)


def test_the_erasure_basis_is_pipl_article_47() -> None:
    text = (ROOT / "docs" / "governance.md").read_text(encoding="utf-8")
    erasure = [ln for ln in text.splitlines() if "eras" in ln.lower() or "删除" in ln]
    assert any("47" in ln and ("PIPL" in ln or "个人信息保护法" in ln) for ln in erasure), erasure
    assert not any("art. 16" in ln and "legal representative" in ln for ln in erasure)


def test_strategic_industry_is_read_by_a_rule_or_documented() -> None:
    from parkcredit.policies import load_policies

    assert any("strategic_industry" in p.fields_read for p in load_policies())


def test_an_accident_knockout_lapses_on_its_date(chengxin: RuleSet) -> None:
    from parkcredit.model.counterfactual import time_to_eligibility

    when = AS_OF - dt.timedelta(days=200)
    out = time_to_eligibility(frame_of(profile(accident_serious_last_on=when)), chengxin)
    assert [g["code"] for g in out["gates"]] == ["KO_SAFETY_SERIOUS"]
    assert out["gates"][0]["clears_on"] == out["eligible_on"] == "2028-12-12"  # 36 months after 2025-12-12
