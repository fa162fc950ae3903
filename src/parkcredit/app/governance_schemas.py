"""Request and response models of the governance routes (rule sets, monitoring, overrides, erasure)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parkcredit.governance.overrides import REASON_CODES

RuleSetStatus = Literal["draft", "approved", "published", "retired"]
STATUS_LABELS = {
    "draft": ("草稿", "draft"),
    "approved": ("已复核", "approved"),
    "published": ("已发布", "published"),
    "retired": ("已停用", "retired"),
}
ReasonCode = Literal[
    "DATA_ERROR", "NEW_INFORMATION", "POLICY_SUPPORT", "COLLATERAL_OR_GUARANTEE", "RISK_CONCERN",
    "REPAYMENT_CAPACITY", "OTHER",
]  # fmt: skip
assert set(get_args(ReasonCode)) == set(REASON_CODES)
Direction = Literal["to_eligible", "to_ineligible", "limit_up", "limit_down"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- rule sets
class RuleSetText(_In):
    """A rule-set YAML file: its name (named in errors) and its exact text."""

    filename: str = Field(default="upload.yaml", min_length=1, max_length=200, examples=["chengxindai.yaml"])
    text: str = Field(min_length=1, max_length=500_000, description="the YAML text, exactly as the file")


class DraftIn(RuleSetText):
    """A new draft rule set (or a draft's replacement text), with the author's change note."""

    note: str = Field(default="", max_length=2000, examples=["门槛分由60调整为58 / threshold 60 -> 58"])


_REVIEWED = Field(
    min_length=1, max_length=80, examples=["sha256:…"],
    description="the content hash of the text the approver reviewed: 409 if the version changed since",
)  # fmt: skip


class ApproveIn(_In):
    content_hash: str = _REVIEWED
    note: str = Field(default="", max_length=2000)


class PublishIn(_In):
    content_hash: str = _REVIEWED


class RetireIn(_In):
    reason: str = Field(min_length=1, max_length=2000, examples=["superseded by v1.1"])


class RuleSetOut(BaseModel):
    """A stored rule-set version and its lifecycle (who drafted, approved, published, retired it)."""

    ruleset_id: int
    product: str
    version: str
    effective_from: dt.date
    status: RuleSetStatus
    status_zh: str
    content_hash: str
    source: str
    note: str
    created_by: str
    created_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None
    published_by: str | None
    published_at: dt.datetime | None
    retired_by: str | None
    retired_at: dt.datetime | None
    retire_reason: str | None


class RuleSetDetail(RuleSetOut):
    """A rule-set version with its exact YAML text."""

    text: str


class ValidateOut(BaseModel):
    """A rule-set text that passed every load-time check."""

    ok: bool
    source: str
    product: str
    version: str
    effective_from: dt.date
    content_hash: str


class ChangeOut(BaseModel):
    """One change between two versions, with Chinese and English sentences."""

    area: str
    kind: Literal["added", "removed", "changed"]
    rule_id: str | None
    item: str | None
    field: str | None
    before: Any
    after: Any
    zh: str
    en: str


class DiffOut(BaseModel):
    """What changed from `old` to `new`."""

    old: RuleSetOut
    new: RuleSetOut
    count: int
    changes: list[ChangeOut]


class BacktestOut(BaseModel):
    """A candidate rule set against the current portfolio (latest snapshots) and recorded outcomes."""

    model_config = ConfigDict(extra="allow")
    n: int
    park_id: str | None
    baseline_id: int
    candidate_id: int
    baseline: dict[str, Any]
    candidate: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    change: dict[str, Any]
    swap: dict[str, Any]
    by_industry: list[dict[str, Any]]
    by_band: dict[str, Any]
    band_migration: list[dict[str, Any]]
    discrimination: dict[str, Any]
    elapsed_s: float


# -- monitoring and performance
class MonitoringOut(BaseModel):
    """PSI of inputs, characteristics and scores (current vs reference window), approval rates over time."""

    model_config = ConfigDict(extra="allow")
    product: str
    park_id: str | None
    reference: dict[str, Any]
    current: dict[str, Any]
    ruleset: dict[str, Any]
    windows: dict[str, Any]
    alert_levels: dict[str, Any]
    warnings: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    characteristics: list[dict[str, Any]]
    inputs: list[dict[str, Any]]
    approval: dict[str, Any]
    approval_over_time: list[dict[str, Any]]
    overdue_disputes: int = Field(default=0, description="open disputes (异议) past their 20-day answer date")


class PerformanceOut(BaseModel):
    """Realised default rates by band and product over time; AUC/KS of rules, model and blend."""

    model_config = ConfigDict(extra="allow")
    product: str | None
    definition: dict[str, Any]
    loans: int
    bad: int
    default_rate: float | None
    linked_to_decision: int
    by_band: list[dict[str, Any]]
    by_product: list[dict[str, Any]]
    over_time: list[dict[str, Any]]
    discrimination: dict[str, Any]


# -- overrides
class OverrideIn(_In):
    """Override a decision's eligibility or limit: a reason code and the officer's text are required."""

    eligible: bool
    limit_yuan: int = Field(ge=0, le=2_000_000_000, description="0 when not eligible")
    reason_code: ReasonCode
    reason: str = Field(min_length=5, max_length=2000, examples=["已核实2025年纳税数据，原数据录入错误"])

    @model_validator(mode="after")
    def _consistent(self) -> OverrideIn:
        if not self.eligible and self.limit_yuan != 0:
            raise ValueError("limit_yuan must be 0 when eligible is false")
        if self.eligible and self.limit_yuan <= 0:
            raise ValueError("an eligible override needs a positive limit_yuan")
        return self


class OverrideOut(BaseModel):
    """An override, beside the unchanged decision."""

    override_id: int
    decision_id: str
    uscc: str
    product: str
    original_eligible: bool
    original_limit_yuan: int
    eligible: bool
    limit_yuan: int
    direction: str
    direction_zh: str
    direction_en: str
    reason_code: str
    reason_code_zh: str
    reason_code_en: str
    reason: str
    created_by: str
    created_at: dt.datetime


class OverridePage(BaseModel):
    items: list[OverrideOut]
    next_after_id: int | None


class OverridesReportOut(BaseModel):
    """Overrides counted by officer, direction, reason code and product."""

    total: int
    decisions: int | None
    override_rate: float | None
    by_direction: list[dict[str, Any]]
    by_officer: list[dict[str, Any]]
    by_reason: list[dict[str, Any]]
    by_product: list[dict[str, Any]]


# -- retention
class EraseIn(_In):
    """Why the legal representative's personal data is erased (e.g. a request under PIPL 个人信息保护法 art. 47)."""

    legal_basis: str = Field(min_length=5, max_length=500, examples=["个人信息保护法第四十七条：个人请求删除"])


class EraseOut(BaseModel):
    """What was erased: the personal-data rows of these snapshots (decisions and the audit chain are kept)."""

    uscc: str
    erased_snapshot_ids: list[int]
    fields: list[str]
    zh: str
    en: str


class RetentionOut(BaseModel):
    """The retention policy: what is kept, how long, and what can be erased."""

    policy_years: int
    kept: list[dict[str, str]]
    erasable: list[dict[str, str]]
    delete_routes: list[str]
