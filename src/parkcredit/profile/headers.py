"""The header registry: every spelling of a column header that names a profile field (表头登记表).

Departments write headers their own way. A header is matched after normalising it (NFKC, so
full-width brackets and letters become half-width; spaces and a trailing `*` dropped; English
case ignored) against, per field:

- its field name (``tax_credit_grade``) and Chinese label (``FIELDS[name].zh``, ``纳税信用等级``);
- the synonyms in `SYNONYMS` (``纳税信用级别``, ``上年营业收入``, ``社会信用代码`` …);
- either of those followed by a unit in brackets: ``上年营业收入（万元）``, ``注册资本(元)``,
  ``用地面积(亩)``, ``营业收入(上年)(单位：万元)``. Money columns take 元 / 万元 / 亿元 (the factor
  to yuan is returned), ratio columns ``%``, counts 次 / 个 / 件 / 项 / 家.

Other columns are classified, never silently dropped:

- `BOOKKEEPING` columns a department keeps for itself (序号, 备注, 联系人 …): skipped, listed;
- `OUTCOME` columns (``default_12m`` of `parkcredit synth`): not a profile fact, skipped with a note
  (loan outcomes are reported by banks, `POST /v1/outcomes`);
- `AMBIGUOUS` headers (``评价年度``: which evaluation?) resolved by the department of the feed or the
  grade column next to it, refused otherwise;
- derived fields (资产负债率): refused, parkcredit computes them;
- anything else: unknown, with the nearest known header as a suggestion (`difflib`).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from parkcredit.profile.derive import DERIVED
from parkcredit.profile.schema import FIELDS

__all__ = [
    "AMBIGUOUS", "BOOKKEEPING", "OUTCOME", "SYNONYMS", "UNITS", "HeaderMatch", "HeaderProblem", "header_key",
    "names_field", "resolve_ambiguous", "resolve_header", "suggest",
]  # fmt: skip

UNITS: dict[str, dict[str, Decimal]] = {
    "yuan": {"元": Decimal(1), "YUAN": Decimal(1), "人民币元": Decimal(1), "万元": Decimal(10_000),
             "万": Decimal(10_000), "人民币万元": Decimal(10_000), "亿元": Decimal(100_000_000)},
    "亩": {"亩": Decimal(1), "MU": Decimal(1)},
    "tce": {"TCE": Decimal(1), "吨标准煤": Decimal(1), "吨标煤": Decimal(1)},
    "persons": {"人": Decimal(1), "PERSONS": Decimal(1)},
    "months": {"月": Decimal(1), "个月": Decimal(1), "MONTHS": Decimal(1)},
    "days": {"天": Decimal(1), "日": Decimal(1), "DAYS": Decimal(1)},
    "ratio": {"%": Decimal("0.01"), "RATIO": Decimal(1)},
    "count": {"次": Decimal(1), "个": Decimal(1), "件": Decimal(1), "项": Decimal(1), "家": Decimal(1)},
}  # fmt: skip

# common spellings in department spreadsheets, beyond the field name and the Chinese label
SYNONYMS: dict[str, tuple[str, ...]] = {
    "uscc": ("社会信用代码", "统一代码", "信用代码", "企业统一社会信用代码", "统一社会信用代码(纳税人识别号)",
             "纳税人识别号", "纳税人识别号/统一社会信用代码", "USCC", "统一社会信用代码/注册号"),
    "name": ("企业(单位)名称", "单位名称", "企业名", "公司名称", "纳税人名称", "名称", "企业全称", "主体名称"),
    "as_of": ("数据截止日期", "数据截至日期", "截止日期", "截至日期", "统计截止日期", "数据时点"),
    "established_on": ("成立时间", "注册日期", "设立日期", "成立日"),
    "registered_capital_yuan": ("注册资金",),
    "industry_code": ("国民经济行业代码", "行业分类代码", "所属行业代码"),
    "park_id": ("园区",),
    "in_park_since": ("入园时间", "入驻日期", "入驻时间"),
    "land_area_mu": ("占地面积", "土地面积", "用地面积(亩)"),
    "legal_rep_name": ("法人代表", "法定代表人姓名", "法人"),
    "annual_report_filed_year": ("最近年报年度", "年报报送年度"),
    "revenue_yuan_y1": ("上年营业收入", "上年度营业收入", "营业收入(上年度)", "上年主营业务收入"),
    "revenue_yuan_y2": ("前年营业收入", "前年度营业收入", "营业收入(前年度)"),
    "net_profit_yuan_y1": ("上年净利润", "上年度净利润", "净利润(上年度)"),
    "total_assets_yuan": ("总资产", "资产合计"),
    "total_liabilities_yuan": ("总负债", "负债合计"),
    "tax_paid_yuan_y1": ("上年纳税总额", "上年度纳税总额", "上年纳税额", "上年实缴税金", "上年税收",
                         "纳税总额(上年度)"),
    "tax_paid_yuan_y2": ("前年纳税总额", "前年度纳税总额", "前年纳税额", "纳税总额(前年度)"),
    "rd_expense_yuan_y1": ("上年研发费用", "上年度研发费用", "研发投入(上年)", "上年研发投入"),
    "tax_credit_grade": ("纳税信用级别", "纳税缴费信用等级", "纳税缴费信用级别", "纳税信用评价等级", "纳税信用评价结果",
                         "纳税信用评定等级"),
    "tax_credit_year": ("纳税信用年度", "纳税信用等级评价年度", "纳税缴费信用评价年度", "纳税信用评定年度"),
    "tax_arrears_yuan": ("欠税额", "欠缴税款", "欠税余额"),
    "abnormal_taxpayer": ("是否非正常户", "非正常户/走逃户", "走逃(失联)户"),
    "ss_insured_headcount": ("社保参保人数", "参保职工人数", "在职参保人数"),
    "ss_insured_headcount_prev": ("上年同期参保人数",),
    "ss_arrears_months": ("社保欠费月数",),
    "env_credit_level": ("环境信用评价等级", "环境信用评价结果", "企业环境信用等级", "环保信用等级",
                         "企业环境信用评价等级"),
    "env_credit_year": ("环境信用年度", "环境信用评价年份"),
    "eia_status": ("环评情况", "环评审批情况", "环境影响评价"),
    "discharge_permit": ("排污许可情况", "排污许可证"),
    "env_penalties_36m": ("近36个月环境处罚次数", "环境行政处罚次数"),
    "safety_std_grade": ("安全标准化等级", "安全生产标准化级别", "标准化等级"),
    "safety_std_valid_until": ("安全生产标准化有效期至", "标准化证书有效期至", "安全标准化证书有效期"),
    "high_risk_sector": ("是否高危行业",),
    "accidents_general_36m": ("近36个月一般事故次数",),
    "safety_dishonest_list": ("是否列入安全生产严重失信名单",),
    "safety_penalties_36m": ("近36个月安全处罚次数", "安全生产行政处罚次数"),
    "dishonest_debtor_enterprise": ("企业失信被执行人", "是否失信被执行人"),
    "dishonest_debtor_legal_rep": ("法定代表人失信被执行人",),
    "consumption_restricted": ("是否限制高消费",),
    "abnormal_operation_list": ("是否列入经营异常名录", "列入经营异常名录"),
    "serious_illegal_list": ("是否列入严重违法失信名单",),
    "hnte_valid_until": ("高企证书有效期至", "高新技术企业证书有效期至"),
    "srdi_level": ("专精特新", "专精特新级别"),
    "tech_sme": ("是否科技型中小企业",),
    "invention_patents": ("发明专利数量", "有效发明专利数"),
    "mu_efficiency_class": ("亩均效益评价等级", "亩均评价等级", "亩均等级", "亩均效益评价结果", "亩均效益分类"),
    "mu_eval_year": ("亩均效益评价年度", "亩均评价年份"),
    "utility_arrears_months": ("水电气欠缴月数",),
    "rent_arrears_months": ("租金欠费月数",),
}  # fmt: skip

BOOKKEEPING = (
    "序号", "编号", "行号", "NO", "NO.", "备注", "说明", "联系人", "联系电话", "联系方式", "电话", "手机", "填报人",
    "填报日期", "审核人", "经办人", "地址", "注册地址", "经营地址", "所属乡镇", "所属街道",
)  # fmt: skip
OUTCOME = ("default_12m", "违约(12个月)", "是否违约")
# one header, several fields: which evaluation's year? resolved by the feed's department or the grade column
AMBIGUOUS: dict[str, tuple[str, ...]] = {
    key: ("tax_credit_year", "env_credit_year", "mu_eval_year")
    for key in ("评价年度", "评定年度", "评价年份", "等级年度", "年度")
}
_SIGNAL_OF_YEAR = {"tax_credit_year": "tax_credit_grade", "env_credit_year": "env_credit_level",
                   "mu_eval_year": "mu_efficiency_class"}  # fmt: skip
_COUNT_UNIT_FIELDS = {"env_penalties_36m", "accidents_general_36m", "safety_penalties_36m", "major_hazards_open",
                      "major_hazards_overdue", "enforcement_closed_36m", "admin_penalties_general_36m",
                      "admin_penalties_serious_36m", "invention_patents", "lending_banks_count"}  # fmt: skip


def header_key(text: str) -> str:
    """Lookup key of a header: NFKC, no spaces, no trailing '*' or ':', upper-case."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\s+", "", text).strip("*:").strip()
    return text.upper()


