"""Derived fields, computed once, here, vectorised over a profile frame.

Every ratio guards its denominator: a zero or missing denominator gives NaN (missing), never
inf, so the rule's `missing` bin decides. Validity dates are compared with the snapshot's
`as_of`, never with the server clock.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from parkcredit.profile.frame import Columns, FrameColumns, _enum_dtype
from parkcredit.profile.freshness import SIGNALS, valid_until_days
from parkcredit.profile.schema import FIELDS, FieldInfo, FieldKind

__all__ = ["DERIVED", "ENERGY_BENCHMARK_TCE_PER_10K", "derive", "derive_columns", "with_derived"]

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


def _d(name: str, kind: FieldKind, zh: str, en: str, dept: str, unit: str | None = None,
       choices: tuple[str, ...] = ()) -> FieldInfo:  # fmt: skip
    return FieldInfo(name, kind, zh, en, dept, unit, choices=choices, derived=True)


DERIVED: dict[str, FieldInfo] = {
    f.name: f
    for f in [
        _d("entity_type", "str", "主体类型", "USCC positions 1-2 (91 = enterprise)", "市场监管"),
        _d("registration_region", "str", "登记地区", "USCC positions 3-8 (GB/T 2260)", "市场监管"),
        _d("years_in_operation", "float", "经营年限", "years since establishment", "市场监管", "years"),
        _d("months_in_park", "float", "入园月数", "months since entering the park", "园区", "months"),
        _d("revenue_growth", "float", "营收增长率", "revenue growth y/y", "税务", "ratio"),
        _d("net_margin", "float", "净利率", "net profit / revenue", "税务", "ratio"),
        _d("debt_ratio", "float", "资产负债率", "liabilities / assets", "税务", "ratio"),
        _d("rd_intensity", "float", "研发强度", "R&D expense / revenue", "税务", "ratio"),
        _d("avg_tax_2y", "float", "近两年平均纳税", "average annual tax, last two years", "税务", "yuan"),
        _d("tax_per_mu", "float", "亩均税收", "tax paid per mu", "园区", "yuan/亩"),
        _d("revenue_per_mu", "float", "亩均营收", "revenue per mu", "园区", "yuan/亩"),
        _d("energy_per_10k_revenue", "float", "单位营收能耗", "energy per 10,000 yuan revenue", "经信", "tce/万元"),
        _d("energy_vs_benchmark", "float", "能耗/行业基准", "energy intensity / industry benchmark", "经信", "ratio"),
        _d("headcount_growth", "float", "参保人数增长率", "insured headcount growth y/y", "人社", "ratio"),
        _d("enforcement_open_ratio", "float", "未结执行/营收", "open enforcement / revenue", "法院", "ratio"),
        _d("arrears_months_now", "float", "当前欠费月数",
           "longest current arrears (utilities, rent, social insurance)", "园区", "months"),
        _d(_CERT, "enum", "资质认定", "best valid certification", "科技",
           choices=("LITTLE_GIANT", "PROV_SRDI_OR_HNTE", "INNOV_OR_TECH_SME", "NONE")),
        _d("safety_grade_in_force", "enum", "有效安全标准化等级", "safety grade, NONE once expired", "应急管理",
           choices=("L1", "L2", "L3", "NONE")),
    ]
}  # fmt: skip
# freshness (profile.freshness): per graded signal, when it stops being valid, whether it has, and the value in force
for _sig in SIGNALS:
    _info = FIELDS[_sig.field]
    DERIVED[f"{_sig.prefix}_valid_until"] = _d(
        f"{_sig.prefix}_valid_until",
        "date",
        f"{_info.zh}有效期至",
        f"{_info.en}: valid until ({_sig.rule_en})",
        _info.dept,
    )
    DERIVED[f"{_sig.prefix}_stale"] = _d(
        f"{_sig.prefix}_stale",
        "bool",
        f"{_info.zh}已过期",
        f"{_info.en} is past its validity at as_of (false when absent or undated)",
        _info.dept,
    )
    DERIVED[_sig.in_force] = _d(_sig.in_force, "enum", f"现行{_info.zh}", f"{_info.en}, missing once stale",
                                _info.dept, choices=_info.choices)  # fmt: skip


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is missing or not positive (never inf)."""
    with np.errstate(invalid="ignore"):
        ok = den > 0
    out: np.ndarray = np.divide(num, den, out=np.full(len(num), np.nan), where=ok)
    return out


