"""Derived fields, computed once, here, vectorised over a profile frame.

Every ratio guards its denominator: a zero or missing denominator gives NaN (missing), never
inf, so the rule's `missing` bin decides. Validity dates are compared with the snapshot's
`as_of`, never with the server clock.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from parkcredit.profile.frame import enum_column
from parkcredit.profile.schema import FieldInfo

__all__ = ["DERIVED", "ENERGY_BENCHMARK_TCE_PER_10K", "derive"]

# [P] Energy-use benchmarks in tce per 10,000 yuan of revenue by GB/T 4754 manufacturing
# division. Indicative orders of magnitude for a Sichuan park, to be replaced by the park's own
# 单位能耗 benchmarks (经信局). Non-manufacturing sections use the default.
ENERGY_BENCHMARK_TCE_PER_10K: dict[str, float] = {
    "C13": 0.08, "C14": 0.08, "C15": 0.07, "C17": 0.15, "C22": 0.30, "C25": 0.70,
    "C26": 0.35, "C27": 0.08, "C29": 0.12, "C30": 0.60, "C31": 0.80, "C32": 0.45,
    "C33": 0.08, "C34": 0.04, "C35": 0.04, "C36": 0.03, "C38": 0.03, "C39": 0.02,
    "C40": 0.03,
}  # fmt: skip
_DEFAULT_BENCHMARK = {"C": 0.10}
_FALLBACK_BENCHMARK = 0.02

_CERT = "certification"  # best valid certificate

DERIVED: dict[str, FieldInfo] = {
    f.name: f
    for f in [
        FieldInfo("entity_type", "str", "主体类型", "USCC positions 1-2 (91 = enterprise)", "市场监管", derived=True),
        FieldInfo("registration_region", "str", "登记地区", "USCC positions 3-8 (GB/T 2260)", "市场监管", derived=True),
        FieldInfo("years_in_operation", "float", "经营年限", "years since establishment", "市场监管", "years", derived=True),
        FieldInfo("months_in_park", "float", "入园月数", "months since entering the park", "园区", "months", derived=True),
        FieldInfo("revenue_growth", "float", "营收增长率", "revenue growth y/y", "税务", "ratio", derived=True),
        FieldInfo("net_margin", "float", "净利率", "net profit / revenue", "税务", "ratio", derived=True),
        FieldInfo("debt_ratio", "float", "资产负债率", "liabilities / assets", "税务", "ratio", derived=True),
        FieldInfo("rd_intensity", "float", "研发强度", "R&D expense / revenue", "税务", "ratio", derived=True),
        FieldInfo("avg_tax_2y", "float", "近两年平均纳税", "average annual tax, last two years", "税务", "yuan", derived=True),
        FieldInfo("tax_per_mu", "float", "亩均税收", "tax paid per 亩", "园区", "yuan/亩", derived=True),
        FieldInfo("revenue_per_mu", "float", "亩均营收", "revenue per 亩", "园区", "yuan/亩", derived=True),
        FieldInfo("energy_per_10k_revenue", "float", "单位营收能耗", "energy per 10,000 yuan revenue", "经信", "tce/万元", derived=True),
        FieldInfo("energy_vs_benchmark", "float", "能耗/行业基准", "energy intensity / industry benchmark", "经信", "ratio", derived=True),
        FieldInfo("headcount_growth", "float", "参保人数增长率", "insured headcount growth y/y", "人社", "ratio", derived=True),
        FieldInfo("enforcement_open_ratio", "float", "未结执行/营收", "open enforcement / revenue", "法院", "ratio", derived=True),
        FieldInfo("arrears_months_now", "float", "当前欠费月数", "longest current arrears (utilities, rent, social insurance)", "园区", "months", derived=True),
        FieldInfo(_CERT, "enum", "资质认定", "best valid certification", "科技", derived=True,
                  choices=("LITTLE_GIANT", "PROV_SRDI_OR_HNTE", "INNOV_OR_TECH_SME", "NONE")),
        FieldInfo("safety_grade_in_force", "enum", "有效安全标准化等级", "safety grade, NONE once expired", "应急管理",
                  derived=True, choices=("L1", "L2", "L3", "NONE")),
    ]
}  # fmt: skip


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.where(den > 0)
    return num / den


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.days.astype("float64")


def _valid(until: pd.Series, as_of: pd.Series) -> pd.Series:
    """True where a certificate's validity date is on or after as_of."""
    return until.notna() & (until >= as_of)


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with every field of `DERIVED` added (a new frame; input untouched)."""
    f = frame
    as_of = f["as_of"]
    out: dict[str, pd.Series | np.ndarray] = {}
    uscc = f["uscc"].astype("string")
    out["entity_type"] = uscc.str.slice(0, 2).astype(object)
    out["registration_region"] = uscc.str.slice(2, 8).astype(object)
    out["years_in_operation"] = _days(as_of, f["established_on"]) / 365.25
    out["months_in_park"] = _days(as_of, f["in_park_since"]) / 30.4375
    out["revenue_growth"] = _ratio(f["revenue_yuan_y1"], f["revenue_yuan_y2"]) - 1.0
    out["net_margin"] = _ratio(f["net_profit_yuan_y1"], f["revenue_yuan_y1"])
    out["debt_ratio"] = _ratio(f["total_liabilities_yuan"], f["total_assets_yuan"])
    out["rd_intensity"] = _ratio(f["rd_expense_yuan_y1"], f["revenue_yuan_y1"])
    out["avg_tax_2y"] = f[["tax_paid_yuan_y1", "tax_paid_yuan_y2"]].mean(axis=1).where(f["tax_paid_yuan_y1"].notna())
    out["tax_per_mu"] = _ratio(f["tax_paid_yuan_y1"], f["land_area_mu"])
    out["revenue_per_mu"] = _ratio(f["revenue_yuan_y1"], f["land_area_mu"])
    energy = _ratio(f["energy_tce_y1"], f["revenue_yuan_y1"] / 10_000.0)
    out["energy_per_10k_revenue"] = energy
    industry = f["industry_code"].astype("string")
    bench = industry.str.slice(0, 3).map(ENERGY_BENCHMARK_TCE_PER_10K)
    bench = bench.fillna(industry.str.slice(0, 1).map(_DEFAULT_BENCHMARK)).fillna(_FALLBACK_BENCHMARK)
    # no industry, no benchmark: missing rather than compared with the fallback
    out["energy_vs_benchmark"] = (energy / bench.astype("float64")).where(industry.notna().to_numpy())
    out["headcount_growth"] = _ratio(f["ss_insured_headcount"], f["ss_insured_headcount_prev"]) - 1.0
    out["enforcement_open_ratio"] = _ratio(f["enforcement_open_yuan"], f["revenue_yuan_y1"])
    out["arrears_months_now"] = f[["utility_arrears_months", "rent_arrears_months", "ss_arrears_months"]].max(axis=1)

    srdi = f["srdi_level"]
    srdi_ok = srdi.notna() & (f["srdi_valid_until"].isna() | (f["srdi_valid_until"] >= as_of))
    hnte = _valid(f["hnte_valid_until"], as_of)
    cert = np.select(
        [
            srdi_ok & (srdi == "LITTLE_GIANT"),
            (srdi_ok & (srdi == "PROV_SRDI")) | hnte,
            (srdi_ok & (srdi == "INNOV_SME")) | (f["tech_sme"] == 1.0),
        ],
        ["LITTLE_GIANT", "PROV_SRDI_OR_HNTE", "INNOV_OR_TECH_SME"],
        default="NONE",
    )
    enums = {_CERT: cert}

    grade = f["safety_std_grade"].astype(object)
    expired = (f["safety_std_valid_until"].notna() & (f["safety_std_valid_until"] < as_of)).to_numpy()
    enums["safety_grade_in_force"] = np.where(expired & grade.notna().to_numpy(), "NONE", grade.to_numpy())

    derived = pd.DataFrame({k: np.asarray(v) for k, v in out.items()}, index=f.index)
    for name, values in enums.items():
        derived[name] = enum_column(values, DERIVED[name].choices).set_axis(f.index)
    for name, info in DERIVED.items():
        if info.kind == "float":
            derived[name] = derived[name].astype("float64").replace([np.inf, -np.inf], np.nan)
    return pd.concat([f, derived], axis=1)