@dataclass(frozen=True)
class HeaderMatch:
    """A header that names a field: the field and the factor its unit converts by."""

    field: str
    factor: Decimal = Decimal(1)


@dataclass(frozen=True)
class HeaderProblem:
    """A header that names no usable field: kind, reasons, the nearest known header."""

    kind: str  # unit | derived | unknown | bookkeeping | outcome | ambiguous
    reason_en: str
    reason_zh: str
    suggestion: str | None = None
    candidates: tuple[str, ...] = ()


@cache
def _keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for name, info in FIELDS.items():
        for spelling in (name, info.zh, *SYNONYMS.get(name, ())):
            keys.setdefault(header_key(spelling), name)
    return keys


@cache
def _derived_keys() -> dict[str, str]:
    return {header_key(s): n for n, f in DERIVED.items() for s in (n, f.zh)}


_UNIT = re.compile(r"^(?P<base>.+?)\((?:单位:)?(?P<unit>[^()]+)\)$")
_SKIP_KEYS = {header_key(h) for h in BOOKKEEPING}
_OUTCOME_KEYS = {header_key(h) for h in OUTCOME}


def names_field(header: str) -> bool:
    """True when `header` names a field (with or without a unit); cheap: no suggestion is computed."""
    key = header_key(header)
    keys = _keys()
    if key in keys:
        return True
    match = _UNIT.match(key)
    return bool(match and match["base"] in keys)


