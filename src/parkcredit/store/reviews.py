"""Human review of an automated refusal: requests in the committee's queue and their outcome; audited, bound."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from parkcredit.errors import Conflict
from parkcredit.store import audit
from parkcredit.store.tables import Override, ReviewRequest

__all__ = ["add", "decide", "get", "override_of", "page", "pending_for"]


def add(session: Session, *, actor: str, **fields: Any) -> ReviewRequest:
    """Put a review request into the committee's queue."""
    row = ReviewRequest(requested_by=actor, status="pending", **fields)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent duplicate (the unique partial index): the transaction is rolled back
        raise Conflict(f"a review of decision {row.decision_id} is already pending") from None
    audit.append(
        session, actor, "review.request", "review", row.id,
        {"uscc": row.uscc, "decision_id": row.decision_id, "requested_as": row.requested_as},
        bind=[row],
    )  # fmt: skip
    return row


def get(session: Session, review_id: int) -> ReviewRequest | None:
    return session.get(ReviewRequest, review_id)


def pending_for(session: Session, decision_id: str) -> ReviewRequest | None:
    q = select(ReviewRequest).where(ReviewRequest.decision_id == decision_id, ReviewRequest.status == "pending")
    return session.scalars(q.limit(1)).first()


def decide(
    session: Session, row: ReviewRequest, *, actor: str, status: str, reason: str, override_id: int | None,
    now: dt.datetime,
) -> ReviewRequest:  # fmt: skip
    """Record the review's outcome: `overridden` (with the override) or `upheld`, and the written reason."""
    row.status, row.outcome_reason, row.override_id, row.decided_by, row.decided_at = (
        status, reason, override_id, actor, now
    )  # fmt: skip
    session.flush()
    audit.append(
        session, actor, "review.decide", "review", row.id,
        {"uscc": row.uscc, "decision_id": row.decision_id, "status": status, "override_id": override_id},
        bind=[row],
    )  # fmt: skip
    return row


def page(
    session: Session, *, uscc: str | None = None, status: str | None = None, after_id: int = 0, limit: int = 100
) -> list[ReviewRequest]:
    """Review requests by id (optionally of one enterprise, in one status), paged by `after_id`."""
    q = select(ReviewRequest).where(ReviewRequest.id > after_id).order_by(ReviewRequest.id).limit(limit)
    if uscc is not None:
        q = q.where(ReviewRequest.uscc == uscc)
    if status is not None:
        q = q.where(ReviewRequest.status == status)
    return list(session.scalars(q))


def override_of(session: Session, row: ReviewRequest) -> Override | None:
    """The override a review ended in, if any."""
    return session.get(Override, row.override_id) if row.override_id is not None else None
