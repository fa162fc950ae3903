"""The database tables (SQLAlchemy 2 typed ORM). Schema changes go through Alembic (`migrations/`).

Append-only by convention and by code: snapshots, decisions, rule-set versions, bank queries,
outcomes and the audit log are never updated or deleted by parkcredit. The two exceptions are
deliberate: `snapshot_pii` rows may be erased (PIPL art. 47, a natural person's data), and
authorizations / API keys get a `revoked_at` instead of a deletion.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Alert",
    "ApiKey",
    "AuditEntry",
    "Authorization",
    "BankQuery",
    "Base",
    "CreditEvent",
    "Decision",
    "Dispute",
    "IdempotencyKey",
    "ImportRecord",
    "Job",
    "Loan",
    "LoanDecline",
    "LoanEvent",
    "LoanOutcome",
    "Override",
    "PoolMovement",
    "RiskPool",
    "ReviewRequest",
    "RuleSetVersion",
    "Snapshot",
    "SnapshotPii",
    "SnapshotProvenance",
    "WebSession",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WhitelistChange",
    "utcnow",
]


def utcnow() -> dt.datetime:
    """Timezone-aware now (UTC)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, dt.datetime: DateTime(timezone=True)}


class Snapshot(Base):
    """One validated profile of one enterprise (企业画像快照), without its personal data."""

    __tablename__ = "snapshots"
    # the newest snapshot of one enterprise in one probe (migration 0008: an index on uscc alone let PostgreSQL
    # walk the primary key backwards instead)
    __table_args__ = (Index("ix_snapshots_uscc_id", "uscc", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    park_id: Mapped[str | None] = mapped_column(String(100), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SnapshotPii(Base):
    """The legal representative's personal data of a snapshot; erasable without breaking replay."""

    __tablename__ = "snapshot_pii"
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), primary_key=True)
    legal_rep_name: Mapped[str | None] = mapped_column(String(100))
    legal_rep_id_hash: Mapped[str | None] = mapped_column(Text)


class RuleSetVersion(Base):
    """One version of a rule set: its exact YAML text (by content hash) and its lifecycle.

    draft -> approved -> published (in force from `effective_from`, compared with a snapshot's
    as_of) -> retired. The approver is a different key than the author (maker-checker). Only a
    draft's text may change; once approved the text, hash, product, version and effective date
    are frozen (checked in `store.repo` and by database triggers, migration 0002).
    """

    __tablename__ = "ruleset_versions"
    __table_args__ = (
        Index("ix_ruleset_versions_product_status", "product", "status"),
        # one published version per product and effective date (migration 0003), beside the per-product lock
        Index("uq_ruleset_versions_published_effective", "product", "effective_from", unique=True,
              sqlite_where=sql_text("status = 'published'"), postgresql_where=sql_text("status = 'published'")),
    )  # fmt: skip
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product: Mapped[str] = mapped_column(String(50))
    version: Mapped[str] = mapped_column(String(50))
    content_hash: Mapped[str] = mapped_column(String(80), unique=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="published")  # draft|approved|published|retired
    effective_from: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200), default="")  # file name of the upload or bundled file
    note: Mapped[str] = mapped_column(Text, default="")  # the author's change note
    created_by: Mapped[str] = mapped_column(String(40), default="system")
    approved_by: Mapped[str | None] = mapped_column(String(40))
    approved_at: Mapped[dt.datetime | None] = mapped_column()
    published_by: Mapped[str | None] = mapped_column(String(40))
    published_at: Mapped[dt.datetime | None] = mapped_column()
    retired_by: Mapped[str | None] = mapped_column(String(40))
    retired_at: Mapped[dt.datetime | None] = mapped_column()
    retire_reason: Mapped[str | None] = mapped_column(Text)