def _units_of(name: str) -> dict[str, Decimal]:
    info = FIELDS[name]
    if name in _COUNT_UNIT_FIELDS:
        return UNITS["count"]
    return UNITS.get(info.unit or "", {})


def resolve_header(header: str) -> HeaderMatch | HeaderProblem:
    """The field a header names (and its unit factor), or the problem saying why it names none."""
    key = header_key(header)
    keys = _keys()
    if key in keys:
        return HeaderMatch(keys[key])
    match = _UNIT.match(key)
    if match and match["base"] in keys:
        name = keys[match["base"]]
        unit = match["unit"]
        units = _units_of(name)
        if unit in units:
            return HeaderMatch(name, units[unit])
        info = FIELDS[name]
        if units:
            allowed = "、".join(u for u in units if not u.isascii() or u == "%")
            return HeaderProblem(
                "unit", f"unit {unit!r} not understood for {name}; use one of: {', '.join(units)}",
                f"单位“{unit}”不适用于 {info.zh}，可用单位：{allowed}",
            )  # fmt: skip
        return HeaderProblem("unit", f"{name} takes no unit, got {unit!r}", f"{info.zh} 不带单位，实际为“{unit}”")
    base = match["base"] if match else key
    if key in _SKIP_KEYS or base in _SKIP_KEYS:
        return HeaderProblem("bookkeeping", "not a profile field (the sender's own column): skipped",
                             "非画像字段（报送单位自用列），已跳过")  # fmt: skip
    if key in _OUTCOME_KEYS or header.strip() in OUTCOME:
        return HeaderProblem(
            "outcome", "an outcome column (as `parkcredit synth` writes): not a profile fact, skipped; "
            "loan outcomes are reported by banks (POST /v1/outcomes)",
            "结果列（如 parkcredit synth 生成的违约标记）不是企业画像数据，已跳过；贷款结果由银行报送",
        )  # fmt: skip
    if key in AMBIGUOUS or base in AMBIGUOUS:
        names = AMBIGUOUS.get(key) or AMBIGUOUS[base]
        labels = " / ".join(FIELDS[n].zh for n in names)
        return HeaderProblem(
            "ambiguous", f"{header!r} could be any of {', '.join(names)}: name it {labels}",
            f"“{header}”含义不明确，请写明：{labels}", candidates=names,
        )  # fmt: skip
    if key in _derived_keys() or base in _derived_keys():
        return HeaderProblem("derived", f"{header!r} is derived by parkcredit from other fields; remove the column",
                             f"“{header}”由系统根据其他字段计算，请删除该列")  # fmt: skip
    hint = suggest(header)
    en_hint = f"; did you mean {hint!r}?" if hint else ""
    zh_hint = f"；是否应为“{hint}”？" if hint else ""
    return HeaderProblem("unknown", f"unknown header {header!r}, skipped{en_hint}",
                         f"无法识别的表头“{header}”，已跳过{zh_hint}", suggestion=hint)  # fmt: skip


def suggest(header: str) -> str | None:
    """The nearest known header (the field's Chinese label, or its name for an English header)."""
    key = header_key(header)
    match = _UNIT.match(key)
    base = match["base"] if match else key
    keys = _keys()
    close = difflib.get_close_matches(base, list(keys), n=1, cutoff=0.5)
    if not close:
        return None
    name = keys[close[0]]
    return name if base.isascii() else FIELDS[name].zh


def resolve_ambiguous(problem: HeaderProblem, *, department_zh: str | None, fields_present: set[str]) -> str | None:
    """The field an ambiguous header names, given the feed's department or the grade columns present."""
    if department_zh is not None:
        own = [n for n in problem.candidates if FIELDS[n].dept == department_zh]
        if len(own) == 1:
            return own[0]
    with_signal = [n for n in problem.candidates if _SIGNAL_OF_YEAR.get(n) in fields_present]
    return with_signal[0] if len(with_signal) == 1 else None
