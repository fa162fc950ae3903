"""Request and response models of the enterprise's rights (issue 15): its own view, its authorizations,
disputes (异议), credit events and their repair, human review of a refusal."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parkcredit.app.governance_schemas import OverrideOut, ReasonCode
from parkcredit.app.schemas import AuthorizationOut, Reason, UtcDateTime
from parkcredit.profile import Uscc
from parkcredit.profile.events import KINDS

__all__ = [
    "CreditEventIn", "CreditEventOut", "CreditEventResult", "CreditRepairIn", "DisputeFlag", "DisputeIn",
    "DisputeOut", "DisputePage", "DisputeResolveIn", "EnterpriseGrantIn", "EventKindName", "InputOut",
    "OwnBankQuery", "OwnDecision", "ReDecision", "ReviewDecideIn", "ReviewIn", "ReviewOut", "ReviewPage", "SelfView",
]  # fmt: skip

Scalar = str | int | float | bool | None
DisputeStatus = Literal["open", "corrected", "upheld", "cannot_verify"]
EventKindName = Literal[
    "env_penalty", "env_incident", "safety_penalty", "accident_general", "accident_serious", "accident_fatal",
    "safety_dishonest_listing", "dishonest_listing", "abnormal_operation", "serious_illegal_listing", "admin_penalty",
    "tax_penalty",
]  # fmt: skip
assert set(get_args(EventKindName)) == set(KINDS)
Severity = Literal["minor", "general", "serious", "GENERAL", "LARGER", "MAJOR", "SPECIALLY_MAJOR"]
Sha256 = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- authorizations granted by the enterprise itself
class EnterpriseGrantIn(_In):
    """The enterprise authorizes one bank to query it (its own act: no paper evidence needed)."""

    bank: str = Field(min_length=1, max_length=100, examples=["自贡银行"])
    products: list[str] = Field(min_length=1, max_length=10, examples=[["chengxindai"]])
    valid_from: dt.date
    valid_to: dt.date
    purpose: str = Field(min_length=1, max_length=200, examples=["企业诚信贷 loan application"])
    scope: str = Field(default="eligibility summary", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _dates(self) -> EnterpriseGrantIn:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        return self


# -- disputes
class DisputeIn(_In):
    """An objection to one field of a snapshot or of a decision's inputs, with the value claimed and evidence.

    An enterprise key files for its own USCC (`uscc` may be left out); the committee files on an
    enterprise's behalf and may give `received_at` when the letter arrived earlier (the 20 days run from receipt).
    """

    uscc: Uscc | None = None
    snapshot_id: int | None = Field(default=None, ge=1, le=2**62, description="default: the latest snapshot")
    decision_id: uuid.UUID | None = Field(default=None, description="the decision whose input is disputed")
    field: str = Field(min_length=1, max_length=60, examples=["env_penalties_36m"])
    claimed_value: Scalar = Field(default=None, examples=[0])
    statement: str = Field(min_length=4, max_length=4000, examples=["该处罚已于2025年撤销，见附件"])
    evidence_ref: str = Field(min_length=1, max_length=500, examples=["scan://disputes/2026/0001.pdf"])
    evidence_sha256: str | None = Sha256
    received_at: UtcDateTime | None = Field(default=None, description="committee only: when the dispute arrived")


class DisputeResolveIn(_In):
    """The written answer: corrected (a new snapshot and decision), upheld, or cannot be verified."""

    status: Literal["corrected", "upheld", "cannot_verify"]
    reply: str = Field(min_length=4, max_length=4000, examples=["经核实，该处罚已撤销，已更正。"])
    corrected_value: Scalar = Field(default=None, description="when corrected: the value set (default: the claimed)")


class DisputeFlag(BaseModel):
    """A field under an open dispute: shown beside every decision, bank answer and report that uses it."""

    field: str
    dispute_id: int
    received_at: UtcDateTime
    due_at: UtcDateTime
    zh: str
    en: str


class ReDecision(BaseModel):
    """A decision made because the enterprise's record changed."""

    decision_id: str
    product: str
    snapshot_id: int
    eligible: bool
    limit_yuan: int
    band: str
    total_score: float


class DisputeOut(BaseModel):
    """A dispute and where it stands; `overdue` when open past `due_at`."""

    dispute_id: int
    uscc: str
    snapshot_id: int
    decision_id: str | None
    field: str
    field_zh: str
    field_en: str
    recorded_value: Any
    claimed_value: Any
    statement: str
    evidence_ref: str
    evidence_sha256: str | None
    filed_as: Literal["enterprise", "committee_on_behalf"]
    filed_by: str
    received_at: UtcDateTime
    due_at: UtcDateTime
    status: DisputeStatus
    overdue: bool
    answered_late: bool
    reply: str | None
    corrected_value: Any
    resolved_by: str | None
    resolved_at: UtcDateTime | None
    correction_snapshot_id: int | None
    new_decisions: list[ReDecision] = Field(default_factory=list, description="decisions made on the correction")


class DisputePage(BaseModel):
    items: list[DisputeOut]
    next_after_id: int | None


