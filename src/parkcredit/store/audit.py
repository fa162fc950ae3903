"""The audit log: an append-only hash chain.

Each entry stores `prev_hash` (the previous entry's hash; 64 zeros for the first) and
`hash = sha256(prev_hash + canonical entry)`, where the canonical entry is the sorted-key JSON
of seq, ts, actor, action, object type and id, and the payload's sha256. Editing, deleting or
re-ordering any row breaks the chain at that row; `verify` names the first bad seq.

Appends are serialized, so concurrent writers (threads or worker processes) never fork the chain:
PostgreSQL takes a transaction-level advisory lock (`pg_advisory_xact_lock`, released at commit
or rollback); SQLite write transactions already hold the database write lock (BEGIN IMMEDIATE,
see `db.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from parkcredit.store import binding
from parkcredit.store.tables import AuditEntry, Base, utcnow

__all__ = [
    "GENESIS", "VerifyResult", "append", "at_seq", "canonical", "entries", "entry_hash", "first_entry", "newest",
    "ping",
    "verify",
]  # fmt: skip

GENESIS = "0" * 64
_LOCK_KEY = 0x70617263  # "parc": the advisory-lock id of the chain head


def canonical(obj: Any) -> str:
    """Sorted-key, compact, UTF-8 JSON: the form that is hashed."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def sha256_hex(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def entry_hash(e: AuditEntry) -> str:
    """sha256(prev_hash + canonical entry) of `e`."""
    body = {
        "seq": e.seq,
        "ts": e.ts,
        "actor": e.actor,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "payload_sha256": e.payload_sha256,
    }
    return sha256_hex(e.prev_hash + canonical(body))


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def append(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    payload: dict[str, Any],
    *,
    bind: Sequence[Base] = (),
    bind_refs: Sequence[dict[str, str]] = (),
) -> AuditEntry:
    """Add one entry after the current chain head (inside the caller's transaction).

    `bind` are the fact rows this entry creates or changes: their digests go into the payload's
    `rows` (`store.binding`), so `verify` can tell an edited row from the one the service wrote.
    `bind_refs` are bindings already computed (rows written in bulk, without the ORM).
    """
    _lock_chain(session)
    session.flush()  # the caller's pending rows get their ids (and defaults) before we hash them
    if bind or bind_refs:
        payload = {**payload, "rows": [*(binding.ref(r) for r in bind), *bind_refs]}
    head = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    prev_seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS)
    payload = json.loads(canonical(payload))  # what is stored is exactly what is hashed
    entry = AuditEntry(
        seq=prev_seq + 1,
        ts=utcnow().isoformat(timespec="microseconds"),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        payload=payload,
        payload_sha256=sha256_hex(canonical(payload)),
        prev_hash=prev_hash,
        hash="",
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass
class VerifyResult:
    """Outcome of a chain check: `first_bad_seq` is None when the chain is intact."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_hash: str | None = None


def _rows(session: Session, chunk: int = 5000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify(session: Session) -> VerifyResult:
    """Walk the chain in seq order; report the first entry that was edited, deleted or moved."""
    prev_hash, expected_seq, n = GENESIS, 1, 0
    for e in _rows(session):
        n += 1
        if e.seq != expected_seq:
            return VerifyResult(False, n, expected_seq, f"entry {expected_seq} is missing (next present is {e.seq})")
        if e.payload_sha256 != sha256_hex(canonical(e.payload)):
            return VerifyResult(False, n, e.seq, "payload does not match its sha256 (payload edited)")
        if e.prev_hash != prev_hash:
            return VerifyResult(False, n, e.seq, "prev_hash does not match the previous entry (deleted or re-ordered)")
        if e.hash != entry_hash(e):
            return VerifyResult(False, n, e.seq, "hash does not match the entry's content (entry edited)")
        prev_hash, expected_seq = e.hash, e.seq + 1
    return VerifyResult(True, n, None, None, prev_hash if n else None)


def entries(session: Session, *, after_seq: int = 0, limit: int = 100) -> list[AuditEntry]:
    """Entries in chain order after `after_seq`."""
    q = select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit)
    return list(session.scalars(q))


def newest(session: Session, *, limit: int = 30) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)))


def first_entry(session: Session, *, action: str, object_id: str) -> AuditEntry | None:
    """The first entry of `action` on `object_id` (e.g. the one that created a decision)."""
    q = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.object_id == object_id)
    return session.scalar(q.order_by(AuditEntry.seq).limit(1))


def at_seq(session: Session, seq: int) -> AuditEntry | None:
    return session.scalar(select(AuditEntry).where(AuditEntry.seq == seq)) if seq >= 1 else None


def ping(session: Session) -> None:
    """A cheap read that fails when the database is unreachable or not migrated."""
    session.execute(text("SELECT count(*) FROM audit_log"))
