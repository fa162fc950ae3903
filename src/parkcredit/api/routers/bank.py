"""Partner-bank routes: what the bank is shown (one enterprise, a batch, the whitelist), loans and their
events, declined applications, alerts and webhooks, the query log; the committee's risk pools."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from parkcredit.api.auth import require
from parkcredit.api.deps import BankCaller, BankOrAuditor, Committee, CommitteeOrAuditor, Ctx, IdemDep, respond
from parkcredit.app import access, alerts, loans, pools
from parkcredit.app import bank_schemas as b
from parkcredit.app import schemas as s
from parkcredit.app.actor import Actor
from parkcredit.app.eligibility import batch_eligibility, eligibility, whitelist
from parkcredit.profile import Uscc

router = APIRouter(prefix="/v1", tags=["bank"])
Product = Annotated[str, Query(min_length=1, max_length=50, description="product code", examples=["chengxindai"])]
LoanReader = Annotated[Actor, Depends(require("bank", "committee", "auditor"))]
LoanId = Annotated[int, Path(ge=1, le=2**62)]
After = Annotated[int, Query(ge=0, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get(
    "/eligibility/{uscc}",
    response_model=b.EligibilityOut,
    responses={403: {"description": "no authorization in force"}},
)
def read_eligibility(uscc: Uscc, ctx: Ctx, caller: BankCaller, product: Product = "chengxindai") -> Any:
    """The bank's summary of an enterprise that authorized this bank for this product."""
    return eligibility(ctx, caller, uscc=uscc, product=product)


@router.post("/eligibility/batch", response_model=b.BatchEligibilityOut)
def read_eligibility_batch(body: b.BatchEligibilityIn, ctx: Ctx, caller: BankCaller) -> Any:
    """Up to 1,000 enterprises at once: one result per USCC, refused ones with their reason, each lookup logged."""
    return batch_eligibility(ctx, caller, body)


@router.get("/whitelist", response_model=b.WhitelistOut)
def read_whitelist(
    ctx: Ctx, caller: BankCaller, product: Product = "chengxindai",
    since: Annotated[int | None, Query(ge=0, le=2**62, description="a previous answer's cursor")] = None,
) -> Any:  # fmt: skip
    """Enterprises currently eligible that authorized this bank; with `since`, only the changes after it."""
    return whitelist(ctx, caller, product=product, since=since)


# ---- loans -------------------------------------------------------------------------------------------------------


@router.post("/loans", status_code=201, response_model=b.LoanOut, tags=["loans"],
             responses={403: {"description": "no authorization in force on the disbursement date"}})  # fmt: skip
def create_loan(body: b.LoanIn, ctx: Ctx, caller: BankCaller, idem: IdemDep) -> Any:
    """Report a disbursement on a decision; refused (403/422, nothing stored) when a check fails."""
    return respond(loans.create_loan(ctx, caller, body, idem=idem))


@router.get("/loans", response_model=b.LoanPage, tags=["loans"])
def read_loans(
    ctx: Ctx, caller: LoanReader, after_id: After = 0, limit: Limit = 100,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    product: Annotated[str | None, Query(max_length=50)] = None,
    status: Annotated[b.LoanStatus | None, Query()] = None,
) -> Any:  # fmt: skip
    """Loans by id: a bank sees its own, the committee and auditors see all."""
    return loans.list_loans(ctx, caller, uscc=uscc, product=product, status=status, after_id=after_id, limit=limit)


@router.get("/loans/outstanding", response_model=list[b.OutstandingRow], tags=["loans"])
def read_outstanding(ctx: Ctx, caller: CommitteeOrAuditor) -> Any:
    """Live loans by bank, product and band."""
    return loans.outstanding(ctx)


@router.get("/loans/{loan_id}", response_model=b.LoanDetail, tags=["loans"])
def read_loan(loan_id: LoanId, ctx: Ctx, caller: LoanReader) -> Any:
    """One loan and its events (a bank: only its own)."""
    return loans.read_loan(ctx, caller, loan_id)


@router.post("/loans/{loan_id}/events", status_code=201, response_model=b.LoanDetail, tags=["loans"])
def create_loan_event(loan_id: LoanId, body: b.LoanEventIn, ctx: Ctx, caller: BankCaller, idem: IdemDep) -> Any:
    """A new status of one of the bank's loans and its principal outstanding."""
    return respond(loans.add_event(ctx, caller, loan_id, body, idem=idem))


@router.post("/loan-declines", status_code=201, response_model=b.DeclineOut, tags=["loans"])
def create_decline(body: b.DeclineIn, ctx: Ctx, caller: BankCaller, idem: IdemDep) -> Any:
    """Report an application the bank declined, with its reason code."""
    return respond(loans.decline(ctx, caller, body, idem=idem))


