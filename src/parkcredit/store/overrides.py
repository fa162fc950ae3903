"""Committee overrides, kept beside the decision they change (which is never touched)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from parkcredit.errors import InvalidInput
from parkcredit.store import audit
from parkcredit.store.db import chunked
from parkcredit.store.tables import Decision, Override

__all__ = ["add", "of_decisions", "page"]


def add(
    session: Session, decision: Decision, *, eligible: bool, limit_yuan: int, reason_code: str, reason: str, actor: str
) -> Override:
    """A committee override beside `decision`; InvalidInput if it changes nothing."""
    if eligible != decision.eligible:
        direction = "to_eligible" if eligible else "to_ineligible"
    elif limit_yuan > decision.limit_yuan:
        direction = "limit_up"
    elif limit_yuan < decision.limit_yuan:
        direction = "limit_down"
    else:
        raise InvalidInput(("body", "limit_yuan"), "the override changes neither eligibility nor the limit")
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
         "reason_code": reason_code, "reason_sha256": hashlib.sha256(reason.encode()).hexdigest()},
        bind=[row],
    )  # fmt: skip
    return row


def page(session: Session, *, decision_id: str | None = None, after_id: int = 0, limit: int = 1000) -> list[Override]:
    """Overrides by id (optionally of one decision), paged by `after_id`."""
    q = select(Override).where(Override.id > after_id).order_by(Override.id).limit(limit)
    if decision_id is not None:
        q = q.where(Override.decision_id == decision_id)
    return list(session.scalars(q))


def of_decisions(session: Session, decision_ids: list[str]) -> list[Override]:
    out: list[Override] = []
    for part in chunked(decision_ids):
        out += session.scalars(select(Override).where(Override.decision_id.in_(part)))
    return sorted(out, key=lambda o: o.id)


def newest(session: Session, *, limit: int = 500) -> list[Override]:
    return list(session.scalars(select(Override).order_by(Override.id.desc()).limit(limit)))
