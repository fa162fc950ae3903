"""Loan outcomes reported by partner banks."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import LoanOutcome

__all__ = ["add"]


def add(session: Session, *, actor: str, **fields: Any) -> LoanOutcome:
    """Record a loan outcome reported by a bank."""
    row = LoanOutcome(reported_by=actor, **fields)
    session.add(row)
    session.flush()
    audit.append(session, actor, "outcome.create", "loan_outcome", row.id, dict(fields), bind=[row])
    return row