class Decision(Base):
    """One decision; `record` is the canonical JSON text (byte for byte what replay compares)."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_uscc_product", "uscc", "product", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    product: Mapped[str] = mapped_column(String(50))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), index=True)
    ruleset_id: Mapped[int] = mapped_column(ForeignKey("ruleset_versions.id"))
    ruleset_version: Mapped[str] = mapped_column(String(50))
    ruleset_hash: Mapped[str] = mapped_column(String(80))
    model_version: Mapped[str | None] = mapped_column(String(100))
    model_status: Mapped[str] = mapped_column(String(200))
    eligible: Mapped[bool] = mapped_column(Boolean)
    limit_yuan: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(20))
    total_score: Mapped[float] = mapped_column(Float)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    record: Mapped[str] = mapped_column(Text)
    record_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Authorization(Base):
    """An enterprise's consent (授权) for one bank to query it for some products until a date."""

    __tablename__ = "authorizations"
    __table_args__ = (Index("ix_authorizations_uscc_bank", "uscc", "bank"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    bank: Mapped[str] = mapped_column(String(100))
    products: Mapped[list[Any]] = mapped_column(JSON)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(200))
    evidence_ref: Mapped[str] = mapped_column(String(500))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_by: Mapped[str | None] = mapped_column(String(40))
    # who granted it (issue 15, 0007): the enterprise itself, or the committee recording a paper 授权书
    granted_by: Mapped[str] = mapped_column(String(30), default="committee_on_paper")


class BankQuery(Base):
    """Every eligibility query by a bank, answered or refused."""

    __tablename__ = "bank_queries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(String(100), index=True)
    key_id: Mapped[str] = mapped_column(String(40))
    uscc: Mapped[str] = mapped_column(String(30))
    product: Mapped[str] = mapped_column(String(50))
    allowed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(200))
    authorization_id: Mapped[str | None] = mapped_column(String(36))
    decision_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoanOutcome(Base):
    """A loan outcome reported by a bank (for monitoring and model development)."""

    __tablename__ = "loan_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(String(100), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    product: Mapped[str] = mapped_column(String(50))
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decisions.id"))
    disbursed_yuan: Mapped[int] = mapped_column(Integer)
    disbursed_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    reported_by: Mapped[str] = mapped_column(String(40))
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key: only the peppered HMAC-SHA256 of the token is kept."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    bank: Mapped[str | None] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    # the person who holds the key (maker-checker compares holders, not keys), and the scope of a
    # department key (one department) or an enterprise key (one USCC)
    holder: Mapped[str] = mapped_column(String(200), default="")
    department: Mapped[str | None] = mapped_column(String(40))
    uscc: Mapped[str | None] = mapped_column(String(18))


class Override(Base):
    """A committee override of a decision: a new record beside it (the decision is never changed).

    `eligible` / `limit_yuan` are the overridden outcome, `original_*` the decision's; `reason_code`
    is one of `governance.overrides.REASON_CODES`, `reason` the officer's text.
    """

    __tablename__ = "overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    eligible: Mapped[bool] = mapped_column(Boolean)
    limit_yuan: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(40))
    approved_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    product: Mapped[str] = mapped_column(String(50))
    reason_code: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(20))  # to_eligible | to_ineligible | limit_up | limit_down
    original_eligible: Mapped[bool] = mapped_column(Boolean)
    original_limit_yuan: Mapped[int] = mapped_column(Integer)


class IdempotencyKey(Base):
    """The stored response of a POST carrying an `Idempotency-Key` header."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("key_id", "idem_key", name="uq_idempotency_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(40))
    idem_key: Mapped[str] = mapped_column(String(200))
    route: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Job(Base):
    """A background job (batch scoring); progress lives here so any worker can answer a poll."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)  # queued | running | done | failed
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # the lease of the worker running it (issue 16, 0004): renewed while it runs; expired = the worker died
    worker_id: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()
    lease_until: Mapped[dt.datetime | None] = mapped_column()


class AuditEntry(Base):
    """One link of the audit hash chain: hash = sha256(prev_hash + canonical entry)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC text: hashed as stored, no driver round trip
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# ---- issue 16 (0004_hardening): web sign-in sessions ----------------------------------------------------------


class WebSession(Base):
    """A web sign-in: the cookie holds a random token, this row its sha256 (never the token, never the API key)."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


# ---- issue 15 (0007_enterprise_rights): disputes (异议), credit events and their repair, human reviews -----------