def _benchmark(code: str) -> float:
    return ENERGY_BENCHMARK_TCE_PER_10K.get(code[:3], _DEFAULT_BENCHMARK.get(code[:1], _FALLBACK_BENCHMARK))


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with every field of `DERIVED` added (a new frame; input untouched)."""
    cols = FrameColumns(frame)
    derive_columns(cols)
    return with_derived(frame, cols)


def with_derived(frame: pd.DataFrame, cols: Columns) -> pd.DataFrame:
    """`frame` with the derived fields `derive_columns` put into `cols` (the frame `derive` returns)."""
    out: dict[str, np.ndarray] = {}
    enums: dict[str, pd.Series] = {}
    for name, info in DERIVED.items():
        if info.kind in ("float", "bool"):
            out[name] = cols.num(name)
        elif info.kind == "date":
            out[name] = cols.dates(name).astype("datetime64[s]")
        elif info.kind == "str":
            out[name] = cols.objects(name)
        else:
            codes, _ = cols.codes(name, info.choices)
            dtype, _ = _enum_dtype(tuple(info.choices))
            enums[name] = pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False), index=frame.index)
    derived = pd.DataFrame(out, index=frame.index)
    for name, values in enums.items():
        derived[name] = values
    return pd.concat([frame, derived], axis=1)


def _in_choices(codes: np.ndarray, vocab: tuple[str, ...], choices: tuple[str, ...]) -> np.ndarray:
    """Codes into `vocab` as codes into `choices` (-1: missing or not a choice)."""
    index = {v: i for i, v in enumerate(choices)}
    table = np.array([index.get(v, -1) for v in vocab] + [-1], dtype=np.int32)
    out: np.ndarray = table[codes]
    return out


def derive_columns(cols: Columns) -> None:
    """Put every field of `DERIVED` into `cols`, computed on numpy arrays: one enterprise (the API's case)
    costs a few dozen numpy calls and no pandas, a million rows the same arithmetic. Enums are computed
    on codes (no string compares)."""
    n = cols.n
    num = cols.num
    as_of = cols.days("as_of")
    cols.put_objects("entity_type", cols.prefixes("uscc", 0, 2))
    # read by no bundled rule set: computed when read (or when the frame is built)
    cols.put_later("registration_region", lambda: cols.put_objects("registration_region", cols.prefixes("uscc", 2, 8)))
    out: dict[str, np.ndarray] = {}
    out["years_in_operation"] = (as_of - cols.days("established_on")) / 365.25
    out["months_in_park"] = (as_of - cols.days("in_park_since")) / 30.4375
    revenue = num("revenue_yuan_y1")
    out["revenue_growth"] = _ratio(revenue, num("revenue_yuan_y2")) - 1.0
    out["net_margin"] = _ratio(num("net_profit_yuan_y1"), revenue)
    out["debt_ratio"] = _ratio(num("total_liabilities_yuan"), num("total_assets_yuan"))
    out["rd_intensity"] = _ratio(num("rd_expense_yuan_y1"), revenue)
    tax1, tax2 = num("tax_paid_yuan_y1"), num("tax_paid_yuan_y2")
    out["avg_tax_2y"] = np.where(np.isnan(tax2), tax1, (tax1 + tax2) / 2.0)  # NaN when y1 is missing
    land = num("land_area_mu")
    out["tax_per_mu"] = _ratio(tax1, land)
    out["revenue_per_mu"] = _ratio(revenue, land)
    energy = _ratio(num("energy_tce_y1"), revenue / 10_000.0)
    out["energy_per_10k_revenue"] = energy
    codes, industries = cols.codes("industry_code")  # benchmarks looked up once per industry
    # code -1 (no industry) picks NaN: no benchmark, rather than comparing with the fallback
    bench = np.array([_benchmark(c) for c in industries] + [np.nan])[codes]
    out["energy_vs_benchmark"] = energy / bench
    out["headcount_growth"] = _ratio(num("ss_insured_headcount"), num("ss_insured_headcount_prev")) - 1.0
    out["enforcement_open_ratio"] = _ratio(num("enforcement_open_yuan"), revenue)
    arrears = np.column_stack([num("utility_arrears_months"), num("rent_arrears_months"), num("ss_arrears_months")])
    out["arrears_months_now"] = np.fmax.reduce(arrears, axis=1) if n else np.empty(0)  # ignores missing ones

    srdi, srdi_vocab = cols.codes("srdi_level", FIELDS["srdi_level"].choices)
    with np.errstate(invalid="ignore"):  # NaN (missing date) compares false
        srdi_until = cols.days("srdi_valid_until")
        srdi_ok = (srdi >= 0) & (np.isnan(srdi_until) | (srdi_until >= as_of))
        hnte = cols.days("hnte_valid_until") >= as_of
        expired = cols.days("safety_std_valid_until") < as_of

    def srdi_is(value: str) -> np.ndarray:
        out: np.ndarray = srdi_ok & (srdi == srdi_vocab.index(value))
        return out

    # codes of LITTLE_GIANT, PROV_SRDI_OR_HNTE, INNOV_OR_TECH_SME, else NONE (the choices' order)
    cert = np.select(
        [srdi_is("LITTLE_GIANT"), srdi_is("PROV_SRDI") | hnte, srdi_is("INNOV_SME") | (num("tech_sme") == 1.0)],
        [0, 1, 2], default=3,
    ).astype(np.int32)  # fmt: skip
    cols.put_codes(_CERT, cert, DERIVED[_CERT].choices)
    choices = DERIVED["safety_grade_in_force"].choices
    grade, grade_vocab = cols.codes("safety_std_grade", FIELDS["safety_std_grade"].choices)
    in_force = np.where(
        expired & (grade >= 0), np.int32(choices.index("NONE")), _in_choices(grade, grade_vocab, choices)
    )
    cols.put_codes("safety_grade_in_force", in_force.astype(np.int32), choices)

    for sig in SIGNALS:  # a value without its year is undated: not stale (nothing says it is old)
        until = valid_until_days(sig, num(sig.year_field))
        value, vocab = cols.codes(sig.field, FIELDS[sig.field].choices)
        with np.errstate(invalid="ignore"):
            stale = (value >= 0) & ~np.isnat(until) & (until.astype("int64").astype("float64") < as_of)
        cols.put_dates(f"{sig.prefix}_valid_until", until)
        out[f"{sig.prefix}_stale"] = stale.astype("float64")  # false without a value: never missing
        choices = DERIVED[sig.in_force].choices
        cols.put_codes(sig.in_force, np.where(stale, np.int32(-1), _in_choices(value, vocab, choices)), choices)

    for name, values in out.items():
        if DERIVED[name].kind == "float":
            values[np.isinf(values)] = np.nan  # an infinite input (e.g. energy / a 0 benchmark)
        cols.put_num(name, values)
