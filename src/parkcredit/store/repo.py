"""Repositories: the queries and writes the service and CLI need, each inside the caller's session.

Every write appends an audit entry in the same transaction, so the log and the data commit
together or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import (
    Authorization,
    BankQuery,
    Decision,
    Job,
    LoanOutcome,
    RuleSetVersion,
    Snapshot,
    SnapshotPii,
    utcnow,
)

__all__ = [
    "PII_FIELDS",
    "add_authorization",
    "add_decision",
    "add_outcome",
    "add_snapshot",
    "authorization_in_force",
    "latest_decision",
    "latest_snapshot",
    "latest_snapshots",
    "log_bank_query",
    "profile_of",
    "revoke_authorization",
    "ruleset_version",
    "snapshots_of",
]

PII_FIELDS = ("legal_rep_name", "legal_rep_id_hash")  # the fields marked `pii` in profile.FIELDS


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_snapshot(session: Session, profile: dict[str, Any], actor: str, *, audit_entry: bool = True) -> Snapshot:
    """Store one validated profile (JSON form) as a new snapshot; personal data goes to `snapshot_pii`."""
    public = {k: v for k, v in profile.items() if k not in PII_FIELDS}
    pii = {k: profile.get(k) for k in PII_FIELDS}
    snap = Snapshot(
        uscc=public["uscc"],
        name=public["name"],
        park_id=public.get("park_id"),
        as_of=dt.date.fromisoformat(public["as_of"]),
        profile=public,
        content_sha256=sha256_hex(audit.canonical(public)),
        created_by=actor,
    )
    session.add(snap)
    session.flush()
    if any(v is not None for v in pii.values()):
        session.add(SnapshotPii(snapshot_id=snap.id, **pii))
    if audit_entry:
        audit.append(
            session, actor, "snapshot.create", "snapshot", snap.id, {"uscc": snap.uscc, "sha256": snap.content_sha256}
        )
    return snap


def profile_of(session: Session, snap: Snapshot) -> dict[str, Any]:
    """The snapshot's profile with its personal data, if not erased."""
    pii = session.get(SnapshotPii, snap.id)
    extra = {k: getattr(pii, k) for k in PII_FIELDS} if pii else {k: None for k in PII_FIELDS}
    return {**snap.profile, **extra}


def latest_snapshot(session: Session, uscc: str) -> Snapshot | None:
    """The newest snapshot of `uscc` (highest id: snapshots are append-only)."""
    return session.scalar(select(Snapshot).where(Snapshot.uscc == uscc).order_by(Snapshot.id.desc()).limit(1))


def snapshots_of(session: Session, uscc: str, limit: int = 100) -> list[Snapshot]:
    """Snapshots of `uscc`, newest first."""
    q = select(Snapshot).where(Snapshot.uscc == uscc).order_by(Snapshot.id.desc()).limit(limit)
    return list(session.scalars(q))


def latest_snapshots(session: Session, park_id: str | None, after_id: int = 0, limit: int = 1000) -> list[Snapshot]:
    """The newest snapshot of every enterprise (optionally of one park), by id, paged by `after_id`."""
    newest = select(func.max(Snapshot.id)).group_by(Snapshot.uscc)
    if park_id is not None:
        newest = newest.where(Snapshot.park_id == park_id)
    q = select(Snapshot).where(Snapshot.id.in_(newest), Snapshot.id > after_id).order_by(Snapshot.id).limit(limit)
    return list(session.scalars(q))


def count_latest_snapshots(session: Session, park_id: str | None) -> int:
    q = select(func.count(func.distinct(Snapshot.uscc)))
    if park_id is not None:
        q = q.where(Snapshot.park_id == park_id)
    return int(session.scalar(q) or 0)


def ruleset_version(session: Session, product: str, version: str, content_hash: str, text: str) -> RuleSetVersion:
    """The stored row of a rule set, inserted on first use (concurrent inserts are tolerated)."""
    q = select(RuleSetVersion).where(RuleSetVersion.content_hash == content_hash)
    row = session.scalar(q)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = RuleSetVersion(product=product, version=version, content_hash=content_hash, text=text)
            session.add(row)
    except IntegrityError:
        row = session.scalar(q)
        assert row is not None
        return row
    audit.append(
        session,
        "system",
        "ruleset.store",
        "ruleset",
        row.id,
        {"product": product, "version": version, "hash": content_hash},
    )
    return row


