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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from parkcredit.store import binding, canonjson
from parkcredit.store.tables import AuditEntry, Base, utcnow

__all__ = [
    "GENESIS", "RowProblem", "VerifyResult", "append", "at_seq", "canonical", "entries", "entry_hash", "first_entry",
    "newest", "ping", "verify",
]  # fmt: skip

GENESIS = "0" * 64
_LOCK_KEY = 0x70617263  # "parc": the advisory-lock id of the chain head


def canonical(obj: Any) -> str:
    """Sorted-key, compact, UTF-8 JSON: the form that is hashed (`canonjson`: orjson, byte-identical to json)."""
    return canonjson.text(obj)


def sha256_hex(text_: str) -> str:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def link_hash(
    prev_hash: str, seq: int, ts: str, actor: str, action: str, object_type: str, object_id: str, payload_sha256: str
) -> str:
    """sha256(prev_hash + canonical entry): the one definition of an entry's hash (`entry_hash`, `link_values`)."""
    body = {"seq": seq, "ts": ts, "actor": actor, "action": action, "object_type": object_type,
            "object_id": object_id, "payload_sha256": payload_sha256}  # fmt: skip
    return sha256_hex(prev_hash + canonical(body))


def entry_hash(e: AuditEntry) -> str:
    """sha256(prev_hash + canonical entry) of `e`."""
    return link_hash(e.prev_hash, e.seq, e.ts, e.actor, e.action, e.object_type, e.object_id, e.payload_sha256)


_HEAD = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)  # built once
_TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]  # a Table (declarative)
_INSERT = insert(_TABLE)


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def _stored_payload(payload: dict[str, Any]) -> tuple[Any, str]:
    """(the payload as stored — parsed back from its canonical text, so what is stored is exactly what is
    hashed —, its sha256). Plain data's canonical text is a fixed point: it is not written twice."""
    body, plain = canonjson.text_plain(payload)
    stored = canonjson.loads(body)
    return stored, sha256_hex(body if plain else canonical(stored))


def append(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    payload: dict[str, Any],
    *,
    bind: Sequence[Base] = (),
    bind_refs: Sequence[Mapping[str, Any]] = (),
) -> AuditEntry:
    """Add one entry after the current chain head (inside the caller's transaction).

    `bind` are the fact rows this entry creates or changes: their digests go into the payload's
    `rows` (`store.binding`), so `verify` can tell an edited row from the one the service wrote.
    `bind_refs` are bindings already computed (rows written in bulk, without the ORM).
    """
    _lock_chain(session)
    if session.new or session.dirty or session.deleted:
        session.flush()  # the caller's pending rows get their ids (and defaults) before we hash them
    if bind or bind_refs:
        payload = {**payload, "rows": [*(binding.ref(r) for r in bind), *bind_refs]}
    conn = session.connection()
    head = conn.execute(_HEAD).first()
    prev_seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS)
    payload, payload_sha256 = _stored_payload(payload)
    entry = AuditEntry(
        seq=prev_seq + 1,
        ts=utcnow().isoformat(timespec="microseconds"),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        payload=payload,
        payload_sha256=payload_sha256,
        prev_hash=prev_hash,
        hash="",
    )
    entry.hash = entry_hash(entry)
    # a Core insert, not the ORM's add + flush (~0.25 ms less an entry, on every write); the entry returned
    # is not in the session — a later read in the transaction loads it from the database like any other
    conn.execute(_INSERT, {c: getattr(entry, c) for c in ENTRY_COLUMNS})
    return entry


@dataclass
class RowProblem:
    """A fact row that does not match what the chain vouches for."""

    table: str
    id: str
    problem: str  # altered | deleted | unbound | inconsistent
    detail: str
    seq: int | None = None  # the entry that last bound the row