class Dispute(Base):
    """An objection (异议) to one field of a snapshot or a decision; answered in writing within 20 days (条例 art. 25).

    `status`: open -> corrected | upheld | cannot_verify, each with a written `reply`. A correction is a
    new snapshot (`correction_snapshot_id`, provenance "dispute N") and a new decision of it.
    """

    __tablename__ = "disputes"
    __table_args__ = (
        Index("ix_disputes_status_due_at", "status", "due_at"),
        # one open dispute per field of an enterprise (checked in app.disputes too; this holds under races)
        Index("uq_disputes_open_field", "uscc", "field", unique=True,
              sqlite_where=sql_text("status = 'open'"), postgresql_where=sql_text("status = 'open'")),
    )  # fmt: skip
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"))
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decisions.id"))
    field: Mapped[str] = mapped_column(String(60))
    recorded_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    claimed_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    statement: Mapped[str] = mapped_column(Text)
    evidence_ref: Mapped[str] = mapped_column(String(500))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    filed_as: Mapped[str] = mapped_column(String(30))  # enterprise | committee_on_behalf
    filed_by: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column()
    due_at: Mapped[dt.datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="open")
    reply: Mapped[str | None] = mapped_column(Text)
    corrected_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(40))
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    correction_snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CreditEvent(Base):
    """A negative record (penalty, accident, listing) of one enterprise, and its repair (信用修复) if any.

    The counts the rules read are derived from these (`profile.events.derive_counts`).
    """

    __tablename__ = "credit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(20))
    amount_yuan: Mapped[int | None] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(200))  # e.g. the penalty decision's number (处罚决定书文号)
    min_disclosure_months: Mapped[int] = mapped_column(Integer)
    repaired_on: Mapped[dt.date | None] = mapped_column(Date)
    repair_evidence_ref: Mapped[str | None] = mapped_column(String(500))
    repair_evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    repaired_by: Mapped[str | None] = mapped_column(String(40))
    repaired_at: Mapped[dt.datetime | None] = mapped_column()


class ReviewRequest(Base):
    """An enterprise's request for a human review of an automated refusal (个人信息保护法 art. 24).

    `status`: pending -> overridden (with `override_id`) | upheld; `outcome_reason` is the written answer.
    """

    __tablename__ = "review_requests"
    __table_args__ = (
        # one pending review per decision (checked in app.reviews too; this holds under races)
        Index("uq_review_requests_pending", "decision_id", unique=True,
              sqlite_where=sql_text("status = 'pending'"), postgresql_where=sql_text("status = 'pending'")),
    )  # fmt: skip
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    product: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    requested_as: Mapped[str] = mapped_column(String(30))  # enterprise | committee_on_behalf
    requested_by: Mapped[str] = mapped_column(String(40))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    override_id: Mapped[int | None] = mapped_column(ForeignKey("overrides.id"))
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[dt.datetime | None] = mapped_column()


# ---- issue 14 (0006_bank_lifecycle): loans and their events, declines, alerts and webhooks, risk pools ----------


