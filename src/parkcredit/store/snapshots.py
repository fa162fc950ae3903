"""Profile snapshots (append-only) and the personal data kept apart from them (`snapshot_pii`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from parkcredit.store import audit, binding
from parkcredit.store.tables import Snapshot, SnapshotPii

__all__ = [
    "PII_FIELDS", "add", "add_many", "any_snapshot", "count_latest", "erase_pii", "get", "latest", "latest_page",
    "of_enterprise", "profile_of", "usccs_without",
]  # fmt: skip

PII_FIELDS = ("legal_rep_name", "legal_rep_id_hash")  # the fields marked `pii` in profile.FIELDS


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _new(session: Session, profile: dict[str, Any], actor: str) -> tuple[Snapshot, SnapshotPii | None]:
    public = {k: v for k, v in profile.items() if k not in PII_FIELDS}
    pii = {k: profile.get(k) for k in PII_FIELDS}
    snap = Snapshot(
        uscc=public["uscc"],
        name=public["name"],
        park_id=public.get("park_id"),
        as_of=dt.date.fromisoformat(public["as_of"]),
        profile=public,
        content_sha256=_sha256(audit.canonical(public)),
        created_by=actor,
    )
    session.add(snap)
    session.flush()
    pii_row = SnapshotPii(snapshot_id=snap.id, **pii) if any(v is not None for v in pii.values()) else None
    if pii_row is not None:
        session.add(pii_row)
    return snap, pii_row


def add(session: Session, *, profile: dict[str, Any], actor: str) -> Snapshot:
    """Store one validated profile (JSON form) as a new snapshot; personal data goes to `snapshot_pii`."""
    snap, pii_row = _new(session, profile, actor)
    audit.append(
        session, actor, "snapshot.create", "snapshot", snap.id, {"uscc": snap.uscc, "sha256": snap.content_sha256},
        bind=[snap, *([pii_row] if pii_row else [])],
    )  # fmt: skip
    return snap


def add_many(
    session: Session, profiles: list[dict[str, Any]], *, actor: str, object_id: str, payload: dict[str, Any]
) -> list[Snapshot]:
    """Store many profiles as snapshots under ONE audit entry (`snapshot.import`) that binds them all."""
    made = [_new(session, p, actor) for p in profiles]
    snaps = [snap for snap, _ in made]
    rows: list[Any] = [r for pair in made for r in pair if r is not None]
    audit.append(session, actor, "snapshot.import", "import", object_id,
                 {**payload, "snapshot_ids": [x.id for x in snaps]}, bind=rows)  # fmt: skip
    return snaps


def get(session: Session, snapshot_id: int) -> Snapshot | None:
    return session.get(Snapshot, snapshot_id)


def profile_of(session: Session, snap: Snapshot) -> dict[str, Any]:
    """The snapshot's profile with its personal data, if not erased."""
    pii = session.get(SnapshotPii, snap.id)
    extra = {k: getattr(pii, k) for k in PII_FIELDS} if pii else dict.fromkeys(PII_FIELDS)
    return {**snap.profile, **extra}


def latest(session: Session, uscc: str) -> Snapshot | None:
    """The newest snapshot of `uscc` (highest id: snapshots are append-only)."""
    return session.scalar(select(Snapshot).where(Snapshot.uscc == uscc).order_by(Snapshot.id.desc()).limit(1))


def of_enterprise(session: Session, uscc: str, *, limit: int = 100) -> list[Snapshot]:
    """Snapshots of `uscc`, newest first."""
    q = select(Snapshot).where(Snapshot.uscc == uscc).order_by(Snapshot.id.desc()).limit(limit)
    return list(session.scalars(q))


def latest_page(session: Session, *, park_id: str | None, after_id: int = 0, limit: int = 1000) -> list[Snapshot]:
    """The newest snapshot of every enterprise (optionally of one park), by id, paged by `after_id`."""
    newest = select(func.max(Snapshot.id)).group_by(Snapshot.uscc)
    if park_id is not None:
        newest = newest.where(Snapshot.park_id == park_id)
    q = select(Snapshot).where(Snapshot.id.in_(newest), Snapshot.id > after_id).order_by(Snapshot.id).limit(limit)
    return list(session.scalars(q))


def count_latest(session: Session, *, park_id: str | None) -> int:
    """How many enterprises (optionally of one park) have a snapshot."""
    q = select(func.count(func.distinct(Snapshot.uscc)))
    if park_id is not None:
        q = q.where(Snapshot.park_id == park_id)
    return int(session.scalar(q) or 0)


def any_snapshot(session: Session) -> bool:
    return session.scalar(select(Snapshot.id).limit(1)) is not None


def usccs_without(session: Session, subquery: Any) -> str | None:
    """The first enterprise (by snapshot id) whose USCC is not in `subquery`."""
    q = select(Snapshot.uscc).where(Snapshot.uscc.not_in(subquery)).order_by(Snapshot.id)
    return session.scalars(q.limit(1)).first()


def erase_pii(session: Session, *, uscc: str, actor: str, legal_basis: str) -> list[int]:
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
        bind_refs=[binding.deleted("snapshot_pii", i) for i in ids],
    )  # fmt: skip
    return ids
