"""Credit events: negative records of an enterprise and their repair (信用修复); audited, rows bound."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import CreditEvent

__all__ = ["add", "get", "of_enterprise", "repair"]

MAX_EVENTS = 5000  # of one enterprise: far above any real record, a bound on the work of one derivation


def add(session: Session, *, actor: str, **fields: Any) -> CreditEvent:
    """Record one negative event."""
    row = CreditEvent(recorded_by=actor, **fields)
    session.add(row)
    session.flush()
    audit.append(
        session, actor, "credit_event.record", "credit_event", row.id,
        {"uscc": row.uscc, "kind": row.kind, "occurred_on": row.occurred_on, "severity": row.severity,
         "reference": row.reference},
        bind=[row],
    )  # fmt: skip
    return row


def get(session: Session, event_id: int) -> CreditEvent | None:
    return session.get(CreditEvent, event_id)


def repair(
    session: Session, row: CreditEvent, *, actor: str, repaired_on: dt.date, evidence_ref: str,
    evidence_sha256: str | None, now: dt.datetime,
) -> CreditEvent:  # fmt: skip
    """Record the repair of `row` (it stops counting from `repaired_on`)."""
    row.repaired_on, row.repair_evidence_ref, row.repair_evidence_sha256 = repaired_on, evidence_ref, evidence_sha256
    row.repaired_by, row.repaired_at = actor, now
    session.flush()
    audit.append(
        session, actor, "credit_event.repair", "credit_event", row.id,
        {"uscc": row.uscc, "kind": row.kind, "repaired_on": repaired_on, "evidence_sha256": evidence_sha256},
        bind=[row],
    )  # fmt: skip
    return row


def of_enterprise(session: Session, uscc: str) -> list[CreditEvent]:
    """The enterprise's events, oldest first."""
    q = select(CreditEvent).where(CreditEvent.uscc == uscc).order_by(CreditEvent.occurred_on, CreditEvent.id)
    return list(session.scalars(q.limit(MAX_EVENTS)))