class Loan(Base):
    """A loan a partner bank disbursed on a decision; `status` / `principal_outstanding_yuan` follow its events.

    The only rows of this section that are updated (by a loan event, in the same audit entry that binds
    the event); everything else is append-only.
    """

    __tablename__ = "loans"
    __table_args__ = (
        UniqueConstraint("bank", "loan_ref", name="uq_loans_bank_ref"),
        Index("ix_loans_uscc_product", "uscc", "product"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(String(100), index=True)
    loan_ref: Mapped[str] = mapped_column(String(100))  # the bank's own reference
    uscc: Mapped[str] = mapped_column(String(18))
    product: Mapped[str] = mapped_column(String(50))
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"))
    band: Mapped[str] = mapped_column(String(20))  # the band of the decision relied on (for the committee's views)
    amount_yuan: Mapped[int] = mapped_column(Integer)
    disbursed_on: Mapped[dt.date] = mapped_column(Date)
    term_months: Mapped[int] = mapped_column(Integer)
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("risk_pools.id"))
    status: Mapped[str] = mapped_column(String(20))  # current|overdue_30|overdue_90|default|repaid|written_off
    principal_outstanding_yuan: Mapped[int] = mapped_column(Integer)
    status_on: Mapped[dt.date] = mapped_column(Date)  # date of the latest event
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoanEvent(Base):
    """One reported status of a loan (the first is the disbursement itself, status `current`)."""

    __tablename__ = "loan_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    principal_outstanding_yuan: Mapped[int] = mapped_column(Integer)
    recovered_yuan: Mapped[int] = mapped_column(Integer, default=0)
    event_on: Mapped[dt.date] = mapped_column(Date)
    reported_by: Mapped[str] = mapped_column(String(40))
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoanDecline(Base):
    """An application a bank declined, with its reason code (`app.loans.DECLINE_REASONS`)."""

    __tablename__ = "loan_declines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(String(100), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    product: Mapped[str] = mapped_column(String(50))
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decisions.id"))
    reason_code: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    declined_on: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """A post-loan early warning for one bank: what changed, from which value to which, source and date."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_bank_id", "bank", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(String(100))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    product: Mapped[str | None] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(40))
    field: Mapped[str] = mapped_column(String(60))
    from_value: Mapped[str | None] = mapped_column(String(200))
    to_value: Mapped[str | None] = mapped_column(String(200))
    source_department: Mapped[str] = mapped_column(String(40))
    source_date: Mapped[dt.date | None] = mapped_column(Date)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id"))
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decisions.id"))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    zh: Mapped[str] = mapped_column(Text)
    en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Webhook(Base):
    """A bank's alert receiver: URL and the HMAC-SHA256 secret the body is signed with."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(String(100), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class WebhookDelivery(Base):
    """The delivery of one alert to one webhook (a queue row: pending -> delivered | failed)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: when, the receiver's status code or the error."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class RiskPool(Base):
    """A risk-compensation pool (风险补偿资金池, DOMAIN §3.6) behind one product's loans.

    Loss shares in basis points (pool + bank + guarantor = 10,000); the pool backs at most
    `leverage` × its balance of outstanding principal, and at most `per_enterprise_cap_yuan` per firm.
    The balance is the sum of its movements.
    """

    __tablename__ = "risk_pools"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    share_pool_bp: Mapped[int] = mapped_column(Integer)
    share_bank_bp: Mapped[int] = mapped_column(Integer)
    share_guarantor_bp: Mapped[int] = mapped_column(Integer)
    leverage: Mapped[float] = mapped_column(Float)
    per_enterprise_cap_yuan: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PoolMovement(Base):
    """A change of a pool's balance: deposit (+), claim on a default (−), recovery (+)."""

    __tablename__ = "pool_movements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("risk_pools.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # deposit | claim | recovery
    amount_yuan: Mapped[int] = mapped_column(Integer)  # signed: what the pool's balance changes by
    balance_after_yuan: Mapped[int] = mapped_column(Integer)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    bank: Mapped[str | None] = mapped_column(String(100))
    basis_yuan: Mapped[int] = mapped_column(Integer, default=0)  # the loss or recovery the shares apply to
    bank_share_yuan: Mapped[int] = mapped_column(Integer, default=0)
    guarantor_share_yuan: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WhitelistChange(Base):
    """A change of a bank's whitelist as last computed (added / changed / removed); the cursor is `id`."""

    __tablename__ = "whitelist_changes"
    __table_args__ = (Index("ix_whitelist_changes_bank_product", "bank", "product", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(String(100))
    product: Mapped[str] = mapped_column(String(50))
    uscc: Mapped[str] = mapped_column(String(18))
    change: Mapped[str] = mapped_column(String(10))  # added | changed | removed
    limit_available_yuan: Mapped[int] = mapped_column(Integer, default=0)
    band: Mapped[str | None] = mapped_column(String(20))
    decision_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# ---- department data (issue 13): imports and per-field provenance


class ImportRecord(Base):
    """One stored import of a file (企业数据导入): who sent what, as of when, what was stored.

    `file_sha256` + `department` identify a feed: the same bytes sent again by the same department
    are a repeat (the answer names the import it repeats) and store nothing new."""

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_sha_department", "file_sha256", "department"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    department: Mapped[str | None] = mapped_column(String(40), index=True)  # slug; None: the committee's own
    as_of: Mapped[dt.date] = mapped_column(Date)
    strict: Mapped[bool] = mapped_column(Boolean, default=False)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    fields: Mapped[list[Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)  # header row, skipped columns, problems (truncated)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SnapshotProvenance(Base):
    """Where every field of a snapshot came from: `sources` (department, import, file, as-of date, key)
    and `fields` {field: index into sources}. Kept beside the snapshot so the snapshot row is unchanged."""

    __tablename__ = "snapshot_provenance"
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), primary_key=True)
    import_id: Mapped[str | None] = mapped_column(String(36), index=True)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