# -- credit events
class CreditEventIn(_In):
    """A negative record of an enterprise (penalty, accident, listing) from its department."""

    uscc: Uscc
    kind: EventKindName
    occurred_on: dt.date
    severity: Severity = Field(default="general", description="minor/general/serious; an incident's level")
    amount_yuan: int | None = Field(default=None, ge=0, le=2_000_000_000)
    reference: str = Field(min_length=1, max_length=200, examples=["自环罚〔2025〕3号"])
    min_disclosure_months: int | None = Field(
        default=None, ge=0, le=120, description="default: the minimum period of the kind and severity"
    )


class CreditRepairIn(_In):
    """The repair of a record (信用修复), with its evidence; accepted only after the minimum disclosure period."""

    repaired_on: dt.date
    evidence_ref: str = Field(min_length=1, max_length=500, examples=["信用中国修复决定 2025-0918"])
    evidence_sha256: str | None = Sha256


class CreditEventOut(BaseModel):
    """A stored credit event; `counts` says whether it still counts at the latest snapshot's as_of."""

    event_id: int
    uscc: str
    kind: str
    kind_zh: str
    kind_en: str
    department: str
    occurred_on: dt.date
    severity: str
    amount_yuan: int | None
    reference: str
    min_disclosure_months: int
    earliest_repair_on: dt.date
    repaired_on: dt.date | None
    repair_evidence_ref: str | None
    repair_evidence_sha256: str | None
    recorded_by: str
    recorded_at: UtcDateTime


class CreditEventResult(BaseModel):
    """A recorded event or repair: the new snapshot with the derived fields, and the re-decisions."""

    event: CreditEventOut
    snapshot_id: int
    as_of: dt.date
    derived: dict[str, Any]
    new_decisions: list[ReDecision]


# -- human review
class ReviewIn(_In):
    """Ask for a person to review an automated refusal (个人信息保护法 art. 24)."""

    decision_id: uuid.UUID
    reason: str = Field(min_length=5, max_length=4000, examples=["我司纳税信用等级已于2025年恢复为B级"])


class ReviewDecideIn(_In):
    """The committee's outcome: an override of the decision with its reason, or the refusal upheld with a reason."""

    outcome: Literal["override", "upheld"]
    reason: str = Field(min_length=5, max_length=2000, examples=["复核后维持：近36个月内存在严重行政处罚"])
    eligible: bool | None = None
    limit_yuan: int | None = Field(default=None, ge=0, le=2_000_000_000)
    reason_code: ReasonCode | None = None

    @model_validator(mode="after")
    def _override_fields(self) -> ReviewDecideIn:
        given = [self.eligible is not None, self.limit_yuan is not None, self.reason_code is not None]
        if self.outcome == "override" and not all(given):
            raise ValueError("an override needs eligible, limit_yuan and reason_code")
        if self.outcome == "upheld" and any(given):
            raise ValueError("an upheld refusal takes no eligible, limit_yuan or reason_code")
        return self


class ReviewOut(BaseModel):
    """A review request, and its outcome once decided."""

    review_id: int
    uscc: str
    decision_id: str
    product: str
    reason: str
    requested_as: Literal["enterprise", "committee_on_behalf"]
    requested_by: str
    requested_at: UtcDateTime
    status: Literal["pending", "overridden", "upheld"]
    outcome_reason: str | None
    override: OverrideOut | None
    decided_by: str | None
    decided_at: UtcDateTime | None


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    next_after_id: int | None


# -- the enterprise's own view
class InputOut(BaseModel):
    """One input of the enterprise's latest snapshot, with the department that supplied it and its date."""

    name: str
    zh: str
    en: str
    dept: str
    dept_en: str
    unit: str | None
    value: Any
    as_of: str
    disputed: bool
    source: str | None = Field(default=None, description='how it came in: "import <file>", "dispute 3", …')


class OwnDecision(BaseModel):
    """One of the enterprise's decisions with its reasons, the override in force and the fields under dispute."""

    decision_id: str
    product: str
    snapshot_id: int
    as_of: str
    eligible: bool
    limit_yuan: int
    band: str
    total_score: float
    valid_until: str | None
    created_at: UtcDateTime
    reasons: list[Reason]
    knockouts: list[Reason]
    override: OverrideOut | None
    disputed_fields: list[DisputeFlag]


class OwnBankQuery(BaseModel):
    """A bank's query about the enterprise: which bank, when, for what, answered or refused."""

    bank: str
    product: str
    allowed: bool
    reason: str
    at: UtcDateTime


class SelfView(BaseModel):
    """What an enterprise sees about itself: inputs, decisions and why, path to eligibility, who queried it."""

    uscc: str
    name: str
    snapshot_id: int
    as_of: dt.date
    product: str
    inputs: list[InputOut]
    decisions: list[OwnDecision]
    eligible_now: bool | None
    path_to_eligibility: list[dict[str, Any]] | None
    path_error: str | None
    bank_queries: list[OwnBankQuery]
    authorizations: list[AuthorizationOut]
    disputes: list[DisputeOut]
    reviews: list[ReviewOut]
    credit_events: list[CreditEventOut]
