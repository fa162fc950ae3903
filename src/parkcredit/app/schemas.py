"""Request and response models: the exact HTTP contract (api/openapi.json is generated from them)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from parkcredit.app.import_schemas import FieldSource
from parkcredit.app.import_schemas import ImportOut as ImportOut  # the import report lives with its kin
from parkcredit.app.import_schemas import RejectedRow as RejectedRow
from parkcredit.profile import Uscc
from parkcredit.record import DecisionRecord as DecisionRecord  # a domain type, returned by the API as is
from parkcredit.record import Reason as Reason


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


# stored times are UTC; SQLite hands them back without an offset, and the contract says RFC 3339 date-time
UtcDateTime = Annotated[dt.datetime, AfterValidator(_utc)]

ProductCode = Field(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$", examples=["chengxindai"])
Role = Literal["committee", "approver", "bank", "auditor", "admin", "department", "enterprise"]
LoanStatus = Literal["current", "overdue_30", "overdue_90", "default", "repaid", "written_off"]
Sha256 = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- committee
class SnapshotOut(Out):
    """A stored profile snapshot (without the profile body)."""

    snapshot_id: int
    uscc: str
    name: str
    park_id: str | None
    as_of: dt.date
    content_sha256: str
    created_at: UtcDateTime


class SnapshotDetail(SnapshotOut):
    """A snapshot with its profile (personal data excluded)."""

    profile: dict[str, Any]


class DecisionRequest(BaseModel):
    """Decide one enterprise on its latest snapshot."""

    model_config = ConfigDict(extra="forbid")
    uscc: Uscc
    product: str = ProductCode


class BatchRequest(BaseModel):
    """Decide every enterprise (optionally of one park) on its latest snapshot, in the background."""

    model_config = ConfigDict(extra="forbid")
    product: str = ProductCode
    park_id: str | None = Field(default=None, max_length=100)


class DecisionSummary(Out):
    """A decision in a list."""

    decision_id: str
    product: str
    snapshot_id: int
    ruleset_version: str
    eligible: bool
    limit_yuan: int
    band: str
    total_score: float
    valid_until: dt.date | None
    created_at: UtcDateTime


class EnterpriseOut(BaseModel):
    """An enterprise: its latest snapshot, latest decisions, and where each field of the snapshot came from."""

    snapshot: SnapshotDetail
    decisions: list[DecisionSummary]
    provenance: list[FieldSource] = Field(default_factory=list, description="per field: department, file, as-of date")


class JobOut(Out):
    """A background job and its progress."""

    job_id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    params: dict[str, Any]
    total: int
    done: int
    result: dict[str, Any] | None
    error: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class AuthorizationRequest(BaseModel):
    """An enterprise's authorization (授权书) for one bank to query it."""

    model_config = ConfigDict(extra="forbid")
    uscc: Uscc
    bank: str = Field(min_length=1, max_length=100, examples=["自贡银行"])
    products: list[Annotated[str, ProductCode]] = Field(min_length=1, max_length=10, examples=[["chengxindai"]])
    valid_from: dt.date
    valid_to: dt.date
    scope: str = Field(min_length=1, max_length=200, examples=["eligibility summary"])
    purpose: str = Field(min_length=1, max_length=200, examples=["企业诚信贷 loan application"])
    evidence_ref: str = Field(min_length=1, max_length=500, examples=["scan://auth/2025/0001.pdf"])
    evidence_sha256: str | None = Sha256

    @model_validator(mode="after")
    def _dates(self) -> AuthorizationRequest:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        return self


class AuthorizationOut(Out):
    """A stored authorization."""

    authorization_id: str
    uscc: str
    bank: str
    products: list[str]
    valid_from: dt.date
    valid_to: dt.date
    scope: str
    purpose: str
    evidence_ref: str
    evidence_sha256: str | None
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None
    granted_by: Literal["enterprise", "committee_on_paper"] = Field(
        default="committee_on_paper", description="the enterprise itself, or the committee from a paper 授权书"
    )


# -- bank
class OutcomeRequest(BaseModel):
    """A loan outcome reported by a bank (kept as an alias of `POST /v1/loans` and its events: docs/banks.md)."""

    model_config = ConfigDict(extra="forbid")
    uscc: Uscc
    product: str = ProductCode
    decision_id: uuid.UUID | None = None
    disbursed_yuan: int = Field(ge=0, le=2_000_000_000)
    disbursed_on: dt.date
    status: LoanStatus