@router.get("/loan-declines", response_model=list[b.DeclineOut], tags=["loans"])
def read_declines(ctx: Ctx, caller: LoanReader, after_id: After = 0, limit: Limit = 100) -> Any:
    """Declined applications: a bank sees its own, the committee and auditors see all."""
    return loans.list_declines(ctx, caller, after_id=after_id, limit=limit)


@router.get("/loan-declines/reasons", response_model=dict[str, dict[str, str]], tags=["loans"])
def read_decline_reasons(caller: LoanReader) -> Any:
    """The reason codes of a declined application, with their zh/en text."""
    return {code: {"zh": zh, "en": en} for code, (zh, en) in loans.DECLINE_REASONS.items()}


@router.post("/outcomes", status_code=201, response_model=s.OutcomeOut, tags=["loans"])
def create_outcome(body: s.OutcomeRequest, ctx: Ctx, caller: BankCaller, idem: IdemDep) -> Any:
    """Deprecated alias of `POST /v1/loans` and its events (same checks): report a loan outcome."""
    return respond(access.report_outcome(ctx, caller, body, idem=idem))


# ---- alerts and webhooks -----------------------------------------------------------------------------------------


@router.get("/alerts", response_model=b.AlertPage, tags=["alerts"])
def read_alerts(
    ctx: Ctx, caller: LoanReader, after: After = 0, limit: Limit = 100,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
) -> Any:  # fmt: skip
    """Early-warning alerts after `after` (a bank: its own), oldest first; poll with the answer's `cursor`."""
    return alerts.list_alerts(ctx, caller, after=after, limit=limit, uscc=uscc)


@router.post("/webhooks", status_code=201, response_model=b.WebhookOut, tags=["alerts"])
def create_webhook(body: b.WebhookIn, ctx: Ctx, caller: BankCaller, idem: IdemDep) -> Any:
    """Register the bank's alert receiver: each alert is POSTed to it, signed with HMAC-SHA256 of the body."""
    return respond(alerts.register_webhook(ctx, caller, body, idem=idem))


@router.get("/webhooks", response_model=list[b.WebhookOut], tags=["alerts"])
def read_webhooks(ctx: Ctx, caller: BankCaller) -> Any:
    """The bank's live webhook."""
    return alerts.list_webhooks(ctx, caller)


@router.delete("/webhooks/{webhook_id}", response_model=b.WebhookOut, tags=["alerts"])
def delete_webhook(webhook_id: LoanId, ctx: Ctx, caller: BankCaller) -> Any:
    """Stop delivering to a webhook (kept, with revoked_at)."""
    return alerts.revoke_webhook(ctx, caller, webhook_id)


@router.get("/webhooks/deliveries", response_model=list[b.WebhookDeliveryOut], tags=["alerts"])
def read_deliveries(
    ctx: Ctx, caller: LoanReader, alert_id: Annotated[int | None, Query(ge=1, le=2**62)] = None, limit: Limit = 100
) -> Any:
    """Webhook deliveries newest first, each with every attempt (a bank: its own)."""
    return alerts.list_deliveries(ctx, caller, alert_id=alert_id, limit=limit)


# ---- risk pools (committee) ------------------------------------------------------------------------------------


@router.post("/pools", status_code=201, response_model=b.PoolOut, tags=["risk pools"])
def create_pool(body: b.PoolIn, ctx: Ctx, caller: Committee, idem: IdemDep) -> Any:
    """A risk-compensation pool for a product: balance, loss shares, leverage cap, per-enterprise cap."""
    return respond(pools.create_pool(ctx, caller, body, idem=idem))


@router.get("/pools", response_model=list[b.PoolOut], tags=["risk pools"])
def read_pools(ctx: Ctx, caller: CommitteeOrAuditor) -> Any:
    """Every pool with its position now."""
    return pools.list_pools(ctx)


@router.post("/pools/{pool_id}/deposits", status_code=201, response_model=b.PoolOut, tags=["risk pools"])
def create_deposit(pool_id: LoanId, body: b.DepositIn, ctx: Ctx, caller: Committee, idem: IdemDep) -> Any:
    """Add to a pool's balance."""
    return respond(pools.deposit(ctx, caller, pool_id, body, idem=idem))


@router.get("/pools/{pool_id}/statement", response_model=b.PoolStatement, tags=["risk pools"])
def read_statement(pool_id: LoanId, ctx: Ctx, caller: CommitteeOrAuditor) -> Any:
    """The pool's statement: terms, position, every movement and the totals."""
    return pools.statement(ctx, pool_id)


# ---- the query log -------------------------------------------------------------------------------------------------


@router.get("/bank-queries", response_model=s.BankQueryPage)
def read_bank_queries(ctx: Ctx, caller: BankOrAuditor, after_id: After = 0, limit: Limit = 100) -> Any:
    """The query log: a bank sees its own queries, an auditor sees all."""
    return access.bank_queries(ctx, caller, after_id=after_id, limit=limit)
