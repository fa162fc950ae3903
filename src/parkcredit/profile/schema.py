"""The enterprise profile (企业画像): one snapshot of one enterprise at `as_of`.

Conventions (DOMAIN.md §5.1): money in yuan as integers (importers convert 万元), ratios as
fractions 0-1, land in 亩, energy in tce (吨标准煤), dates ISO 8601. Every signal may be
missing (None); rules say how missing is treated through an explicit `missing` bin.

Negative events carry their date (`*_last_on`) or a count inside a named window (`*_36m`),
counted back from `as_of`, so a rule can apply a look-back window and an expired record stops
counting while old decisions stay replayable.

Each field carries metadata in `json_schema_extra`: Chinese label (also the Excel header the
importer accepts), supplying department, unit. `FIELDS` is the registry built from it; the
rule compiler, the importer, the model and the reports all read that registry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from parkcredit.profile.uscc import Uscc

__all__ = [
    "FIELDS",
    "DischargePermit",
    "EiaStatus",
    "EnvCreditLevel",
    "EnvIncidentLevel",
    "FieldInfo",
    "MuClass",
    "Profile",
    "SafetyGrade",
    "SrdiLevel",
    "TaxGrade",
]

Dept = Literal["市场监管", "园区", "税务", "人社", "生态环境", "应急管理", "法院", "科技", "经信", "银行", "企业"]


class TaxGrade(StrEnum):
    """纳税(缴费)信用等级."""

    A = "A"
    B = "B"
    M = "M"
    C = "C"
    D = "D"


class EnvCreditLevel(StrEnum):
    """企业环境信用评价; NOT_RATED is a category (most small firms), not a missing value."""

    GREEN = "GREEN"  # 环保诚信
    BLUE = "BLUE"  # 环保良好
    YELLOW = "YELLOW"  # 环保警示
    RED = "RED"  # 环保不良
    BLACK = "BLACK"  # 严重失信 (Jiangsu and some other provinces)
    NOT_RATED = "NOT_RATED"


class EiaStatus(StrEnum):
    """环评 status."""

    APPROVED = "APPROVED"
    REGISTERED = "REGISTERED"
    MISSING = "MISSING"
    NOT_REQUIRED = "NOT_REQUIRED"


class DischargePermit(StrEnum):
    """排污许可 status."""

    PERMIT = "PERMIT"
    REGISTRATION = "REGISTRATION"
    MISSING = "MISSING"
    NOT_REQUIRED = "NOT_REQUIRED"


class EnvIncidentLevel(StrEnum):
    """Worst 突发环境事件 in 36 months."""

    NONE = "NONE"
    GENERAL = "GENERAL"  # 一般
    LARGER = "LARGER"  # 较大
    MAJOR = "MAJOR"  # 重大
    SPECIALLY_MAJOR = "SPECIALLY_MAJOR"  # 特别重大


class SafetyGrade(StrEnum):
    """安全生产标准化等级."""

    L1 = "L1"  # 一级
    L2 = "L2"  # 二级
    L3 = "L3"  # 三级
    NONE = "NONE"


class SrdiLevel(StrEnum):
    """专精特新 tier."""

    NONE = "NONE"
    INNOV_SME = "INNOV_SME"  # 创新型中小企业
    PROV_SRDI = "PROV_SRDI"  # 省级专精特新
    LITTLE_GIANT = "LITTLE_GIANT"  # 国家级专精特新"小巨人"


class MuClass(StrEnum):
    """亩均效益评价 class."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


def F(zh: str, en: str, dept: Dept, unit: str | None = None, *, pii: bool = False, **kw: Any) -> Any:
    """A profile field with its label (= Excel header), department and unit."""
    extra: dict[str, Any] = {"zh": zh, "dept": dept}
    if unit:
        extra["unit"] = unit
    if pii:
        extra["pii"] = True
    kw.setdefault("default", None)
    return Field(description=en, json_schema_extra=extra, **kw)


