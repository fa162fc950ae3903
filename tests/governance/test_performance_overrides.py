"""Realised default rates and discrimination from outcomes; the overrides report."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from parkcredit.governance.overrides import overrides_report
from parkcredit.governance.performance import loans_from_reports, performance_report


def _reports() -> pd.DataFrame:
    rows = [  # bank, uscc, product, disbursed_on, status, reported_at (day), decision_id
        ("b1", "U1", "chengxindai", dt.date(2026, 1, 10), "current", 1, "d1"),
        ("b1", "U1", "chengxindai", dt.date(2026, 1, 10), "overdue_90", 2, None),  # bad, later report
        ("b1", "U1", "chengxindai", dt.date(2026, 1, 10), "current", 3, None),  # cured, still bad
        ("b1", "U2", "chengxindai", dt.date(2026, 2, 1), "repaid", 1, "d2"),
        ("b1", "U3", "chengxindai", dt.date(2026, 4, 1), "overdue_30", 1, "d3"),  # not bad
        ("b2", "U4", "yuanbaodai", dt.date(2026, 4, 2), "default", 1, "d4"),
    ]
    return pd.DataFrame(
        [(b, u, p, d, s, pd.Timestamp("2026-06-01", tz="UTC") + pd.Timedelta(days=r), i, 1_000_000)
         for b, u, p, d, s, r, i in rows],
        columns=["bank", "uscc", "product", "disbursed_on", "status", "reported_at", "decision_id", "disbursed_yuan"],
    )  # fmt: skip


def test_a_loan_is_bad_when_any_report_says_default_or_90_days() -> None:
    loans = loans_from_reports(_reports())
    assert loans.set_index("uscc")["bad"].to_dict() == {"U1": 1, "U2": 0, "U3": 0, "U4": 1}
    assert loans.set_index("uscc").loc["U1", "last_status"] == "current"
    assert loans.set_index("uscc").loc["U1", "decision_id"] == "d1"  # the latest non-null link


def test_default_rates_by_band_product_and_quarter_and_auc_of_rules_model_blend() -> None:
    loans = loans_from_reports(_reports())
    linked = {"U1": ("C", 62.0, 0.20), "U2": ("A", 90.0, 0.01), "U3": ("B", 80.0, 0.05), "U4": ("C", 70.0, np.nan)}
    loans["band"] = loans["uscc"].map(lambda u: linked[u][0])
    loans["total_score"] = loans["uscc"].map(lambda u: linked[u][1])
    loans["pd"] = loans["uscc"].map(lambda u: linked[u][2])
    rep = performance_report(loans, bands=["A", "B", "C", "D"])
    assert (rep["loans"], rep["bad"], rep["default_rate"]) == (4, 2, 0.5)
    assert rep["by_band"] == [
        {"group": "A", "n": 1, "bad": 0, "default_rate": 0.0},
        {"group": "B", "n": 1, "bad": 0, "default_rate": 0.0},
        {"group": "C", "n": 2, "bad": 2, "default_rate": 1.0},
    ]
    assert [(r["group"], r["n"], r["bad"]) for r in rep["by_product"]] == [("chengxindai", 3, 1), ("yuanbaodai", 1, 1)]
    assert [(r["period"], r["product"], r["loans"], r["bad"]) for r in rep["over_time"]] == [
        ("2026Q1", "chengxindai", 2, 1), ("2026Q2", "chengxindai", 1, 0), ("2026Q2", "yuanbaodai", 1, 1),
    ]  # fmt: skip
    d = rep["discrimination"]
    # rules: both bads (62, 70) score below both goods (80, 90) -> AUC 1, KS 1
    assert (d["rules"]["auc"], d["rules"]["ks"], d["rules"]["n"]) == (1.0, 1.0, 4)
    # model: U4 has no PD; the one bad U1 (0.20) is above both goods -> AUC 1 on 3 loans
    assert (d["model"]["auc"], d["model"]["n"], d["model"]["bad"]) == (1.0, 3, 1)
    assert (d["blend"]["auc"], d["blend"]["n"]) == (1.0, 3)


def test_no_pd_means_no_model_figures_and_a_note() -> None:
    loans = loans_from_reports(_reports())
    loans["band"], loans["total_score"], loans["pd"] = "C", [60.0, 70.0, 65.0, 61.0], np.nan
    d = performance_report(loans)["discrimination"]
    assert d["model"]["auc"] is None and "no PD" in d["model"]["note"] and d["rules"]["n"] == 4


def test_overrides_are_counted_by_officer_direction_and_reason() -> None:
    frame = pd.DataFrame(
        [("k1", "to_eligible", "NEW_INFORMATION", "chengxindai", 500_000, 0),
         ("k1", "limit_down", "RISK_CONCERN", "chengxindai", 200_000, 800_000),
         ("k2", "to_ineligible", "RISK_CONCERN", "yuanbaodai", 0, 1_000_000)],
        columns=["created_by", "direction", "reason_code", "product", "limit_yuan", "original_limit_yuan"],
    )  # fmt: skip
    rep = overrides_report(frame, decisions=30)
    assert (rep["total"], rep["override_rate"]) == (3, 0.1)
    assert rep["by_officer"] == [
        {"officer": "k1", "total": 2, "to_eligible": 1, "to_ineligible": 0, "limit_up": 0, "limit_down": 1,
         "limit_change_yuan": -100_000},
        {"officer": "k2", "total": 1, "to_eligible": 0, "to_ineligible": 1, "limit_up": 0, "limit_down": 0,
         "limit_change_yuan": -1_000_000},
    ]  # fmt: skip
    assert {r["direction"]: r["total"] for r in rep["by_direction"]} == {
        "to_eligible": 1, "to_ineligible": 1, "limit_up": 0, "limit_down": 1}  # fmt: skip
    risk = next(r for r in rep["by_reason"] if r["reason_code"] == "RISK_CONCERN")
    assert risk["total"] == 2 and risk["zh"] == "评分未反映的风险"
    assert overrides_report(frame.iloc[:0])["total"] == 0