def add_decision(
    session: Session, record: dict[str, Any], canonical_text: str, snapshot_id: int, rs: RuleSetVersion, actor: str
) -> Decision:
    """Store a decision record (already carrying its decision_id) and audit it."""
    model = record.get("model") or {}
    d = Decision(
        id=record["decision_id"],
        uscc=record["uscc"],
        product=record["product"],
        snapshot_id=snapshot_id,
        ruleset_id=rs.id,
        ruleset_version=rs.version,
        ruleset_hash=rs.content_hash,
        model_version=model.get("version"),
        model_status=str(model.get("status", "none"))[:200],
        eligible=bool(record["eligible"]),
        limit_yuan=int(record["limit_yuan"]),
        band=str(record["band"]),
        total_score=float(record["total_score"]),
        valid_until=dt.date.fromisoformat(record["valid_until"]) if record.get("valid_until") else None,
        record=canonical_text,
        record_sha256=sha256_hex(canonical_text),
        created_by=actor,
    )
    session.add(d)
    audit.append(session, actor, "decision.create", "decision", d.id, {"uscc": d.uscc, "sha256": d.record_sha256})
    return d


def latest_decision(session: Session, uscc: str, product: str) -> Decision | None:
    """The newest decision of `uscc` for `product`."""
    q = (
        select(Decision)
        .where(Decision.uscc == uscc, Decision.product == product)
        .order_by(Decision.created_at.desc(), Decision.id)
        .limit(1)
    )
    return session.scalar(q)


def latest_decisions_of(session: Session, uscc: str, limit: int = 20) -> list[Decision]:
    q = select(Decision).where(Decision.uscc == uscc).order_by(Decision.created_at.desc()).limit(limit)
    return list(session.scalars(q))


def add_authorization(session: Session, actor: str, **fields: Any) -> Authorization:
    """Record an enterprise's authorization of a bank."""
    row = Authorization(id=str(uuid.uuid4()), created_by=actor, **fields)
    session.add(row)
    audit.append(
        session,
        actor,
        "authorization.create",
        "authorization",
        row.id,
        {
            "uscc": row.uscc,
            "bank": row.bank,
            "products": row.products,
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
            "evidence_sha256": row.evidence_sha256,
        },
    )
    return row


def revoke_authorization(session: Session, row: Authorization, actor: str) -> Authorization:
    """Set `revoked_at` (authorizations are never deleted); revoking twice keeps the first time."""
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = utcnow(), actor
        audit.append(
            session, actor, "authorization.revoke", "authorization", row.id, {"uscc": row.uscc, "bank": row.bank}
        )
    return row


def authorization_in_force(
    session: Session, uscc: str, bank: str, product: str, today: dt.date
) -> Authorization | None:
    """An authorization of `uscc` for `bank` and `product` valid today and not revoked, or None."""
    q = select(Authorization).where(
        Authorization.uscc == uscc,
        Authorization.bank == bank,
        Authorization.revoked_at.is_(None),
        Authorization.valid_from <= today,
        Authorization.valid_to >= today,
    )
    return next((a for a in session.scalars(q) if product in a.products), None)


def log_bank_query(session: Session, **fields: Any) -> BankQuery:
    """Record a bank's query (allowed or refused) and audit it."""
    row = BankQuery(**fields)
    session.add(row)
    session.flush()
    audit.append(
        session,
        row.key_id,
        "bank.query",
        "enterprise",
        row.uscc,
        {
            "bank": row.bank,
            "product": row.product,
            "allowed": row.allowed,
            "reason": row.reason,
            "decision_id": row.decision_id,
            "query_id": row.id,
        },
    )
    return row


def add_outcome(session: Session, actor: str, **fields: Any) -> LoanOutcome:
    """Record a loan outcome reported by a bank."""
    row = LoanOutcome(reported_by=actor, **fields)
    session.add(row)
    session.flush()
    audit.append(session, actor, "outcome.create", "loan_outcome", row.id, {k: v for k, v in fields.items()})
    return row


def add_job(session: Session, kind: str, params: dict[str, Any], actor: str) -> Job:
    """A queued job row."""
    job = Job(id=str(uuid.uuid4()), kind=kind, status="queued", params=params, created_by=actor)
    session.add(job)
    audit.append(session, actor, "job.create", "job", job.id, {"kind": kind, "params": params})
    return job
