"""Repositories: the queries and writes the service and CLI need, each inside the caller's session.

Every write appends an audit entry in the same transaction, so the log and the data commit
together or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from sqlalchemy import delete, event, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import (
    Authorization,
    BankQuery,
    Decision,
    Job,
    LoanOutcome,
    Override,
    RuleSetVersion,
    Snapshot,
    SnapshotPii,
    utcnow,
)

__all__ = [
    "PII_FIELDS",
    "ImmutableRuleSet",
    "NotPermitted",
    "StoreConflict",
    "add_draft",
    "add_override",
    "approve_ruleset",
    "erase_pii",
    "latest_published",
    "list_overrides",
    "list_rulesets",
    "publish_ruleset",
    "replace_draft",
    "retire_ruleset",
    "ruleset_in_force",
    "seed_rulesets",
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


def ruleset_version(
    session: Session, product: str, version: str, content_hash: str, text: str, effective_from: dt.date | None = None
) -> RuleSetVersion:
    """The stored row of a rule set, inserted on first use (concurrent inserts are tolerated).

    Decisions use published versions, which are already stored; a row inserted here (a rule set
    decided with but not in the store) is recorded as published, since a decision used it.
    """
    q = select(RuleSetVersion).where(RuleSetVersion.content_hash == content_hash)
    row = session.scalar(q)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = RuleSetVersion(
                product=product, version=version, content_hash=content_hash, text=text, status="published",
                effective_from=effective_from or _effective_from_text(text), source="stored on use",
                published_by="system", published_at=utcnow(),
            )  # fmt: skip
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


# -- governance: rule-set lifecycle, overrides, erasure of personal data ---------------------------
#
# StoreConflict -> HTTP 409, NotPermitted -> HTTP 403 (mapped by the governance router).

RULESET_STATES = ("draft", "approved", "published", "retired")
_FROZEN = ("text", "content_hash", "product", "version", "effective_from")


class StoreConflict(Exception):
    """The request conflicts with the stored state (a published version cannot change, ...)."""


class NotPermitted(Exception):
    """The caller may not do this to this object (someone else's draft, ...)."""


class ImmutableRuleSet(StoreConflict):
    """An attempt to change or delete an approved, published or retired rule-set version."""


def _effective_from_text(text: str) -> dt.date:
    import yaml

    try:
        value = (yaml.safe_load(text) or {}).get("effective_from")
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except (yaml.YAMLError, ValueError, AttributeError):
        return dt.date(1970, 1, 1)


@event.listens_for(Session, "before_flush")
def _guard_rulesets(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse, in code, any change of a non-draft rule set's text or identity, and its deletion."""
    for obj in session.dirty:
        if not isinstance(obj, RuleSetVersion):
            continue
        state = inspect(obj)
        hist = state.attrs.status.history
        old_status = hist.deleted[0] if hist.deleted else obj.status
        if old_status != "draft" and any(state.attrs[name].history.has_changes() for name in _FROZEN):
            raise ImmutableRuleSet(f"rule set {obj.id} is {old_status}: its text and identity cannot change")
    for obj in session.deleted:
        if isinstance(obj, RuleSetVersion) and obj.status != "draft":
            raise ImmutableRuleSet(f"rule set {obj.id} is {obj.status}: it is kept, never deleted")


def _ruleset_payload(row: RuleSetVersion, **extra: Any) -> dict[str, Any]:
    return {
        "product": row.product, "version": row.version, "hash": row.content_hash, "status": row.status,
        "effective_from": row.effective_from, "text_sha256": sha256_hex(row.text), **extra,
    }  # fmt: skip


def list_rulesets(session: Session, product: str | None = None, status: str | None = None) -> list[RuleSetVersion]:
    """Rule-set versions, by product then id."""
    q = select(RuleSetVersion).order_by(RuleSetVersion.product, RuleSetVersion.id)
    if product is not None:
        q = q.where(RuleSetVersion.product == product)
    if status is not None:
        q = q.where(RuleSetVersion.status == status)
    return list(session.scalars(q))


def ruleset_in_force(session: Session, product: str, as_of: dt.date) -> RuleSetVersion | None:
    """The published version of `product` in force on `as_of` (latest effective_from <= as_of).

    A snapshot dated before the product's first published version is decided by that first
    version (there was no earlier rule); None only when the product has no published version.
    """
    base = select(RuleSetVersion).where(RuleSetVersion.product == product, RuleSetVersion.status == "published")
    row = session.scalar(
        base.where(RuleSetVersion.effective_from <= as_of)
        .order_by(RuleSetVersion.effective_from.desc(), RuleSetVersion.id.desc())
        .limit(1)
    )
    if row is None:
        row = session.scalar(base.order_by(RuleSetVersion.effective_from, RuleSetVersion.id).limit(1))
    return row


def latest_published(session: Session) -> dict[str, RuleSetVersion]:
    """Product -> its published version with the latest effective date."""
    out: dict[str, RuleSetVersion] = {}
    q = select(RuleSetVersion).where(RuleSetVersion.status == "published")
    for row in session.scalars(q.order_by(RuleSetVersion.effective_from, RuleSetVersion.id)):
        out[row.product] = row
    return out


def seed_rulesets(session: Session, rulesets: list[Any], actor: str = "system") -> list[RuleSetVersion]:
    """Store bundled rule sets (`RuleSet`s) as the first published versions of products the store lacks.

    Idempotent. A product that already has versions is left alone: a changed bundled file is not
    published behind the approver's back (submit it as a draft).
    """
    added = []
    for rs in rulesets:
        if session.scalar(select(RuleSetVersion.id).where(RuleSetVersion.product == rs.product).limit(1)):
            continue
        now = utcnow()
        try:
            with session.begin_nested():
                row = RuleSetVersion(
                    product=rs.product, version=rs.version, content_hash=rs.content_hash, text=rs.text,
                    status="published", effective_from=rs.spec.effective_from, source=f"bundled:{rs.source}",
                    note="bundled first version", created_by=actor, approved_by=actor, approved_at=now,
                    published_by=actor, published_at=now,
                )  # fmt: skip
                session.add(row)
        except IntegrityError:  # another worker seeded it first
            continue
        audit.append(session, actor, "ruleset.seed", "ruleset", row.id, _ruleset_payload(row, source=row.source))
        added.append(row)
    return added


def add_draft(
    session: Session, *, product: str, version: str, content_hash: str, text: str, effective_from: dt.date,
    source: str, note: str, actor: str,
) -> RuleSetVersion:  # fmt: skip
    """Store a checked rule set as a draft; 409 if the same content is already stored."""
    same = session.scalar(select(RuleSetVersion).where(RuleSetVersion.content_hash == content_hash))
    if same is not None:
        raise StoreConflict(
            f"the same rule set is already stored as version {same.id} ({same.product} v{same.version}, {same.status})"
        )
    row = RuleSetVersion(
        product=product, version=version, content_hash=content_hash, text=text, status="draft",
        effective_from=effective_from, source=source[:200], note=note, created_by=actor,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.append(session, actor, "ruleset.draft", "ruleset", row.id, _ruleset_payload(row, note=note))
    return row


def replace_draft(
    session: Session, row: RuleSetVersion, *, product: str, version: str, content_hash: str, text: str,
    effective_from: dt.date, source: str, note: str, actor: str,
) -> RuleSetVersion:  # fmt: skip
    """Replace a draft's text (its author only); anything past draft is immutable (409)."""
    if row.status != "draft":
        raise ImmutableRuleSet(f"rule set {row.id} is {row.status}: it cannot change; submit a new draft")
    if row.created_by != actor:
        raise NotPermitted(f"only the author ({row.created_by}) may edit draft {row.id}; submit your own draft")
    same = session.scalar(select(RuleSetVersion).where(RuleSetVersion.content_hash == content_hash))
    if same is not None and same.id != row.id:
        raise StoreConflict(f"the same rule set is already stored as version {same.id} ({same.status})")
    row.product, row.version, row.content_hash, row.text = product, version, content_hash, text
    row.effective_from, row.source, row.note = effective_from, source[:200], note
    audit.append(session, actor, "ruleset.edit", "ruleset", row.id, _ruleset_payload(row, note=note))
    return row


def approve_ruleset(session: Session, row: RuleSetVersion, actor: str, note: str = "") -> RuleSetVersion:
    """draft -> approved, by a key other than the author's (maker-checker)."""
    if row.status != "draft":
        raise StoreConflict(f"rule set {row.id} is {row.status}; only a draft can be approved")
    if row.created_by == actor:
        raise StoreConflict(f"maker-checker: the author ({actor}) cannot approve their own draft {row.id}")
    row.status, row.approved_by, row.approved_at = "approved", actor, utcnow()
    audit.append(session, actor, "ruleset.approve", "ruleset", row.id, _ruleset_payload(row, note=note))
    return row


def publish_ruleset(session: Session, row: RuleSetVersion, actor: str) -> RuleSetVersion:
    """approved -> published, in force from its effective date (by a key other than the author's)."""
    if row.status != "approved":
        raise StoreConflict(f"rule set {row.id} is {row.status}; only an approved rule set can be published")
    if row.created_by == actor:
        raise StoreConflict(f"maker-checker: the author ({actor}) cannot publish their own rule set {row.id}")
    clash = session.scalar(
        select(RuleSetVersion).where(
            RuleSetVersion.product == row.product,
            RuleSetVersion.status == "published",
            RuleSetVersion.effective_from == row.effective_from,
        )
    )
    if clash is not None:
        raise StoreConflict(
            f"version {clash.id} ({clash.product} v{clash.version}) is already published effective "
            f"{clash.effective_from}: retire it first or choose another effective_from"
        )
    row.status, row.published_by, row.published_at = "published", actor, utcnow()
    audit.append(session, actor, "ruleset.publish", "ruleset", row.id, _ruleset_payload(row))
    return row


def retire_ruleset(session: Session, row: RuleSetVersion, actor: str, reason: str) -> RuleSetVersion:
    """-> retired (kept for replay); the last published version of a product cannot be retired."""
    if row.status == "retired":
        raise StoreConflict(f"rule set {row.id} is already retired")
    if row.status == "published":
        others = session.scalar(
            select(func.count(RuleSetVersion.id)).where(
                RuleSetVersion.product == row.product,
                RuleSetVersion.status == "published",
                RuleSetVersion.id != row.id,
            )
        )
        if not others:
            raise StoreConflict(
                f"rule set {row.id} is the only published version of {row.product}: publish its successor first"
            )
    before = row.status
    row.status, row.retired_by, row.retired_at, row.retire_reason = "retired", actor, utcnow(), reason
    audit.append(session, actor, "ruleset.retire", "ruleset", row.id, _ruleset_payload(row, was=before, reason=reason))
    return row


def add_override(
    session: Session, decision: Decision, *, eligible: bool, limit_yuan: int, reason_code: str, reason: str, actor: str
) -> Override:
    """A committee override beside `decision` (which is not touched); ValueError if nothing changes."""
    if eligible != decision.eligible:
        direction = "to_eligible" if eligible else "to_ineligible"
    elif limit_yuan > decision.limit_yuan:
        direction = "limit_up"
    elif limit_yuan < decision.limit_yuan:
        direction = "limit_down"
    else:
        raise ValueError("the override changes neither eligibility nor the limit")
    row = Override(
        decision_id=decision.id, uscc=decision.uscc, product=decision.product, eligible=eligible,
        limit_yuan=limit_yuan, reason_code=reason_code, reason=reason, direction=direction,
        original_eligible=decision.eligible, original_limit_yuan=decision.limit_yuan, created_by=actor,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.append(
        session, actor, "decision.override", "decision", decision.id,
        {"override_id": row.id, "direction": direction, "from": {"eligible": decision.eligible,
         "limit_yuan": decision.limit_yuan}, "to": {"eligible": eligible, "limit_yuan": limit_yuan},
         "reason_code": reason_code, "reason_sha256": sha256_hex(reason)},
    )  # fmt: skip
    return row


def list_overrides(
    session: Session, decision_id: str | None = None, after_id: int = 0, limit: int = 1000
) -> list[Override]:
    """Overrides by id (optionally of one decision), paged by `after_id`."""
    q = select(Override).where(Override.id > after_id).order_by(Override.id).limit(limit)
    if decision_id is not None:
        q = q.where(Override.decision_id == decision_id)
    return list(session.scalars(q))


def erase_pii(session: Session, uscc: str, actor: str, legal_basis: str) -> list[int]:
    """Erase the legal representative's personal data of every snapshot of `uscc`; the snapshot ids.

    Snapshots, decisions and the audit chain keep only hashes of the public profile, so replay
    and `audit verify` are unaffected. The audit entry names the fields erased, never their values.
    """
    ids = list(
        session.scalars(
            select(SnapshotPii.snapshot_id)
            .join(Snapshot, Snapshot.id == SnapshotPii.snapshot_id)
            .where(Snapshot.uscc == uscc)
            .order_by(SnapshotPii.snapshot_id)
        )
    )
    if not ids:
        return []
    session.execute(delete(SnapshotPii).where(SnapshotPii.snapshot_id.in_(ids)))
    audit.append(
        session, actor, "pii.erase", "enterprise", uscc,
        {"snapshot_ids": ids, "fields": list(PII_FIELDS), "legal_basis": legal_basis},
    )  # fmt: skip
    return ids
