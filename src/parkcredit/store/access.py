"""Who may see what: enterprises' authorizations of banks, and the log of every bank query."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import Authorization, BankQuery

__all__ = [
    "add_authorization", "authorization_ids_in_force", "authorization_in_force", "authorizations_in_force",
    "get_authorization", "log_queries", "log_query", "queries", "revoke",
]  # fmt: skip


def add_authorization(session: Session, *, actor: str, **fields: Any) -> Authorization:
    """Record an enterprise's authorization of a bank."""
    row = Authorization(id=str(uuid.uuid4()), created_by=actor, **fields)
    session.add(row)
    audit.append(
        session, actor, "authorization.create", "authorization", row.id,
        {"uscc": row.uscc, "bank": row.bank, "products": row.products, "valid_from": row.valid_from,
         "valid_to": row.valid_to, "evidence_sha256": row.evidence_sha256},
        bind=[row],
    )  # fmt: skip
    return row


def get_authorization(session: Session, authorization_id: str) -> Authorization | None:
    return session.get(Authorization, authorization_id)


def revoke(session: Session, row: Authorization, *, actor: str) -> Authorization:
    """Set `revoked_at` (authorizations are never deleted); revoking twice keeps the first time."""
    from parkcredit.store.tables import utcnow

    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = utcnow(), actor
        audit.append(
            session,
            actor,
            "authorization.revoke",
            "authorization",
            row.id,
            {"uscc": row.uscc, "bank": row.bank},
            bind=[row],
        )
    return row


def authorization_in_force(
    session: Session, *, uscc: str, bank: str, product: str, today: dt.date
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


def authorizations_of(session: Session, *, uscc: str, limit: int = 500) -> list[Authorization]:
    """The enterprise's authorizations (in force or not), newest first (issue 15: the enterprise's own view)."""
    q = select(Authorization).where(Authorization.uscc == uscc).order_by(Authorization.created_at.desc())
    return list(session.scalars(q.limit(limit)))


def queries_about(session: Session, *, uscc: str, limit: int = 200) -> list[BankQuery]:
    """The banks' queries about one enterprise, newest first (issue 15: which banks queried it and when)."""
    q = select(BankQuery).where(BankQuery.uscc == uscc).order_by(BankQuery.id.desc())
    return list(session.scalars(q.limit(limit)))


def authorizations_in_force(
    session: Session, usccs: list[str], *, bank: str, product: str, today: dt.date, chunk: int = 500
) -> dict[str, Authorization]:
    """`authorization_in_force` of many enterprises at once: uscc -> one authorization in force today."""
    out: dict[str, Authorization] = {}
    for start in range(0, len(usccs), chunk):
        q = select(Authorization).where(
            Authorization.uscc.in_(usccs[start : start + chunk]), Authorization.bank == bank,
            Authorization.revoked_at.is_(None), Authorization.valid_from <= today, Authorization.valid_to >= today,
        )  # fmt: skip
        for a in session.scalars(q):
            if product in a.products:
                out.setdefault(a.uscc, a)
    return out


def authorization_ids_in_force(
    session: Session, usccs: list[str], *, bank: str, product: str, today: dt.date, chunk: int = 500
) -> dict[str, str]:
    """`authorizations_in_force` as uscc -> authorization id (the bank's hot path, issue 18: three Core
    columns instead of ORM rows; the same query and rows, so the same authorization is picked)."""
    out: dict[str, str] = {}
    for start in range(0, len(usccs), chunk):
        q = select(Authorization.id, Authorization.uscc, Authorization.products).where(
            Authorization.uscc.in_(usccs[start : start + chunk]), Authorization.bank == bank,
            Authorization.revoked_at.is_(None), Authorization.valid_from <= today, Authorization.valid_to >= today,
        )  # fmt: skip
        for auth_id, uscc, products in session.execute(q):
            if product in products:
                out.setdefault(uscc, auth_id)
    return out


def authorized_usccs(session: Session, *, bank: str) -> list[str]:
    """Enterprises that authorized `bank`, oldest authorization first."""
    q = select(Authorization.uscc).where(Authorization.bank == bank).order_by(Authorization.created_at)
    return list(session.scalars(q))


def authorized_subquery() -> Any:
    return select(Authorization.uscc)


def log_query(session: Session, **fields: Any) -> BankQuery:
    """Record a bank's query (allowed or refused) and audit it."""
    row = BankQuery(**fields)
    session.add(row)
    session.flush()
    audit.append(
        session, row.key_id, "bank.query", "enterprise", row.uscc,
        {"bank": row.bank, "product": row.product, "allowed": row.allowed, "reason": row.reason,
         "decision_id": row.decision_id, "query_id": row.id},
        bind=[row],
    )  # fmt: skip
    return row


def log_queries(
    session: Session, rows: list[dict[str, Any]], *, key_id: str, bank: str, product: str
) -> list[BankQuery]:
    """Record the lookups of one batch query (issue 14): one row each, bound in ONE audit entry."""
    made = [BankQuery(**fields) for fields in rows]
    session.add_all(made)
    session.flush()
    audit.append(
        session, key_id, "bank.query.batch", "bank", bank,
        {"product": product, "query_ids": [q.id for q in made], "allowed": sum(q.allowed for q in made),
         "refused": sum(not q.allowed for q in made)},
        bind=made,
    )  # fmt: skip
    return made


def queries(
    session: Session, *, bank: str | None, after_id: int = 0, limit: int = 100, newest_first: bool = False,
    offset: int = 0,
) -> list[BankQuery]:  # fmt: skip
    """The query log (of one bank, or all), by id."""
    q = select(BankQuery)
    if newest_first:
        q = q.order_by(BankQuery.id.desc()).offset(offset)
    else:
        q = q.where(BankQuery.id > after_id).order_by(BankQuery.id)
    if bank is not None:
        q = q.where(BankQuery.bank == bank)
    return list(session.scalars(q.limit(limit)))