@dataclass
class VerifyResult:
    """Outcome of a check: the chain (`first_bad_seq` is None when intact) and every bound row."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_hash: str | None = None
    rows_checked: int = 0
    row_problems: list[RowProblem] = field(default_factory=list)
    row_problems_total: int = 0


MAX_REPORTED = 1000  # row problems listed (all are counted)


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


def _walk(session: Session, bound: dict[tuple[str, str], tuple[str | None, int, Any]]) -> VerifyResult:
    """Check the chain; the first bad entry is reported, and the walk goes on to the end so the rows
    bound by later entries are still checked against them (a broken link does not make them unbound)."""
    prev_hash, expected_seq, n = GENESIS, 1, 0
    bad: tuple[int, str] | None = None
    for e in _rows(session):
        n += 1
        problem = None
        if e.seq != expected_seq:
            problem = (expected_seq, f"entry {expected_seq} is missing (next present is {e.seq})")
        elif e.payload_sha256 != sha256_hex(canonical(e.payload)):
            problem = (e.seq, "payload does not match its sha256 (payload edited)")
        elif e.prev_hash != prev_hash:
            problem = (e.seq, "prev_hash does not match the previous entry (deleted or re-ordered)")
        elif e.hash != entry_hash(e):
            problem = (e.seq, "hash does not match the entry's content (entry edited)")
        if problem is not None and bad is None:
            bad = problem
        for r in (e.payload.get("rows") or []) if isinstance(e.payload, dict) else []:
            bound[(r["table"], r["id"])] = (r["sha256"], e.seq, r.get("form", 1))
        prev_hash, expected_seq = e.hash, e.seq + 1
    if bad is not None:
        return VerifyResult(False, n, bad[0], bad[1])
    return VerifyResult(True, n, None, None, prev_hash if n else None)


def verify(session: Session, *, rows: bool = True) -> VerifyResult:
    """Walk the chain in seq order, then recompute every bound row's digest (`store.binding`).

    The chain check names the first entry edited, deleted or moved. The row check reports, by table
    and id, each row edited since the entry that last bound it (`altered`), each bound row that is
    gone (`deleted`), each row no entry binds (`unbound`: inserted behind the service's back), and
    each decision whose columns disagree with its own record (`inconsistent`).
    """
    bound: dict[tuple[str, str], tuple[str | None, int, Any]] = {}
    result = _walk(session, bound)
    if not rows:
        return result
    problems: list[RowProblem] = []
    conn = session.connection()
    for table in binding.bound_tables():
        pk = list(table.primary_key.columns)
        stream = conn.execute(select(table).order_by(*pk).execution_options(stream_results=True))
        for part in stream.mappings().partitions(2000):
            for row in part:
                row_id = ",".join(str(row[c.name]) for c in pk)
                result.rows_checked += 1
                want = bound.pop((table.name, row_id), None)
                if want is None:
                    problems.append(RowProblem(table.name, row_id, "unbound", "no audit entry created this row"))
                elif want[0] is None:
                    problems.append(
                        RowProblem(
                            table.name,
                            row_id,
                            "deleted",
                            f"the row was erased (entry {want[1]}) but is present again",
                            want[1],
                        )
                    )
                elif not binding.matches(row, table.name, want[0], want[2]):
                    problems.append(
                        RowProblem(
                            table.name,
                            row_id,
                            "altered",
                            f"its content differs from what entry {want[1]} bound",
                            want[1],
                        )
                    )
                if (issue := binding.inconsistency(table.name, row)) is not None:
                    problems.append(RowProblem(table.name, row_id, "inconsistent", issue))
    names = {t.name for t in binding.bound_tables()}
    for (table_name, row_id), (sha, seq, _) in bound.items():
        if sha is not None and table_name in names:
            problems.append(RowProblem(table_name, row_id, "deleted", f"entry {seq} bound this row; it is gone", seq))
    result.row_problems_total = len(problems)
    result.row_problems = problems[:MAX_REPORTED]
    result.ok = result.ok and not problems
    return result


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


CHAIN_LOCK_KEY = _LOCK_KEY  # the advisory-lock id of the chain head (PostgreSQL), for writers without a Session
ENTRY_COLUMNS = ("seq", "ts", "actor", "action", "object_type", "object_id", "payload", "payload_sha256",
                 "prev_hash", "hash")  # fmt: skip
EntrySpec = tuple[str, str, str, "str | int", dict[str, Any], Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class Prepared:
    """An entry's parts that do not depend on the chain head (made before the chain lock is taken)."""

    actor: str
    action: str
    object_type: str
    object_id: str
    payload: Any  # canonical: what is stored is exactly what is hashed
    payload_sha256: str


def prepare_entries(entries: Sequence[EntrySpec]) -> list[Prepared]:
    """Each `(actor, action, object_type, object_id, payload, bind_refs)` as `append` makes its payload: the
    bindings in `rows`, canonicalised, hashed."""
    out: list[Prepared] = []
    for actor, action, object_type, object_id, payload, bind_refs in entries:
        if bind_refs:
            payload = {**payload, "rows": list(bind_refs)}
        stored, sha = _stored_payload(payload)
        out.append(Prepared(actor, action, object_type, str(object_id), stored, sha))
    return out


def link_values(prev_seq: int, prev_hash: str, prepared: Sequence[Prepared]) -> list[tuple[Any, ...]]:
    """The entries that follow the head (`prev_seq`, `prev_hash`), in order, as plain rows in `ENTRY_COLUMNS` order
    (the payload as prepared) — the seq, time, link and hash `append` would give them, without an ORM object
    each: what a writer holding the chain lock inserts itself, in the same transaction. One clock read for the
    batch (its entries are linked at once)."""
    ts = utcnow().isoformat(timespec="microseconds")
    out: list[tuple[Any, ...]] = []
    for p in prepared:
        seq = prev_seq + 1
        digest = link_hash(prev_hash, seq, ts, p.actor, p.action, p.object_type, p.object_id, p.payload_sha256)
        out.append((seq, ts, p.actor, p.action, p.object_type, p.object_id, p.payload, p.payload_sha256, prev_hash,
                    digest))  # fmt: skip
        prev_seq, prev_hash = seq, digest
    return out
