"""Partner-bank routes: eligibility under the enterprise's authorization, loan outcomes, own query log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from parkcredit.profile import Uscc
from parkcredit.service import schemas as s
from parkcredit.service import scoring, views
from parkcredit.service.deps import (
    BankCaller,
    BankOrAuditor,
    IdempotencyDep,
    LazyWriteSession,
    ReadSession,
    ServicesDep,
    WriteSession,
)
from parkcredit.service.errors import Forbidden, NotFound
from parkcredit.store import repo
from parkcredit.store.db import begin_write
from parkcredit.store.tables import BankQuery, Decision

router = APIRouter(prefix="/v1", tags=["bank"])
Product = Annotated[str, Query(min_length=1, max_length=50, description="product code", examples=["chengxindai"])]


@router.get(
    "/eligibility/{uscc}",
    response_model=s.EligibilityOut,
    responses={403: {"description": "no authorization in force"}},
)
def read_eligibility(
    uscc: Uscc, session: LazyWriteSession, caller: BankCaller, services: ServicesDep, product: Product = "chengxindai"
) -> Any:
    """The bank's summary view of an enterprise that authorized this bank for this product."""
    ruleset = services.ruleset(product)
    assert caller.bank is not None
    log = {"bank": caller.bank, "key_id": caller.key_id, "uscc": uscc, "product": product}
    auth = repo.authorization_in_force(session, uscc, caller.bank, product, dt.date.today())
    snap = repo.latest_snapshot(session, uscc) if auth else None
    if snap is not None:  # the version in force at the snapshot's as_of
        ruleset = services.ruleset(product, session=session, as_of=snap.as_of)
    d = repo.latest_decision(session, uscc, product) if snap else None
    new: list[dict[str, Any]] = []
    if auth is None or snap is None:
        reason = "no authorization in force for this bank and product" if auth is None else "no profile on record"
    elif d is not None and d.snapshot_id == snap.id and d.ruleset_hash == ruleset.content_hash:
        record = json.loads(d.record)
    else:  # decide now, outside the write lock
        new = scoring.compute(session, [snap], ruleset, services.model, services.model_status)
        record = new[0]
    auth_id = auth.id if auth else None
    session.rollback()
    begin_write(session)
    if auth_id is None or snap is None:
        repo.log_bank_query(session, allowed=False, reason=reason, **log)
        session.commit()
        raise Forbidden(reason) if auth_id is None else NotFound(reason)
    scoring.store(session, new, ruleset, caller.key_id)
    repo.log_bank_query(
        session, allowed=True, reason="authorized", authorization_id=auth_id, decision_id=record["decision_id"], **log
    )
    session.commit()
    return s.EligibilityOut(
        uscc=uscc,
        product=product,
        eligible=record["eligible"],
        limit_yuan=record["limit_yuan"],
        band=record["band"],
        valid_until=record["valid_until"],
        decision_id=record["decision_id"],
        as_of=record["as_of"],
        ruleset_version=record["ruleset"]["version"],
        reasons=[s.Reason(code=r["code"], zh=r["zh"], en=r["en"]) for r in record["reasons"]],
    )


@router.post("/outcomes", status_code=201, response_model=s.OutcomeOut)
def create_outcome(
    body: s.OutcomeRequest, session: WriteSession, caller: BankCaller, idem: IdempotencyDep, services: ServicesDep
) -> Any:
    """Report a loan outcome (disbursement and repayment status)."""
    if (hit := idem.replay(session, caller, body)) is not None:
        return hit
    services.ruleset(body.product, ("body", "product"))
    decision_id = str(body.decision_id) if body.decision_id else None
    if decision_id is not None and session.get(Decision, decision_id) is None:
        raise NotFound(f"no decision {decision_id}")
    fields = body.model_dump(mode="python") | {"decision_id": decision_id}
    row = repo.add_outcome(session, caller.key_id, bank=caller.bank, **fields)
    return idem.finish(session, 201, views.outcome(row))


@router.get("/bank-queries", response_model=s.BankQueryPage)
def read_bank_queries(
    session: ReadSession,
    caller: BankOrAuditor,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The query log: a bank sees its own queries, an auditor sees all."""
    q = select(BankQuery).where(BankQuery.id > after_id).order_by(BankQuery.id).limit(limit)
    if caller.role == "bank":
        q = q.where(BankQuery.bank == caller.bank)
    rows = list(session.scalars(q))
    return s.BankQueryPage(
        items=[views.bank_query(r) for r in rows], next_after_id=rows[-1].id if len(rows) == limit else None
    )
