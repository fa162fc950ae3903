"""Disputes (异议): filed against one field of a snapshot or a decision, answered within 20 days.

Every insert and update is audited with the row bound (`audit.append(..., bind=[row])`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from parkcredit.errors import Conflict
from parkcredit.store import audit
from parkcredit.store.tables import Dispute

__all__ = [
    "ANSWER_DAYS", "STATUSES", "add", "count_overdue", "disputed_fields", "disputed_fields_of", "get", "open_of",
    "overdue", "page", "resolve",
]  # fmt: skip

ANSWER_DAYS = 20  # 征信业管理条例 art. 25: check and answer in writing within 20 days of receipt
STATUSES = ("open", "corrected", "upheld", "cannot_verify")


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def add(session: Session, *, actor: str, received_at: dt.datetime, **fields: Any) -> Dispute:
    """Record a dispute received at `received_at`; it is due `ANSWER_DAYS` days later."""
    received_at = _utc(received_at)
    row = Dispute(received_at=received_at, due_at=received_at + dt.timedelta(days=ANSWER_DAYS), status="open",
                  filed_by=actor, **fields)  # fmt: skip
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent duplicate (the unique partial index): the transaction is rolled back
        raise Conflict(f"{row.field} of {row.uscc} is already under an open dispute") from None
    audit.append(
        session, actor, "dispute.file", "dispute", row.id,
        {"uscc": row.uscc, "field": row.field, "snapshot_id": row.snapshot_id, "decision_id": row.decision_id,
         "filed_as": row.filed_as, "received_at": row.received_at, "due_at": row.due_at,
         "evidence_sha256": row.evidence_sha256},
        bind=[row],
    )  # fmt: skip
    return row


def get(session: Session, dispute_id: int) -> Dispute | None:
    return session.get(Dispute, dispute_id)


def resolve(
    session: Session, row: Dispute, *, actor: str, status: str, reply: str, corrected_value: Any = None,
    correction_snapshot_id: int | None = None, now: dt.datetime,
) -> Dispute:  # fmt: skip
    """Close an open dispute with its written reply (and the correcting snapshot, when corrected)."""
    row.status, row.reply, row.resolved_by, row.resolved_at = status, reply, actor, now
    row.corrected_value, row.correction_snapshot_id = corrected_value, correction_snapshot_id
    session.flush()
    audit.append(
        session, actor, "dispute.resolve", "dispute", row.id,
        {"uscc": row.uscc, "field": row.field, "status": status, "correction_snapshot_id": correction_snapshot_id,
         "provenance": f"dispute {row.id}" if correction_snapshot_id else None, "late": _utc(now) > _utc(row.due_at)},
        bind=[row],
    )  # fmt: skip
    return row


def page(
    session: Session, *, uscc: str | None = None, status: str | None = None, after_id: int = 0, limit: int = 100
) -> list[Dispute]:
    """Disputes by id (optionally of one enterprise, in one status), paged by `after_id`."""
    q = select(Dispute).where(Dispute.id > after_id).order_by(Dispute.id).limit(limit)
    if uscc is not None:
        q = q.where(Dispute.uscc == uscc)
    if status is not None:
        q = q.where(Dispute.status == status)
    return list(session.scalars(q))


def open_of(session: Session, uscc: str) -> list[Dispute]:
    """The open disputes of one enterprise, oldest first."""
    q = select(Dispute).where(Dispute.uscc == uscc, Dispute.status == "open").order_by(Dispute.id).limit(1000)
    return list(session.scalars(q))


def disputed_fields(session: Session, uscc: str) -> list[dict[str, Any]]:
    """The fields of `uscc` under an open dispute: [{field, dispute_id, received_at, due_at}], oldest first."""
    return [{"field": d.field, "dispute_id": d.id, "received_at": _utc(d.received_at), "due_at": _utc(d.due_at)}
            for d in open_of(session, uscc)]  # fmt: skip


def disputed_fields_of(session: Session, usccs: list[str], *, chunk: int = 500) -> dict[str, list[dict[str, Any]]]:
    """`disputed_fields` of many enterprises in a few queries (a bank's batch): {uscc: [...]} for those with any."""
    out: dict[str, list[dict[str, Any]]] = {}
    wanted = sorted(set(usccs))
    for start in range(0, len(wanted), chunk):
        q = (select(Dispute).where(Dispute.uscc.in_(wanted[start : start + chunk]), Dispute.status == "open")
             .order_by(Dispute.id))  # fmt: skip
        for d in session.scalars(q):
            out.setdefault(d.uscc, []).append({"field": d.field, "dispute_id": d.id, "received_at": _utc(d.received_at),
                                               "due_at": _utc(d.due_at)})  # fmt: skip
    return out


def overdue(session: Session, *, now: dt.datetime, limit: int = 500) -> list[Dispute]:
    """Open disputes past their due date, most overdue first."""
    q = select(Dispute).where(Dispute.status == "open", Dispute.due_at < now).order_by(Dispute.due_at, Dispute.id)
    return list(session.scalars(q.limit(limit)))


def count_overdue(session: Session, *, now: dt.datetime) -> int:
    """How many open disputes are past their due date."""
    q = select(func.count(Dispute.id)).where(Dispute.status == "open", Dispute.due_at < now)
    return int(session.scalar(q) or 0)
