"""The enterprise's rights (issue 15): its own view and authorizations (`/v1/me`), disputes (异议),
credit events and their repair, human review of a refusal. Ownership is checked in the use cases."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from parkcredit.api.auth import require
from parkcredit.api.deps import (
    Committee,
    CommitteeOrEnterprise,
    Ctx,
    Enterprise,
    IdemDep,
    ReaderOrEnterprise,
    respond,
)  # fmt: skip
from parkcredit.app import Actor, credit_events, disputes, reviews, self_service
from parkcredit.app import rights_schemas as r
from parkcredit.app import schemas as s
from parkcredit.profile import Uscc

router = APIRouter(prefix="/v1", tags=["enterprise"])
# a department key records and repairs its own department's events (checked in app.credit_events)
CommitteeOrDepartment = Annotated[Actor, Depends(require("committee", "department"))]
Id = Annotated[int, Path(ge=1, le=2**62)]
AfterId = Annotated[int, Query(ge=0, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Product = Annotated[str | None, Query(min_length=1, max_length=50, description="product of the path to eligibility")]


# -- the enterprise's own view and authorizations
@router.get("/me", response_model=r.SelfView)
def read_me(ctx: Ctx, caller: Enterprise, product: Product = None) -> Any:
    """The enterprise's own record: inputs with department and date, decisions and why, path, bank queries."""
    assert caller.uscc is not None  # an enterprise key is bound to one USCC
    return self_service.enterprise_view(ctx, caller, caller.uscc, product=product)


@router.get("/me/authorizations", response_model=list[s.AuthorizationOut])
def read_my_authorizations(ctx: Ctx, caller: Enterprise) -> Any:
    """The enterprise's authorizations of banks, newest first (granted by itself or recorded from paper)."""
    return self_service.own_authorizations(ctx, caller)


@router.post("/me/authorizations", status_code=201, response_model=s.AuthorizationOut)
def grant_authorization(body: r.EnterpriseGrantIn, ctx: Ctx, caller: Enterprise, idem: IdemDep) -> Any:
    """Authorize a bank to query the enterprise for some products between two dates, for a purpose."""
    return respond(self_service.grant_authorization(ctx, caller, body, idem=idem))


@router.delete("/me/authorizations/{authorization_id}", response_model=s.AuthorizationOut)
def revoke_my_authorization(authorization_id: Annotated[str, Path(max_length=36)], ctx: Ctx, caller: Enterprise) -> Any:
    """Revoke one of the enterprise's authorizations (kept, with revoked_at set); the bank's next query is 403."""
    return self_service.revoke_own_authorization(ctx, caller, authorization_id)


# -- disputes
@router.post("/disputes", status_code=201, response_model=r.DisputeOut)
def file_dispute(body: r.DisputeIn, ctx: Ctx, caller: CommitteeOrEnterprise, idem: IdemDep) -> Any:
    """Dispute one field of a snapshot or a decision's inputs; the written answer is due 20 days after receipt."""
    return respond(disputes.file_dispute(ctx, caller, body, idem=idem))


@router.get("/disputes", response_model=r.DisputePage)
def read_disputes(
    ctx: Ctx,
    caller: ReaderOrEnterprise,
    uscc: Uscc | None = None,
    status: Literal["open", "corrected", "upheld", "cannot_verify"] | None = None,
    overdue: Annotated[bool, Query(description="only open disputes past their due date")] = False,
    after_id: AfterId = 0,
    limit: Limit = 100,
) -> Any:
    """Disputes by id (an enterprise key: its own), optionally of one enterprise, one status, or overdue."""
    return disputes.list_disputes(ctx, caller, uscc=uscc, status=status, overdue=overdue, after_id=after_id,
                                  limit=limit)  # fmt: skip


@router.post("/disputes/{dispute_id}/resolve", response_model=r.DisputeOut)
def resolve_dispute(dispute_id: Id, body: r.DisputeResolveIn, ctx: Ctx, caller: Committee) -> Any:
    """Answer a dispute in writing: corrected (new snapshot and decision), upheld or cannot_verify."""
    return disputes.resolve_dispute(ctx, caller, dispute_id, body)


# -- credit events and repair
@router.post("/credit-events", status_code=201, response_model=r.CreditEventResult)
def record_credit_event(body: r.CreditEventIn, ctx: Ctx, caller: CommitteeOrDepartment, idem: IdemDep) -> Any:
    """Record a negative record (penalty, accident, listing): the committee, or a department key for its own
    department's kinds; the derived counts are re-snapshotted and the enterprise decided again."""
    return respond(credit_events.record_event(ctx, caller, body, idem=idem))


@router.post("/credit-events/{event_id}/repair", response_model=r.CreditEventResult)
def repair_credit_event(event_id: Id, body: r.CreditRepairIn, ctx: Ctx, caller: CommitteeOrDepartment) -> Any:
    """Record a repair (信用修复) after the minimum disclosure period (the committee or the event's department);
    the event stops counting and the enterprise is decided again."""
    return credit_events.repair_event(ctx, caller, event_id, body)


@router.get("/enterprises/{uscc}/credit-events", response_model=list[r.CreditEventOut])
def read_credit_events(uscc: Uscc, ctx: Ctx, caller: ReaderOrEnterprise) -> Any:
    """The enterprise's credit events and their repairs, oldest first (an enterprise key: its own)."""
    return credit_events.list_events(ctx, caller, uscc)


# -- human review
@router.post("/reviews", status_code=201, response_model=r.ReviewOut)
def request_review(body: r.ReviewIn, ctx: Ctx, caller: CommitteeOrEnterprise, idem: IdemDep) -> Any:
    """Ask for a person to review an automated refusal; it enters the committee's queue."""
    return respond(reviews.request_review(ctx, caller, body, idem=idem))


@router.get("/reviews", response_model=r.ReviewPage)
def read_reviews(
    ctx: Ctx,
    caller: ReaderOrEnterprise,
    status: Literal["pending", "overridden", "upheld"] | None = None,
    after_id: AfterId = 0,
    limit: Limit = 100,
) -> Any:
    """The review queue by id (an enterprise key: its own requests and their outcomes)."""
    return reviews.list_reviews(ctx, caller, status=status, after_id=after_id, limit=limit)


@router.post("/reviews/{review_id}/decide", response_model=r.ReviewOut)
def decide_review(review_id: Id, body: r.ReviewDecideIn, ctx: Ctx, caller: Committee) -> Any:
    """Close a review: an override of the decision with its reason, or the refusal upheld with a written reason."""
    return reviews.decide_review(ctx, caller, review_id, body)
