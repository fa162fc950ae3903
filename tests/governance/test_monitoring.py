"""PSI against hand computations; the monitoring report on a shifted synthetic park."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from parkcredit.catalog import load_product
from parkcredit.governance.monitoring import EPS, approval_over_time, level, monitoring_report, psi
from parkcredit.profile import coerce
from parkcredit.synth import generate


def test_psi_of_categories_counts_a_new_category() -> None:
    ref = ["A"] * 50 + ["B"] * 30 + ["C"] * 20
    cur = ["A"] * 40 + ["B"] * 30 + ["C"] * 20 + ["D"] * 10
    # (0.4 - 0.5) ln(0.4 / 0.5) + (0.1 - EPS) ln(0.1 / EPS): D is a NEW bin, not dropped
    expected = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - 0.0001) * math.log(0.1 / 0.0001)
    r = psi(ref, cur)
    assert r["psi"] == pytest.approx(expected, abs=1e-6) and r["level"] == "alert"
    assert {b["bin"]: b["cur_n"] for b in r["bins"]} == {"A": 40, "B": 30, "C": 20, "NEW": 10}
    assert EPS == 0.0001


def test_psi_of_numbers_bins_on_reference_quantiles_with_a_missing_bin() -> None:
    ref = pd.Series([1, 2, 3, 4, 5, 6, 7, 8], dtype="float64")
    cur = pd.Series([1, 1, 1, 3, 5, 7, 8, np.nan])
    # bins (-inf, 2.75], (2.75, 4.5], (4.5, 6.25], (6.25, inf): reference 1/4 each, current 3/8, 1/8, 1/8, 2/8;
    # MISSING: reference 0 (floored at EPS), current 1/8
    expected = (
        (3 / 8 - 1 / 4) * math.log((3 / 8) / (1 / 4))
        + 2 * (1 / 8 - 1 / 4) * math.log((1 / 8) / (1 / 4))
        + (1 / 8 - 0.0001) * math.log((1 / 8) / 0.0001)
    )
    r = psi(ref, cur, bins=4)
    assert r["kind"] == "numeric" and r["psi"] == pytest.approx(expected, abs=1e-6)
    assert [b["bin"] for b in r["bins"]] == ["(-inf, 2.75]", "(2.75, 4.5]", "(4.5, 6.25]", "(6.25, +inf)", "MISSING"]


def test_identical_windows_are_stable_and_levels_follow_the_usual_cut_offs() -> None:
    assert psi([1.0, 2.0, 3.0] * 10, [1.0, 2.0, 3.0] * 10)["psi"] == 0.0
    assert (level(0.099), level(0.1), level(0.249), level(0.25), level(None)) == (
        "stable",
        "watch",
        "watch",
        "alert",
        None,
    )


def test_report_flags_a_shifted_input_and_reports_window_sizes() -> None:
    ref, _ = coerce(generate(800, seed=3).drop(columns=["default_12m"]))
    cur, _ = coerce(generate(60, seed=4).drop(columns=["default_12m"]))
    cur["tax_credit_grade"] = "B"  # every enterprise B now: the tax-grade input and its characteristic shift
    rs = load_product("chengxindai")
    rep = monitoring_report(ref, cur, rs)
    by_input = {x["name"]: x for x in rep["inputs"]}
    by_char = {x["name"]: x for x in rep["characteristics"]}
    assert by_input["tax_credit_grade"]["level"] == "alert" and by_char["CRD_TAX_GRADE"]["level"] == "alert"
    assert "tax_credit_grade" in rep["summary"]["alert"] and "CRD_TAX_GRADE" in rep["summary"]["alert"]
    assert rep["windows"] == {"reference_n": 800, "current_n": 60}
    assert any("60" in w["en"] for w in rep["warnings"])  # the small window is called out
    assert {s["name"] for s in rep["scores"]} >= {"total_score", "band", "score_credit"}
    assert 0 <= rep["approval"]["current_rate"] <= 1
    assert "legal_rep_name" not in by_input  # personal data is never monitored


def test_approval_rate_over_time_by_month() -> None:
    frame = pd.DataFrame({
        "created_at": [dt.datetime(2026, 1, 5, tzinfo=dt.UTC), dt.datetime(2026, 1, 20, tzinfo=dt.UTC),
                       dt.datetime(2026, 2, 1, tzinfo=dt.UTC)],
        "product": ["chengxindai"] * 3, "eligible": [True, False, True], "limit_yuan": [1_000_000, 0, 500_000],
    })  # fmt: skip
    assert approval_over_time(frame) == [
        {"period": "2026-01", "product": "chengxindai", "decisions": 2, "approved": 1, "approval_rate": 0.5,
         "total_limit_yuan": 1_000_000},
        {"period": "2026-02", "product": "chengxindai", "decisions": 1, "approved": 1, "approval_rate": 1.0,
         "total_limit_yuan": 500_000},
    ]  # fmt: skip