Yuan = int
NonNeg: dict[str, Any] = {"ge": 0}  # Any: unpacked into F(**kw)


class Profile(BaseModel):
    """One enterprise snapshot. Unknown fields are refused so a typo cannot pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    # -- identity & registration (市场监管 / 园区)
    uscc: Uscc = F("统一社会信用代码", "unified social credit code", "市场监管", default=...)
    name: str = F("企业名称", "enterprise name", "市场监管", default=..., min_length=1, max_length=200)
    as_of: dt.date = F("数据日期", "date the snapshot describes", "园区", default=...)
    established_on: dt.date | None = F("成立日期", "date of establishment", "市场监管")
    registered_capital_yuan: Yuan | None = F("注册资本", "registered capital", "市场监管", "yuan", **NonNeg)
    industry_code: str | None = F(
        "行业代码", "GB/T 4754 industry code, e.g. C26", "市场监管", pattern=r"^[A-T]\d{0,4}$"
    )
    park_id: str | None = F("所属园区", "park", "园区", max_length=100)
    in_park_since: dt.date | None = F("入园日期", "date the enterprise entered the park", "园区")
    land_area_mu: float | None = F("用地面积", "land area", "园区", "亩", **NonNeg)
    legal_rep_name: str | None = F("法定代表人", "legal representative", "市场监管", pii=True, max_length=100)
    legal_rep_id_hash: str | None = F(
        "法定代表人证件哈希", "salted hash of the legal representative's ID", "市场监管", pii=True, max_length=128
    )
    annual_report_filed_year: int | None = F("年报年度", "last annual report filed", "市场监管", ge=1990)

    # -- financials & tax (税务 / statements)
    revenue_yuan_y1: Yuan | None = F("营业收入(上年)", "revenue, last full year", "税务", "yuan", **NonNeg)
    revenue_yuan_y2: Yuan | None = F("营业收入(前年)", "revenue, year before", "税务", "yuan", **NonNeg)
    net_profit_yuan_y1: Yuan | None = F("净利润(上年)", "net profit, last full year", "税务", "yuan")
    total_assets_yuan: Yuan | None = F("资产总额", "total assets", "税务", "yuan", **NonNeg)
    total_liabilities_yuan: Yuan | None = F("负债总额", "total liabilities", "税务", "yuan", **NonNeg)
    tax_paid_yuan_y1: Yuan | None = F("纳税总额(上年)", "all taxes paid, last full year", "税务", "yuan", **NonNeg)
    tax_paid_yuan_y2: Yuan | None = F("纳税总额(前年)", "all taxes paid, year before", "税务", "yuan", **NonNeg)
    rd_expense_yuan_y1: Yuan | None = F("研发费用(上年)", "R&D expense, last full year", "税务", "yuan", **NonNeg)
    tax_credit_grade: TaxGrade | None = F("纳税信用等级", "tax credit grade A/B/M/C/D", "税务")
    tax_credit_year: int | None = F("纳税信用评价年度", "year of the tax credit grade", "税务", ge=2014)
    tax_arrears_yuan: Yuan | None = F("欠税金额", "tax arrears", "税务", "yuan", **NonNeg)
    abnormal_taxpayer: bool | None = F("非正常户", "abnormal or absconded taxpayer", "税务")
    ss_insured_headcount: int | None = F("参保人数", "insured headcount", "人社", "persons", **NonNeg)
    ss_insured_headcount_prev: int | None = F(
        "参保人数(上年同期)", "insured headcount a year earlier", "人社", "persons", **NonNeg
    )
    ss_arrears_months: int | None = F(
        "社保欠缴月数", "months of social insurance currently in arrears", "人社", "months", **NonNeg
    )

    # -- environment (生态环境)
    env_credit_level: EnvCreditLevel | None = F("环境信用等级", "enterprise environmental credit level", "生态环境")
    env_credit_scheme: str | None = F(
        "环境信用评价体系", "scheme: national4 / sichuan4 / jiangsu5", "生态环境", max_length=40
    )
    env_credit_year: int | None = F("环境信用评价年度", "year of the environmental credit level", "生态环境")
    eia_status: EiaStatus | None = F("环评状态", "environmental impact assessment status", "生态环境")
    discharge_permit: DischargePermit | None = F("排污许可", "pollutant discharge permit", "生态环境")
    env_penalties_36m: int | None = F(
        "环境处罚次数(36个月)", "environmental penalties in 36 months", "生态环境", **NonNeg
    )
    env_penalty_max_yuan_36m: Yuan | None = F(
        "环境处罚最高金额(36个月)", "largest environmental fine in 36 months", "生态环境", "yuan", **NonNeg
    )
    env_incident_level_36m: EnvIncidentLevel | None = F(
        "突发环境事件等级(36个月)", "worst environmental incident in 36 months", "生态环境"
    )
    energy_tce_y1: float | None = F("综合能耗(上年)", "energy use, last full year", "经信", "tce", **NonNeg)

    # -- safety (应急管理)
    safety_std_grade: SafetyGrade | None = F("安全生产标准化等级", "work-safety standardisation grade", "应急管理")
    safety_std_valid_until: dt.date | None = F("安全标准化有效期至", "grade valid until", "应急管理")
    high_risk_sector: bool | None = F(
        "高危行业", "high-risk sector (hazardous chemicals, mining, metallurgy, fireworks)", "应急管理"
    )
    accidents_general_36m: int | None = F(
        "一般事故次数(36个月)", "general production accidents in 36 months", "应急管理", **NonNeg
    )
    accident_fatal_last_on: dt.date | None = F("最近死亡事故日期", "date of the last fatal accident", "应急管理")
    accident_serious_last_on: dt.date | None = F(
        "最近较大及以上事故日期", 'date of the last accident of level "larger" or worse', "应急管理"
    )
    safety_dishonest_list: bool | None = F(
        "安全生产严重失信名单", "on the work-safety serious dishonesty list", "应急管理"
    )
    safety_penalties_36m: int | None = F(
        "安全处罚次数(36个月)", "work-safety penalties in 36 months", "应急管理", **NonNeg
    )
    major_hazards_open: int | None = F("未整改重大隐患数", "open major accident hazards", "应急管理", **NonNeg)
    major_hazards_overdue: int | None = F(
        "逾期未整改重大隐患数", "open major hazards past deadline", "应急管理", **NonNeg
    )
    hazard_rectification_rate: float | None = F(
        "隐患整改率", "hazard rectification rate", "应急管理", "ratio", ge=0, le=1
    )

    # -- courts, market regulation, other penalties
    dishonest_debtor_enterprise: bool | None = F(
        "失信被执行人(企业)", "enterprise on the dishonest judgment-debtor list", "法院"
    )
    dishonest_debtor_legal_rep: bool | None = F(
        "失信被执行人(法定代表人)", "legal representative on the dishonest judgment-debtor list", "法院"
    )
    enforcement_open_yuan: Yuan | None = F("未结被执行金额", "open enforcement amount", "法院", "yuan", **NonNeg)
    enforcement_closed_36m: int | None = F(
        "已结执行案件数(36个月)", "closed enforcement cases in 36 months", "法院", **NonNeg
    )
    consumption_restricted: bool | None = F("限制高消费", "high-consumption restriction order", "法院")
    abnormal_operation_list: bool | None = F("经营异常名录", "on the abnormal-operation list", "市场监管")
    serious_illegal_list: bool | None = F("严重违法失信名单", "on the serious illegal and dishonest list", "市场监管")
    admin_penalties_general_36m: int | None = F(
        "一般行政处罚次数(36个月)", "general administrative penalties in 36 months", "市场监管", **NonNeg
    )
    admin_penalties_serious_36m: int | None = F(
        "严重行政处罚次数(36个月)", "serious administrative penalties in 36 months", "市场监管", **NonNeg
    )

    # -- certifications & park evaluation (科技 / 经信 / 园区)
    hnte_valid_until: dt.date | None = F("高新技术企业有效期至", "high-tech enterprise certificate valid until", "科技")
    srdi_level: SrdiLevel | None = F("专精特新等级", "SRDI (specialised and innovative SME) tier", "经信")
    srdi_valid_until: dt.date | None = F("专精特新有效期至", "SRDI certificate valid until", "经信")
    tech_sme: bool | None = F("科技型中小企业", "registered tech-based SME", "科技")
    invention_patents: int | None = F("发明专利数", "invention patents held", "科技", **NonNeg)
    mu_efficiency_class: MuClass | None = F("亩均效益等级", "per-mu efficiency evaluation class", "经信")
    mu_eval_year: int | None = F("亩均评价年度", "year of the per-mu efficiency evaluation", "经信")
    utility_arrears_months: int | None = F(
        "水电气欠费月数", "months of utility bills currently in arrears", "园区", "months", **NonNeg
    )
    utility_arrears_yuan: Yuan | None = F("水电气欠费金额", "utility arrears", "园区", "yuan", **NonNeg)
    rent_arrears_months: int | None = F(
        "租金欠缴月数", "months of park rent currently in arrears", "园区", "months", **NonNeg
    )
    arrears_months_24m: int | None = F(
        "近24个月欠费月数",
        "months in arrears (utilities, rent, social insurance) in 24 months",
        "园区",
        "months",
        **NonNeg,
    )
    strategic_industry: bool | None = F("园区主导产业", "in the park's strategic industries", "园区")

    # -- supplied by a bank, only under the enterprise's authorization (人行征信)
    bank_overdue_max_days_24m: int | None = F(
        "最长逾期天数(24个月)", "longest bank overdue in 24 months", "银行", "days", **NonNeg
    )
    bank_npl_flag: bool | None = F("不良贷款", "a loan classified non-performing", "银行")
    existing_unsecured_loans_yuan: Yuan | None = F(
        "现有信用贷款余额", "unsecured loans outstanding", "银行", "yuan", **NonNeg
    )
    lending_banks_count: int | None = F("授信银行数", "banks lending to the enterprise", "银行", **NonNeg)


FieldKind = Literal["str", "int", "float", "bool", "date", "enum"]


@dataclass(frozen=True)
class FieldInfo:
    """What the rest of parkcredit needs to know about one profile field."""

    name: str
    kind: FieldKind
    zh: str
    en: str
    dept: str
    unit: str | None = None
    choices: tuple[str, ...] = ()
    pii: bool = False
    derived: bool = False
    required: bool = False


def _kind(annotation: Any) -> tuple[FieldKind, tuple[str, ...]]:
    args = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
    base = args[0]
    if isinstance(base, type) and issubclass(base, StrEnum):
        return "enum", tuple(m.value for m in base)
    if base is bool:
        return "bool", ()
    if base is int:
        return "int", ()
    if base is float:
        return "float", ()
    if base is dt.date:
        return "date", ()
    return "str", ()


def _registry() -> dict[str, FieldInfo]:
    out: dict[str, FieldInfo] = {}
    for name, field in Profile.model_fields.items():
        extra = field.json_schema_extra
        assert isinstance(extra, dict), name
        kind, choices = _kind(field.annotation)
        out[name] = FieldInfo(
            name=name,
            kind=kind,
            zh=str(extra["zh"]),
            en=field.description or name,
            dept=str(extra["dept"]),
            unit=extra.get("unit"),  # type: ignore[arg-type]
            choices=choices,
            pii=bool(extra.get("pii", False)),
            required=field.is_required(),
        )
    return out


FIELDS: dict[str, FieldInfo] = _registry()
