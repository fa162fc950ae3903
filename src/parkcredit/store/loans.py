"""Loans reported by partner banks, their events and declined applications; the shared exposure.

Every insert and update is bound to the audit chain in the entry that makes it (`audit.append(bind=)`).
Loan writes are serialized (`lock`): the limit check of one bank's disbursement and the exposure
another bank's disbursement adds must not interleave.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.db import chunked
from parkcredit.store.tables import Authorization, Loan, LoanDecline, LoanEvent, WhitelistChange, utcnow

__all__ = [
    "CLOSED", "LIVE", "SERIOUS", "add", "add_decline", "add_event", "add_whitelist_changes", "authorization_on",
    "by_ref", "declines", "events_of", "get", "lock", "outstanding", "outstanding_by", "page", "pool_outstanding",
    "reports_frame", "serious", "authorized_for", "whitelist_changes", "whitelist_cursor", "whitelist_state",
]  # fmt: skip

CLOSED = ("repaid", "written_off")  # no principal at risk any more
SERIOUS = ("overdue_90", "default", "written_off")  # not eligible for a new loan anywhere
LIVE = ("current", "overdue_30", "overdue_90", "default")  # principal still at risk
_LOCK_KEY = 0x6C6F616E  # "loan"


def lock(session: Session) -> None:
    """Serialize loan writes (PostgreSQL: a transaction-level advisory lock; SQLite's write lock already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def authorization_on(session: Session, *, uscc: str, bank: str, product: str, on: dt.date) -> Authorization | None:
    """An authorization of `uscc` for `bank` and `product` in force on `on` (revoked only after that day)."""
    q = select(Authorization).where(
        Authorization.uscc == uscc,
        Authorization.bank == bank,
        Authorization.valid_from <= on,
        Authorization.valid_to >= on,
    )
    for a in session.scalars(q):
        revoked = a.revoked_at
        if product in a.products and (revoked is None or revoked.date() > on):
            return a
    return None


def add(session: Session, *, actor: str, **fields: Any) -> tuple[Loan, LoanEvent]:
    """Record a disbursement: the loan (status current, principal = amount) and its first event."""
    now = utcnow()
    loan = Loan(status="current", principal_outstanding_yuan=fields["amount_yuan"], status_on=fields["disbursed_on"],
                created_by=actor, created_at=now, updated_at=now, **fields)  # fmt: skip
    session.add(loan)
    session.flush()
    event = LoanEvent(loan_id=loan.id, status="current", principal_outstanding_yuan=loan.amount_yuan,
                      recovered_yuan=0, event_on=loan.disbursed_on, reported_by=actor, reported_at=now)  # fmt: skip
    session.add(event)
    audit.append(
        session, actor, "loan.create", "loan", loan.id,
        {"bank": loan.bank, "loan_ref": loan.loan_ref, "uscc": loan.uscc, "product": loan.product,
         "decision_id": loan.decision_id, "amount_yuan": loan.amount_yuan, "disbursed_on": loan.disbursed_on},
        bind=[loan, event],
    )  # fmt: skip
    return loan, event


def add_event(
    session: Session, loan: Loan, *, actor: str, status: str, principal_outstanding_yuan: int, recovered_yuan: int,
    event_on: dt.date, bind: Iterable[Any] = (),
) -> LoanEvent:  # fmt: skip
    """A new status of `loan`; the loan row follows it. `bind`: further rows the same entry binds (pool movements)."""
    now = utcnow()
    event = LoanEvent(loan_id=loan.id, status=status, principal_outstanding_yuan=principal_outstanding_yuan,
                      recovered_yuan=recovered_yuan, event_on=event_on, reported_by=actor, reported_at=now)  # fmt: skip
    session.add(event)
    before = loan.status
    loan.status, loan.principal_outstanding_yuan, loan.status_on, loan.updated_at = (
        status, principal_outstanding_yuan, event_on, now
    )  # fmt: skip
    session.flush()
    audit.append(
        session, actor, "loan.event", "loan", loan.id,
        {"from": before, "to": status, "principal_outstanding_yuan": principal_outstanding_yuan,
         "recovered_yuan": recovered_yuan, "event_on": event_on},
        bind=[loan, event, *bind],
    )  # fmt: skip
    return event


def add_decline(session: Session, *, actor: str, **fields: Any) -> LoanDecline:
    """Record an application the bank declined, with its reason code."""
    row = LoanDecline(created_by=actor, **fields)
    session.add(row)
    session.flush()
    audit.append(
        session, actor, "loan.decline", "enterprise", row.uscc,
        {"bank": row.bank, "product": row.product, "reason_code": row.reason_code, "decline_id": row.id},
        bind=[row],
    )  # fmt: skip
    return row


def get(session: Session, loan_id: int) -> Loan | None:
    return session.get(Loan, loan_id)


def by_ref(session: Session, *, bank: str, loan_ref: str) -> Loan | None:
    return session.scalar(select(Loan).where(Loan.bank == bank, Loan.loan_ref == loan_ref))


def events_of(session: Session, loan_id: int) -> list[LoanEvent]:
    return list(session.scalars(select(LoanEvent).where(LoanEvent.loan_id == loan_id).order_by(LoanEvent.id)))


def page(
    session: Session, *, bank: str | None, uscc: str | None = None, product: str | None = None,
    status: str | None = None, after_id: int = 0, limit: int = 100, newest_first: bool = False,
) -> list[Loan]:  # fmt: skip
    """Loans by id (of one bank, or all), optionally of one enterprise, product or status."""
    q = select(Loan).where(Loan.id > after_id)
    for col, value in ((Loan.bank, bank), (Loan.uscc, uscc), (Loan.product, product), (Loan.status, status)):
        if value is not None:
            q = q.where(col == value)
    return list(session.scalars(q.order_by(Loan.id.desc() if newest_first else Loan.id).limit(limit)))


def declines(session: Session, *, bank: str | None, after_id: int = 0, limit: int = 100) -> list[LoanDecline]:
    q = select(LoanDecline).where(LoanDecline.id > after_id)
    if bank is not None:
        q = q.where(LoanDecline.bank == bank)
    return list(session.scalars(q.order_by(LoanDecline.id).limit(limit)))


def outstanding(
    session: Session, usccs: Iterable[str], product: str, *, exclude_loan: int | None = None
) -> dict[str, int]:
    """Outstanding principal of each enterprise's live loans under `product` at all partner banks."""
    ids = sorted(set(usccs))
    if not ids:
        return {}
    out: dict[str, int] = {}
    for part in chunked(ids):
        q = select(Loan.uscc, func.sum(Loan.principal_outstanding_yuan)).where(
            Loan.uscc.in_(part), Loan.product == product, Loan.status.in_(LIVE)
        )
        if exclude_loan is not None:
            q = q.where(Loan.id != exclude_loan)
        out.update({u: int(v or 0) for u, v in session.execute(q.group_by(Loan.uscc)).all()})
    return out


def serious(session: Session, usccs: Iterable[str]) -> dict[str, Loan]:
    """Per enterprise, its first loan (any product, any bank) at overdue_90, default or written_off."""
    ids = sorted(set(usccs))
    if not ids:
        return {}
    out: dict[str, Loan] = {}
    for part in chunked(ids):
        for loan in session.scalars(
            select(Loan).where(Loan.uscc.in_(part), Loan.status.in_(SERIOUS)).order_by(Loan.id)
        ):
            out.setdefault(loan.uscc, loan)
    return out


def live_positions(
    session: Session, usccs: Iterable[str], product: str, *, exclude_loan: int | None = None
) -> tuple[dict[str, int], dict[str, str]]:
    """`outstanding` and the status of `serious`' loan of each enterprise, in ONE query (the bank's hot path,
    issue 18): ({uscc: outstanding principal under `product`}, {uscc: status of its first serious loan})."""
    ids = sorted(set(usccs))
    owed: dict[str, int] = {}
    worst: dict[str, str] = {}
    statuses = sorted(set(LIVE) | set(SERIOUS))
    for part in chunked(ids):
        q = (select(Loan.id, Loan.uscc, Loan.product, Loan.status, Loan.principal_outstanding_yuan)
             .where(Loan.uscc.in_(part), Loan.status.in_(statuses)).order_by(Loan.id))  # fmt: skip
        for loan_id, uscc, loan_product, status, principal in session.execute(q):
            if status in SERIOUS:
                worst.setdefault(uscc, status)
            if loan_product == product and status in LIVE and loan_id != exclude_loan:
                owed[uscc] = owed.get(uscc, 0) + int(principal or 0)
    return owed, worst


def pool_outstanding(session: Session, pool_id: int, uscc: str | None = None) -> int:
    """Outstanding principal of the live loans drawing on a pool (of one enterprise, or all)."""
    q = select(func.sum(Loan.principal_outstanding_yuan)).where(Loan.pool_id == pool_id, Loan.status.in_(LIVE))
    if uscc is not None:
        q = q.where(Loan.uscc == uscc)
    return int(session.scalar(q) or 0)


def reports_frame(session: Session, product: str | None = None) -> pd.DataFrame:
    """Every event of every (checked) loan, as the outcome reports the performance figures read: bank, uscc,
    product, disbursed_on, status, reported_at, decision_id, disbursed_yuan, id."""
    q = select(
        Loan.bank, Loan.uscc, Loan.product, Loan.disbursed_on, LoanEvent.status, LoanEvent.reported_at,
        Loan.decision_id, Loan.amount_yuan, LoanEvent.id,
    ).join(LoanEvent, LoanEvent.loan_id == Loan.id)  # fmt: skip
    if product is not None:
        q = q.where(Loan.product == product)
    rows = session.execute(q.order_by(LoanEvent.id)).all()
    return pd.DataFrame(rows, columns=["bank", "uscc", "product", "disbursed_on", "status", "reported_at",
                                       "decision_id", "disbursed_yuan", "id"])  # fmt: skip


def outstanding_by(session: Session) -> list[Any]:
    """(bank, product, band, loans, outstanding principal) of the live loans, for the committee's page."""
    q = (
        select(Loan.bank, Loan.product, Loan.band, func.count(Loan.id), func.sum(Loan.principal_outstanding_yuan))
        .where(Loan.status.in_(LIVE))
        .group_by(Loan.bank, Loan.product, Loan.band)
        .order_by(Loan.bank, Loan.product, Loan.band)
    )
    return list(session.execute(q).all())


# ---- the whitelist's cursor state ----------------------------------------------------------------------------------


def authorized_for(session: Session, *, bank: str, product: str, today: dt.date) -> list[str]:
    """Enterprises with an authorization of `bank` for `product` in force today."""
    q = select(Authorization.uscc, Authorization.products).where(
        Authorization.bank == bank, Authorization.revoked_at.is_(None), Authorization.valid_from <= today,
        Authorization.valid_to >= today,
    )  # two columns, not ORM objects: a bank's whitelist reads tens of thousands  # fmt: skip
    return [uscc for uscc, products in session.execute(q) if product in products]


def whitelist_state(session: Session, *, bank: str, product: str) -> dict[str, tuple[int, str | None, str | None]]:
    """The whitelist as last computed: uscc -> (limit available, band, decision id) of each listed enterprise's
    newest change (removed ones left out). Columns, not ORM objects: a bank's list holds tens of thousands."""
    w = WhitelistChange
    newest = select(func.max(w.id)).where(w.bank == bank, w.product == product).group_by(w.uscc)
    q = select(w.uscc, w.change, w.limit_available_yuan, w.band, w.decision_id).where(w.id.in_(newest))
    return {u: (int(limit), band, d) for u, change, limit, band, d in session.execute(q) if change != "removed"}


def add_whitelist_changes(session: Session, *, bank: str, product: str, changes: list[dict[str, Any]]) -> None:
    """Record changes of a bank's whitelist (uscc, change, limit_available_yuan, band, decision_id each) in one
    bulk insert (exempt from binding: derived from bound rows, `binding.EXEMPT`)."""
    if changes:
        now = utcnow()
        session.execute(insert(WhitelistChange), [{"bank": bank, "product": product, "created_at": now, **c}
                                                  for c in changes])  # fmt: skip


def whitelist_cursor(session: Session, *, bank: str, product: str) -> int:
    q = select(func.max(WhitelistChange.id)).where(WhitelistChange.bank == bank, WhitelistChange.product == product)
    return int(session.scalar(q) or 0)


def whitelist_changes(
    session: Session, *, bank: str, product: str, after_id: int, limit: int = 10_000
) -> list[WhitelistChange]:
    q = select(WhitelistChange).where(
        WhitelistChange.bank == bank, WhitelistChange.product == product, WhitelistChange.id > after_id
    )
    return list(session.scalars(q.order_by(WhitelistChange.id).limit(limit)))
