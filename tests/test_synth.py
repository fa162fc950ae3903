"""The synthetic park: shape, validity, realism of the signals, determinism, hidden risk."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from parkcredit import synth
from parkcredit.profile import COLUMNS, FIELDS, coerce, derive, parse_uscc
from parkcredit.profile.uscc import uscc_warnings
from parkcredit.synth import DEFAULT_COLUMN, generate


@pytest.fixture(scope="module")
def park() -> pd.DataFrame:
    return generate(5_000, 11)


@pytest.fixture(scope="module")
def big_park() -> pd.DataFrame:
    """Large enough for rates of rare groups (≈ 0.1 s per 10,000 rows)."""
    generated = generate(60_000, 12)
    frame, errors = coerce(generated.drop(columns=DEFAULT_COLUMN))
    assert not errors
    out = derive(frame)
    out[DEFAULT_COLUMN] = generated[DEFAULT_COLUMN].to_numpy()
    return out


def test_every_profile_column_in_order_then_the_outcome(park: pd.DataFrame) -> None:
    assert list(park.columns) == [*COLUMNS, DEFAULT_COLUMN]
    assert len(park) == 5_000
    assert set(park[DEFAULT_COLUMN].unique()) <= {0, 1}


def test_generated_profiles_coerce_without_a_single_error(park: pd.DataFrame) -> None:
    frame, errors = coerce(park.drop(columns=DEFAULT_COLUMN))
    assert errors == []
    assert len(frame) == len(park)


def test_usccs_are_valid_unique_enterprise_codes_of_zigong(park: pd.DataFrame) -> None:
    codes = park["uscc"].tolist()
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert parse_uscc(code) == code
        assert uscc_warnings(code) == []  # the inner GB 11714 check character is right too
    assert {c[:2] for c in codes} == {"91"}
    regions = pd.Series([c[2:8] for c in codes]).value_counts(normalize=True)
    assert set(regions.index) <= {"510311", "510300", "510302", "510304"}
    assert regions["510311"] > 0.75  # 沿滩区 mostly


def test_usccs_stay_unique_across_generation_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth, "_CHUNK_ROWS", 700)
    frame = generate(3_000, 5)
    assert frame["uscc"].is_unique
    assert coerce(frame.drop(columns=DEFAULT_COLUMN))[1] == []


def test_value_types_follow_the_schema(park: pd.DataFrame) -> None:
    for name, info in FIELDS.items():
        col = park[name]
        if info.kind == "int":
            assert str(col.dtype) == "Int64", name
        elif info.kind == "bool":
            assert set(col.map(repr).unique()) <= {"True", "False", "None"}, name
        elif info.kind == "date":
            assert pd.api.types.is_datetime64_any_dtype(col), name
        elif info.kind == "enum":
            assert set(col.dropna().unique()) <= set(info.choices), name
    assert park["revenue_yuan_y1"].min() >= 0
    assert (park["industry_code"].dropna().str.match(r"^[A-T]\d{2}$")).all()


def test_revenue_spans_small_to_large_firms(big_park: pd.DataFrame) -> None:
    revenue = big_park["revenue_yuan_y1"].dropna()
    assert revenue.quantile(0.05) < 3e6 < 1e7 < revenue.median() < 3e7 < revenue.quantile(0.99)
    assert revenue.max() <= 600e6


def test_financials_are_coherent(big_park: pd.DataFrame) -> None:
    tax_share = (big_park["tax_paid_yuan_y1"] / big_park["revenue_yuan_y1"]).dropna()
    assert 0.01 < tax_share.median() < 0.08
    assert big_park["debt_ratio"].median() == pytest.approx(0.5, abs=0.05)
    known = big_park.dropna(subset=["total_assets_yuan", "major_hazards_open"])
    assert (known["total_liabilities_yuan"] <= 1.41 * known["total_assets_yuan"]).all()
    assert (known["major_hazards_overdue"] <= known["major_hazards_open"]).all()
    assert 50_000 < big_park["tax_per_mu"].median() < 300_000  # Sichuan 2020 average: 143,000 yuan
    in_park = big_park["in_park_since"].dropna()
    assert (in_park >= big_park.loc[in_park.index, "established_on"]).all()
    assert (in_park <= big_park.loc[in_park.index, "as_of"]).all()


def test_default_rate_is_a_plausible_few_percent(big_park: pd.DataFrame) -> None:
    assert 0.03 <= big_park[DEFAULT_COLUMN].mean() <= 0.08


def test_chemical_plants_have_more_safety_and_environment_findings_than_software(big_park: pd.DataFrame) -> None:
    findings = big_park[
        ["env_penalties_36m", "safety_penalties_36m", "accidents_general_36m", "major_hazards_open"]
    ].sum(axis=1, min_count=1)
    by_industry = findings.groupby(big_park["industry_code"]).mean()
    assert by_industry["C26"] > 10 * by_industry["I65"]
    assert big_park.loc[big_park["industry_code"] == "C26", "high_risk_sector"].dropna().all()
    assert not big_park.loc[big_park["industry_code"] == "I65", "high_risk_sector"].dropna().any()


def test_most_firms_are_not_rated_for_environmental_credit(big_park: pd.DataFrame) -> None:
    levels = big_park["env_credit_level"].value_counts(normalize=True)
    assert levels["NOT_RATED"] > 0.6
    assert levels.get("BLACK", 0) == 0  # Sichuan's scheme has four colours


def test_better_firms_get_better_grades(big_park: pd.DataFrame) -> None:
    margin_by_grade = big_park.groupby("tax_credit_grade")["net_margin"].mean()
    assert margin_by_grade["A"] > margin_by_grade["B"] > margin_by_grade["C"]
    default_by_grade = big_park.groupby("tax_credit_grade")[DEFAULT_COLUMN].mean()
    assert default_by_grade["A"] < default_by_grade["B"] < default_by_grade["C"] < default_by_grade["D"]


def test_knock_out_events_are_rare_but_present(big_park: pd.DataFrame) -> None:
    assert 0.005 < big_park["dishonest_debtor_enterprise"].mean() < 0.03
    assert 0.005 < (big_park["tax_credit_grade"] == "D").mean() < 0.05
    assert 0 < (big_park["env_credit_level"] == "RED").mean() < 0.01
    assert 0 < big_park["accident_serious_last_on"].notna().mean() < 0.005
    assert 0 < big_park["abnormal_operation_list"].mean() < 0.04


def test_departments_leave_realistic_gaps(big_park: pd.DataFrame) -> None:
    assert 0.3 < big_park["lending_banks_count"].isna().mean() < 0.5  # 首贷户
    assert 0.1 < big_park["energy_tce_y1"].isna().mean() < 0.25
    assert big_park["uscc"].notna().all() and big_park["name"].notna().all()


def test_some_certificates_have_expired_at_as_of(big_park: pd.DataFrame) -> None:
    for column in ("hnte_valid_until", "srdi_valid_until", "safety_std_valid_until"):
        until = big_park[column].dropna()
        expired = (until < big_park.loc[until.index, "as_of"]).mean()
        assert 0.05 < expired < 0.4, column


def test_same_seed_gives_the_same_frame_and_another_seed_another() -> None:
    a, b, c = generate(2_000, 42), generate(2_000, 42), generate(2_000, 43)
    pd.testing.assert_frame_equal(a, b)
    assert not a["uscc"].equals(c["uscc"])
    assert not a["revenue_yuan_y1"].equals(c["revenue_yuan_y1"])


def test_as_of_and_park_are_honoured() -> None:
    frame = generate(200, 1, as_of=dt.date(2025, 3, 31), park_id="ZG-HIGHTECH")
    assert (frame["as_of"] == pd.Timestamp("2025-03-31")).all()
    assert (frame["park_id"] == "ZG-HIGHTECH").all()
    assert (frame["established_on"] <= pd.Timestamp("2025-03-31")).all()
    assert set(frame["tax_credit_year"].dropna()) == {2023}  # grades for 2024 appear in April 2025


def test_zero_rows_is_an_empty_frame_and_negative_is_refused() -> None:
    assert list(generate(0, 1).columns) == [*COLUMNS, DEFAULT_COLUMN]
    with pytest.raises(ValueError, match="n must be"):
        generate(-1, 1)


def test_high_leverage_with_falling_revenue_is_worse_than_either_alone(big_park: pd.DataFrame) -> None:
    """The interaction is hidden from an additive scorecard, but it is in the outcomes."""
    leveraged = big_park["debt_ratio"] > 0.7
    falling = big_park["revenue_growth"] < -0.1
    rate = big_park[DEFAULT_COLUMN]
    both, lev_only, fall_only = (
        rate[leveraged & falling].mean(),
        rate[leveraged & ~falling].mean(),
        rate[~leveraged & falling].mean(),
    )
    assert both > 2 * max(lev_only, fall_only)
    # more than the two effects would give if they simply added up on the log-odds scale
    neither = rate[~leveraged & ~falling].mean()
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert logit(both) - logit(neither) > (logit(lev_only) - logit(neither)) + (logit(fall_only) - logit(neither))
