"""Authorizations of banks by enterprises, loan outcomes reported by banks, the bank query log."""

from __future__ import annotations

import datetime as dt

from parkcredit.app import schemas as s
from parkcredit.app import views
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.app.loans import outcome_alias
from parkcredit.errors import InvalidInput, NotFound
from parkcredit.store import access
from parkcredit.store.tables import BankQuery

__all__ = ["authorize", "bank_queries", "check_validity", "query_log", "report_outcome", "revoke"]


def check_validity(ctx: AppContext, valid_from: dt.date, valid_to: dt.date, loc: tuple[str, ...] = ("body",)) -> None:
    """Refuse an authorization period that cannot be meant: valid_to before valid_from, or later than
    `Settings.authorization_horizon_years` from today (an authorization "until 9999-12-31")."""
    if valid_to < valid_from:
        raise InvalidInput((*loc, "valid_to"), f"valid_to {valid_to} is before valid_from {valid_from}")
    years = ctx.settings.authorization_horizon_years
    today = dt.datetime.now(dt.UTC).date()
    try:
        horizon = today.replace(year=today.year + years)
    except ValueError:  # 29 February
        horizon = today.replace(year=today.year + years, day=28)
    if valid_to > horizon:
        raise InvalidInput((*loc, "valid_to"), f"valid_to {valid_to} is more than {years} years ahead (at most "
                           f"{horizon}); an authorization is renewed, not granted for ever")  # fmt: skip


def authorize(
    ctx: AppContext, actor: Actor, body: s.AuthorizationRequest, *, idem: Idem | None = None
) -> s.AuthorizationOut | Replayed:
    """Record an enterprise's authorization of a bank for some products until a date."""
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, body)) is not None:
            return hit
        for i, product in enumerate(body.products):
            ctx.product(product, ("body", "products", i))
        check_validity(ctx, body.valid_from, body.valid_to)
        row = access.add_authorization(session, actor=actor.key_id, **body.model_dump())
        out = views.authorization(row)
        remember(session, actor, idem, 201, out)
        return out


def revoke(ctx: AppContext, actor: Actor, authorization_id: str) -> s.AuthorizationOut:
    """Revoke an authorization (it is kept, with revoked_at set)."""
    with ctx.write() as session:
        row = access.get_authorization(session, authorization_id)
        if row is None:
            raise NotFound(f"no authorization {authorization_id}")
        access.revoke(session, row, actor=actor.key_id)
        return views.authorization(row)


def report_outcome(
    ctx: AppContext, actor: Actor, body: s.OutcomeRequest, *, idem: Idem | None = None
) -> s.OutcomeOut | Replayed:
    """`POST /v1/outcomes`: a thin alias of the checked loan lifecycle (`app.loans.outcome_alias`)."""
    return outcome_alias(ctx, actor, body, idem=idem)


def bank_queries(ctx: AppContext, actor: Actor, *, after_id: int = 0, limit: int = 100) -> s.BankQueryPage:
    """The query log: a bank sees its own queries, an auditor sees all."""
    with ctx.read() as session:
        bank = actor.bank if actor.role == "bank" else None
        rows = access.queries(session, bank=bank, after_id=after_id, limit=limit)
        return s.BankQueryPage(
            items=[views.bank_query(r) for r in rows], next_after_id=rows[-1].id if len(rows) == limit else None
        )


def query_log(ctx: AppContext, actor: Actor, *, offset: int = 0, limit: int = 50) -> list[BankQuery]:
    """The query log newest first, for the pages: a bank sees its own queries, an auditor sees all."""
    with ctx.read() as session:
        bank = actor.bank if actor.role == "bank" else None
        return access.queries(session, bank=bank, newest_first=True, offset=offset, limit=limit)
