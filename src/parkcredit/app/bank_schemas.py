"""Request and response models of the banks' lifecycle (issue 14): what the bank is shown, batch and
whitelist, loans and their events, declined applications, alerts and webhooks, risk pools."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parkcredit.app.schemas import ProductCode, UtcDateTime

__all__ = [
    "AlertOut", "AlertPage", "BatchEligibilityIn", "BatchEligibilityOut", "BatchItem", "DeclineIn", "DeclineOut",
    "EligibilityOut", "Flag", "LoanDetail", "LoanEventIn", "LoanEventOut", "LoanIn", "LoanOut", "LoanPage",
    "LoanStatus", "OutstandingRow", "PoolIn", "PoolMovementOut", "PoolOut", "PoolStatement", "PrincipalReason",
    "Refusal", "DepositIn", "SummaryStatus", "WebhookDeliveryOut", "WebhookIn", "WebhookOut", "WhitelistEntry",
    "WhitelistOut",
]  # fmt: skip

SummaryStatus = Literal["ELIGIBLE", "INELIGIBLE", "NOT_APPLICABLE"]
ReasonKind = Literal["precondition", "knock_out", "score", "model"]
LoanStatus = Literal["current", "overdue_30", "overdue_90", "default", "repaid", "written_off"]
Money = Field(ge=0, le=2_000_000_000)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- what the bank is shown
class PrincipalReason(BaseModel):
    """A principal reason with its kind: a failed precondition, a knock-out, a score or a model reason."""

    code: str
    kind: ReasonKind
    zh: str
    en: str


class Flag(BaseModel):
    """Something the bank must know beside the figures: an override in force (its limit and reason code),
    a field under dispute (`fields`), data older than its validity."""

    code: str
    zh: str
    en: str
    limit_yuan: int | None = None
    reason_code: str | None = None
    fields: list[str] = Field(default_factory=list)


class EligibilityOut(BaseModel):
    """What a bank sees: the summary of the decision with the live lending position, never raw data.

    `limit_decided_yuan` is the decided limit (or the override's); `limit_available_yuan` is what is
    left after the outstanding principal of the enterprise's loans under the product at all partner
    banks (`outstanding_yuan`) and, for a pooled product, the pool's remaining capacity.
    """

    uscc: str
    product: str
    status: SummaryStatus
    eligible: bool
    limit_decided_yuan: int
    limit_available_yuan: int
    outstanding_yuan: int
    band: str | None
    valid_until: str | None
    as_of: str
    decision_id: str
    ruleset_version: str
    reasons: list[PrincipalReason]
    flags: list[Flag]
    disputed_fields: list[str] = Field(default_factory=list, description="fields of the data under dispute (异议)")


class BatchEligibilityIn(_In):
    """Up to 1,000 enterprises in one query (each looked up and logged as if asked alone)."""

    product: str = ProductCode
    usccs: list[str] = Field(min_length=1, max_length=1000)


class Refusal(BaseModel):
    """Why one enterprise of a batch was not answered."""

    code: str
    zh: str
    en: str


class BatchItem(BaseModel):
    uscc: str
    summary: EligibilityOut | None = None
    refused: Refusal | None = None


class BatchEligibilityOut(BaseModel):
    product: str
    answered: int
    refused: int
    results: list[BatchItem]


class WhitelistEntry(BaseModel):
    uscc: str
    change: Literal["added", "changed", "removed"] | None = None
    limit_available_yuan: int
    band: str | None
    decision_id: str | None


class WhitelistOut(BaseModel):
    """The enterprises currently eligible that authorized this bank; with `since`, only the changes after it."""

    product: str
    since: int | None
    cursor: int
    items: list[WhitelistEntry]


# -- loans
class LoanIn(_In):
    """A disbursement: the bank's own reference, the product, amount, date, term and the decision relied on."""

    loan_ref: str = Field(min_length=1, max_length=100, examples=["ZGB-2026-000123"])
    uscc: str = Field(min_length=1, max_length=30)
    product: str = ProductCode
    amount_yuan: int = Field(gt=0, le=2_000_000_000)
    disbursed_on: dt.date
    term_months: int = Field(ge=1, le=360)
    decision_id: uuid.UUID


class LoanEventIn(_In):
    """A new status of a loan and its principal outstanding; `recovered_yuan` after a default."""

    status: LoanStatus
    principal_outstanding_yuan: int = Money
    event_on: dt.date
    recovered_yuan: int = Field(default=0, ge=0, le=2_000_000_000)


class LoanOut(BaseModel):
    loan_id: int
    bank: str
    loan_ref: str
    uscc: str
    product: str
    decision_id: str
    band: str
    amount_yuan: int
    disbursed_on: dt.date
    term_months: int
    status: LoanStatus
    principal_outstanding_yuan: int
    status_on: dt.date
    pool_id: int | None
    created_at: UtcDateTime


class LoanEventOut(BaseModel):
    event_id: int
    loan_id: int
    status: LoanStatus
    principal_outstanding_yuan: int
    recovered_yuan: int
    event_on: dt.date
    reported_at: UtcDateTime


class LoanDetail(LoanOut):
    events: list[LoanEventOut]


class LoanPage(BaseModel):
    items: list[LoanOut]
    next_after_id: int | None


class DeclineIn(_In):
    """An application the bank declined, with its reason code (`GET /v1/loans/decline-reasons`)."""

    uscc: str = Field(min_length=1, max_length=30)
    product: str = ProductCode
    decision_id: uuid.UUID | None = None
    reason_code: str = Field(min_length=1, max_length=40, examples=["BANK_CREDIT_POLICY"])
    declined_on: dt.date
    note: str = Field(default="", max_length=2000)


class DeclineOut(BaseModel):
    decline_id: int
    bank: str
    uscc: str
    product: str
    decision_id: str | None
    reason_code: str
    reason_zh: str
    reason_en: str
    declined_on: dt.date
    note: str
    created_at: UtcDateTime


class OutstandingRow(BaseModel):
    """Live loans of one bank, product and band."""

    bank: str
    product: str
    band: str
    loans: int
    outstanding_yuan: int


# -- alerts and webhooks
class AlertOut(BaseModel):
    """An early warning: what changed (field, from, to), from which department and date."""

    alert_id: int
    bank: str
    uscc: str
    product: str | None
    kind: str
    field: str
    from_value: str | None
    to_value: str | None
    source_department: str
    source_date: dt.date | None
    snapshot_id: int | None
    decision_id: str | None
    loan_id: int | None
    zh: str
    en: str
    created_at: UtcDateTime


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_after: int | None = Field(description="pass as `after` for the next page; None when this is the last")
    cursor: int = Field(description="the newest alert id seen: `after` of the next poll")


class WebhookIn(_In):
    """A receiver for the bank's alerts; the body of each POST is signed with `secret` (HMAC-SHA256)."""

    url: str = Field(min_length=8, max_length=500, pattern=r"^https?://", examples=["https://bank.example/hooks/pc"])
    secret: str = Field(min_length=16, max_length=200)


class WebhookOut(BaseModel):
    webhook_id: int
    bank: str
    url: str
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class WebhookAttemptOut(BaseModel):
    attempt: int
    at: UtcDateTime
    http_status: int | None
    error: str | None
    duration_ms: int


class WebhookDeliveryOut(BaseModel):
    delivery_id: int
    alert_id: int
    webhook_id: int
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: UtcDateTime
    delivered_at: UtcDateTime | None
    attempt_log: list[WebhookAttemptOut]


# -- risk pools
class PoolIn(_In):
    """A risk-compensation pool for one product: balance, loss shares, leverage cap, per-enterprise cap."""

    product: str = ProductCode
    name: str = Field(min_length=1, max_length=200, examples=["沿滩区园保贷风险补偿资金池"])
    balance_yuan: int = Field(ge=0, le=2_000_000_000)
    share_pool: float = Field(ge=0, le=1, examples=[0.4])
    share_bank: float = Field(ge=0, le=1, examples=[0.2])
    share_guarantor: float = Field(ge=0, le=1, examples=[0.4])
    leverage: float = Field(gt=0, le=100, examples=[10])
    per_enterprise_cap_yuan: int = Field(gt=0, le=2_000_000_000)

    @model_validator(mode="after")
    def _shares(self) -> PoolIn:
        total = round((self.share_pool + self.share_bank + self.share_guarantor) * 10_000)
        if total != 10_000:
            raise ValueError(f"share_pool + share_bank + share_guarantor must be 1, got {total / 10_000:g}")
        for name in ("share_pool", "share_bank", "share_guarantor"):
            if abs(getattr(self, name) * 10_000 - round(getattr(self, name) * 10_000)) > 1e-6:
                raise ValueError(f"{name}: at most 4 decimals (basis points)")
        return self


class DepositIn(_In):
    amount_yuan: int = Field(gt=0, le=2_000_000_000)
    note: str = Field(default="", max_length=500)


class PoolOut(BaseModel):
    pool_id: int
    product: str
    name: str
    balance_yuan: int
    share_pool: float
    share_bank: float
    share_guarantor: float
    leverage: float
    per_enterprise_cap_yuan: int
    capacity_yuan: int = Field(description="balance × leverage: the outstanding principal the pool backs at most")
    outstanding_yuan: int
    available_yuan: int
    created_at: UtcDateTime


class PoolMovementOut(BaseModel):
    movement_id: int
    kind: Literal["deposit", "claim", "recovery"]
    amount_yuan: int
    balance_after_yuan: int
    loan_id: int | None
    bank: str | None
    basis_yuan: int
    bank_share_yuan: int
    guarantor_share_yuan: int
    note: str
    created_at: UtcDateTime


class PoolStatement(BaseModel):
    """A pool's statement: its terms and position now, every movement, and the totals."""

    pool: PoolOut
    movements: list[PoolMovementOut]
    deposits_yuan: int
    claims_yuan: int
    recoveries_yuan: int
    loans: int
    defaulted_loans: int