class OutcomeOut(Out):
    """The loan an outcome report made or changed (`outcome_id` = `loan_id`)."""

    outcome_id: int
    loan_id: int
    bank: str
    uscc: str
    product: str
    decision_id: str | None
    disbursed_yuan: int
    disbursed_on: dt.date
    status: str
    reported_at: UtcDateTime


class BankQueryOut(Out):
    """One logged bank query."""

    query_id: int
    bank: str
    key_id: str
    uscc: str
    product: str
    allowed: bool
    reason: str
    decision_id: str | None
    created_at: UtcDateTime


class BankQueryPage(BaseModel):
    items: list[BankQueryOut]
    next_after_id: int | None


# -- auditor
class ReplayOut(BaseModel):
    """Replay of a stored decision: identical means the canonical JSON matched byte for byte."""

    decision_id: str
    identical: bool
    stored_sha256: str
    replayed_sha256: str
    note: str | None
    replayed: DecisionRecord


class AuditEntryOut(Out):
    """One audit-log entry."""

    seq: int
    ts: str
    actor: str
    action: str
    object_type: str
    object_id: str
    payload: dict[str, Any]
    payload_sha256: str
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_after_seq: int | None


class RowProblemOut(BaseModel):
    """A fact row that does not match what the audit chain vouches for."""

    table: str
    id: str
    problem: Literal["altered", "deleted", "unbound", "inconsistent"]
    detail: str
    seq: int | None = Field(default=None, description="the audit entry that last bound the row")


class CheckpointProblemOut(BaseModel):
    """A signed checkpoint the chain no longer agrees with (or one whose signature fails)."""

    checkpoint: int = Field(description="its line among the checkpoints given (1-based)")
    seq: int
    ts: str
    kind: Literal["truncated", "rewritten", "broken_inside", "bad_signature"]
    detail: str


class VerifyOut(BaseModel):
    """Audit check: the chain (`first_bad_seq` names the first edited, deleted or moved entry), every bound
    row (`row_problems`, by table and id) and the signed checkpoints (`checkpoint_problems`)."""

    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str | None
    head_hash: str | None
    rows_checked: int = 0
    row_problems_total: int = 0
    row_problems: list[RowProblemOut] = []
    checkpoints_checked: int = 0
    checkpoints_source: str | None = None
    checkpoint_problems: list[CheckpointProblemOut] = []


class CheckpointOut(BaseModel):
    """One signed checkpoint of the audit chain head (the line appended to `file`)."""

    v: int
    seq: int
    head_hash: str
    ts: str
    key_id: str
    sig: str
    file: str
    public_key: str = Field(description="PEM of the verifying key: the auditor keeps it with the checkpoints")


class VerifyIn(BaseModel):
    """Checkpoints the auditor kept (JSON lines as `parkcredit audit checkpoint` writes them)."""

    model_config = ConfigDict(extra="forbid")
    checkpoints: str = Field(
        max_length=1_000_000,
        description="JSON lines, one checkpoint each (about 4,000 fit the 1 MiB body limit; the CLI has no limit)",
    )
    public_key: str | None = Field(default=None, max_length=2000, description="PEM; default: the service's key")


# -- admin
class KeyRequest(BaseModel):
    """A new API key; bank, department and enterprise keys are bound to one bank, department or USCC."""

    model_config = ConfigDict(extra="forbid")
    role: Role
    bank: str | None = Field(default=None, min_length=1, max_length=100)
    label: str = Field(default="", max_length=200)
    holder: str = Field(default="", max_length=200, description="the person holding the key (maker-checker)")
    department: str | None = Field(default=None, min_length=1, max_length=40)
    uscc: str | None = Field(default=None, min_length=18, max_length=18)

    @model_validator(mode="after")
    def _scope(self) -> KeyRequest:
        for role, value in (("bank", self.bank), ("department", self.department), ("enterprise", self.uscc)):
            if (self.role == role) != (value is not None):
                field = "uscc" if role == "enterprise" else role
                raise ValueError(f"a {role} key needs `{field}`, and only a {role} key may have one")
        return self


class KeyOut(Out):
    """An API key (the token appears only in the response that created it)."""

    key_id: str
    role: str
    bank: str | None
    label: str
    holder: str = ""
    department: str | None = None
    uscc: str | None = None
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None
    token: str | None = None


# -- health
class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    """Readiness: database reachable, rule sets loaded, model status."""

    status: Literal["ready", "not_ready"]
    database: str
    rulesets: dict[str, str]
    model: dict[str, Any]
    rule_errors: list[str] = Field(default_factory=list, description="bundled rule files refused at startup")
