"""Partner-bank routes: eligibility under the enterprise's authorization, loan outcomes, own query log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from parkcredit.api.deps import BankCaller, BankOrAuditor, Ctx, IdemDep, respond
from parkcredit.app import access
from parkcredit.app import schemas as s
from parkcredit.app.eligibility import eligibility
from parkcredit.profile import Uscc

router = APIRouter(prefix="/v1", tags=["bank"])
Product = Annotated[str, Query(min_length=1, max_length=50, description="product code", examples=["chengxindai"])]


@router.get(
    "/eligibility/{uscc}",
    response_model=s.EligibilityOut,
    responses={403: {"description": "no authorization in force"}},
)
def read_eligibility(uscc: Uscc, ctx: Ctx, caller: BankCaller, product: Product = "chengxindai") -> Any:
    """The bank's summary view of an enterprise that authorized this bank for this product."""
    return eligibility(ctx, caller, uscc=uscc, product=product)


@router.post("/outcomes", status_code=201, response_model=s.OutcomeOut)
def create_outcome(body: s.OutcomeRequest, ctx: Ctx, caller: BankCaller, idem: IdemDep) -> Any:
    """Report a loan outcome (disbursement and repayment status)."""
    return respond(access.report_outcome(ctx, caller, body, idem=idem))


@router.get("/bank-queries", response_model=s.BankQueryPage)
def read_bank_queries(
    ctx: Ctx,
    caller: BankOrAuditor,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The query log: a bank sees its own queries, an auditor sees all."""
    return access.bank_queries(ctx, caller, after_id=after_id, limit=limit)
