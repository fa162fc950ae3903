"""Derived fields: values computed by hand for E1 and its edge cases (zero and missing
denominators, expired certificates, the industry benchmark chain), and one-row = batch."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from factories import frame_of, profile
from parkcredit.profile import COLUMNS, DERIVED, coerce, derive
from parkcredit.synth import generate


def one(**overrides: object) -> dict[str, object]:
    row = derive(frame_of(profile(**overrides))).iloc[0]
    return {name: (None if not isinstance(row[name], str) and pd.isna(row[name]) else row[name]) for name in DERIVED}


def test_e1_by_hand() -> None:
    d = one()
    assert d["entity_type"] == "91" and d["registration_region"] == "510311"
    assert d["years_in_operation"] == pytest.approx((dt.date(2026, 6, 30) - dt.date(2015, 3, 1)).days / 365.25)
    assert d["months_in_park"] == pytest.approx((dt.date(2026, 6, 30) - dt.date(2016, 1, 1)).days / 30.4375)
    assert d["revenue_growth"] == pytest.approx(48 / 40 - 1)
    assert d["net_margin"] == pytest.approx(5 / 48)
    assert d["debt_ratio"] == pytest.approx(24 / 60)
    assert d["rd_intensity"] == pytest.approx(2.5 / 48)
    assert d["avg_tax_2y"] == 1_900_000
    assert d["tax_per_mu"] == 1_900_000 / 50 and d["revenue_per_mu"] == 48_000_000 / 50
    assert d["energy_per_10k_revenue"] == pytest.approx(100 / 4_800)
    assert d["energy_vs_benchmark"] == pytest.approx(100 / 4_800 / 0.03)  # C38 benchmark
    assert d["headcount_growth"] == pytest.approx(120 / 110 - 1)
    assert d["enforcement_open_ratio"] == 0.0
    assert d["arrears_months_now"] == 0
    assert d["certification"] == "PROV_SRDI_OR_HNTE"  # high-tech certificate valid on as_of
    assert d["safety_grade_in_force"] == "L1"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"revenue_yuan_y2": 0}, "revenue_growth"),
        ({"revenue_yuan_y2": None}, "revenue_growth"),
        ({"revenue_yuan_y1": 0}, "net_margin"),
        ({"revenue_yuan_y1": 0}, "energy_per_10k_revenue"),
        ({"total_assets_yuan": 0}, "debt_ratio"),
        ({"land_area_mu": 0}, "tax_per_mu"),
        ({"ss_insured_headcount_prev": 0}, "headcount_growth"),
        ({"tax_paid_yuan_y1": None}, "avg_tax_2y"),
        ({"industry_code": None}, "energy_vs_benchmark"),  # no industry: no benchmark, not the fallback
        ({"established_on": None}, "years_in_operation"),
    ],
)
def test_zero_or_missing_inputs_give_missing_never_inf(overrides: dict[str, object], field: str) -> None:
    assert one(**overrides)[field] is None


def test_partial_inputs() -> None:
    assert one(tax_paid_yuan_y2=None)["avg_tax_2y"] == 1_900_000  # the one year there is
    assert one(tax_paid_yuan_y2=1_000_000)["avg_tax_2y"] == 1_450_000
    assert one(utility_arrears_months=None, rent_arrears_months=3, ss_arrears_months=1)["arrears_months_now"] == 3
    assert one(utility_arrears_months=None)["arrears_months_now"] is None


@pytest.mark.parametrize(
    ("code", "benchmark"),
    [("C26", 0.35), ("C2611", 0.35), ("C99", 0.10), ("F51", 0.02)],  # division, section default, fallback
)
def test_energy_benchmark_chain(code: str, benchmark: float) -> None:
    assert one(industry_code=code)["energy_vs_benchmark"] == pytest.approx(100 / 4_800 / benchmark)


def test_certification_and_safety_grade_follow_validity_on_as_of() -> None:
    assert one(hnte_valid_until=dt.date(2026, 6, 29))["certification"] == "NONE"
    assert one(hnte_valid_until=dt.date(2026, 6, 30))["certification"] == "PROV_SRDI_OR_HNTE"  # valid that day
    assert one(srdi_level="LITTLE_GIANT", srdi_valid_until=None)["certification"] == "LITTLE_GIANT"
    assert one(srdi_level="LITTLE_GIANT", srdi_valid_until=dt.date(2025, 1, 1))["certification"] == "PROV_SRDI_OR_HNTE"
    assert one(hnte_valid_until=None, tech_sme=True)["certification"] == "INNOV_OR_TECH_SME"
    assert one(safety_std_valid_until=dt.date(2026, 6, 29))["safety_grade_in_force"] == "NONE"
    assert one(safety_std_grade=None)["safety_grade_in_force"] is None


def test_one_row_derives_as_in_a_batch_and_the_input_is_untouched() -> None:
    frame = coerce(generate(300, seed=5)[COLUMNS])[0]
    before = frame.copy()
    batch = derive(frame)
    pd.testing.assert_frame_equal(frame, before)
    for i in (0, 17, 299):
        single = derive(frame.iloc[[i]].reset_index(drop=True))
        pd.testing.assert_frame_equal(single, batch.iloc[[i]].reset_index(drop=True))
    floats = batch[[n for n, f in DERIVED.items() if f.kind == "float"]].to_numpy(dtype="float64")
    assert not np.isinf(floats).any() and math.isfinite(float(np.nansum(floats)))
