"""The enterprise's pages (an `enterprise` key: its own record, authorizations, disputes, review requests)
and the committee's and auditor's pages of disputes (异议, overdue ones first) and the review queue.

Each page parses its form, calls one use case and renders; every error is a page (403, 404, 409, 422).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from parkcredit.app import Actor, credit_events, disputes, reviews, self_service
from parkcredit.app import rights_schemas as r
from parkcredit.errors import InvalidInput
from parkcredit.governance.overrides import REASON_CODES
from parkcredit.profile import FIELDS
from parkcredit.profile.events import KINDS
from parkcredit.web.auth import require_page
from parkcredit.web.deps import Ctx, check_csrf
from parkcredit.web.render import WebError, page

__all__ = ["router"]

router = APIRouter(prefix="/web", include_in_schema=False)

EnterprisePage = Annotated[Actor, Depends(require_page("enterprise"))]
CommitteePage = Annotated[Actor, Depends(require_page("committee"))]
ReaderPage = Annotated[Actor, Depends(require_page("committee", "auditor"))]
Csrf = Annotated[str, Form(max_length=100)]


def _model(cls: type[Any], **fields: Any) -> Any:
    """A request model from form fields; a bad field is a 422 page naming it."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors())
        raise WebError(422, "err.bad_request", detail) from None


def _typed(field: str, text: str) -> Any:
    """A value typed into a form, as the field's type (empty = missing)."""
    text = text.strip()
    info = FIELDS.get(field)
    if not text or info is None:
        return text or None
    try:
        if info.kind == "int":
            return int(text.replace(",", ""))
        if info.kind == "float":
            return float(text.replace(",", ""))
    except ValueError:
        raise WebError(422, "err.bad_request", f"{field}: {text!r} is not a number") from None
    if info.kind == "bool":
        if text.lower() in ("true", "yes", "1", "是"):
            return True
        if text.lower() in ("false", "no", "0", "否"):
            return False
        raise WebError(422, "err.bad_request", f"{field}: {text!r} is not yes/no (是/否)")
    return text


# ---- the enterprise ----------------------------------------------------------------------------------------------


@router.get("/me")
def me_page(request: Request, ctx: Ctx, caller: EnterprisePage, product: str | None = None) -> Response:
    assert caller.uscc is not None
    try:
        view = self_service.enterprise_view(ctx, caller, caller.uscc, product=product or None)
    except InvalidInput as exc:
        raise WebError(422, "err.bad_request", exc.message) from None
    refusals = [d for d in view.decisions if not d.eligible]
    return page(request, "me.html", caller, view=view, products=ctx.products(), refusals=refusals,
                today=dt.date.today(), timedelta=dt.timedelta)  # fmt: skip


@router.post("/me/authorizations")
def me_grant(
    request: Request, ctx: Ctx, caller: EnterprisePage, csrf: Csrf,
    bank: Annotated[str, Form(max_length=100)], product: Annotated[str, Form(max_length=50)],
    valid_from: Annotated[str, Form(max_length=10)], valid_to: Annotated[str, Form(max_length=10)],
    purpose: Annotated[str, Form(max_length=200)],
) -> Response:  # fmt: skip
    check_csrf(request, csrf)
    body = _model(r.EnterpriseGrantIn, bank=bank.strip(), products=[product], valid_from=valid_from,
                  valid_to=valid_to, purpose=purpose.strip())  # fmt: skip
    self_service.grant_authorization(ctx, caller, body)
    return RedirectResponse("/web/me#authorizations", 303)


@router.post("/me/authorizations/{authorization_id}/revoke")
def me_revoke(request: Request, authorization_id: str, ctx: Ctx, caller: EnterprisePage, csrf: Csrf) -> Response:
    check_csrf(request, csrf)
    self_service.revoke_own_authorization(ctx, caller, authorization_id[:36])
    return RedirectResponse("/web/me#authorizations", 303)


@router.post("/me/disputes")
def me_dispute(
    request: Request, ctx: Ctx, caller: EnterprisePage, csrf: Csrf,
    field: Annotated[str, Form(max_length=60)], claimed_value: Annotated[str, Form(max_length=200)],
    statement: Annotated[str, Form(max_length=4000)], evidence_ref: Annotated[str, Form(max_length=500)],
) -> Response:  # fmt: skip
    check_csrf(request, csrf)
    body = _model(r.DisputeIn, field=field, claimed_value=_typed(field, claimed_value), statement=statement,
                  evidence_ref=evidence_ref)  # fmt: skip
    disputes.file_dispute(ctx, caller, body)
    return RedirectResponse("/web/me#disputes", 303)


@router.post("/me/reviews")
def me_review(
    request: Request, ctx: Ctx, caller: EnterprisePage, csrf: Csrf,
    decision_id: Annotated[str, Form(max_length=36)], reason: Annotated[str, Form(max_length=4000)],
) -> Response:  # fmt: skip
    check_csrf(request, csrf)
    reviews.request_review(ctx, caller, _model(r.ReviewIn, decision_id=decision_id, reason=reason))
    return RedirectResponse("/web/me#reviews", 303)


# ---- committee and auditor: disputes, overdue disputes, the review queue ----------------------------------------


@router.get("/disputes")
def disputes_page(request: Request, ctx: Ctx, caller: ReaderPage) -> Response:
    found = disputes.list_disputes(ctx, caller, limit=1000).items
    open_ = sorted((d for d in found if d.status == "open"), key=lambda d: d.due_at)
    closed = [d for d in reversed(found) if d.status != "open"][:200]
    return page(request, "disputes.html", caller, open=open_, closed=closed)


@router.get("/disputes/overdue")
def overdue_page(request: Request, ctx: Ctx, caller: ReaderPage) -> Response:
    return page(request, "overdue_disputes.html", caller, rows=disputes.overdue_disputes(ctx),
                now=dt.datetime.now(dt.UTC))  # fmt: skip


@router.post("/disputes/{dispute_id}/resolve")
def resolve_page(
    request: Request, dispute_id: int, ctx: Ctx, caller: CommitteePage, csrf: Csrf,
    status: Annotated[str, Form(max_length=20)], reply: Annotated[str, Form(max_length=4000)],
) -> Response:  # fmt: skip
    check_csrf(request, csrf)
    disputes.resolve_dispute(ctx, caller, dispute_id, _model(r.DisputeResolveIn, status=status, reply=reply))
    return RedirectResponse("/web/disputes", 303)


@router.get("/reviews")
def reviews_page(request: Request, ctx: Ctx, caller: ReaderPage) -> Response:
    rows = reviews.list_reviews(ctx, caller, limit=1000).items
    rows.sort(key=lambda x: (x.status != "pending", -x.review_id))
    return page(request, "reviews.html", caller, rows=rows, reason_codes=REASON_CODES)


@router.post("/reviews/{review_id}/decide")
def decide_page(
    request: Request, review_id: int, ctx: Ctx, caller: CommitteePage, csrf: Csrf,
    outcome: Annotated[str, Form(max_length=20)], reason: Annotated[str, Form(max_length=2000)],
    limit_yuan: Annotated[str, Form(max_length=20)] = "", reason_code: Annotated[str, Form(max_length=40)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, csrf)
    fields: dict[str, Any] = {"outcome": outcome, "reason": reason}
    if outcome == "override":
        try:
            limit = int(limit_yuan.replace(",", "").strip() or 0)
        except ValueError:
            raise WebError(
                422, "err.bad_request", f"limit_yuan: {limit_yuan!r} is not a whole number of yuan"
            ) from None
        fields |= {"eligible": limit > 0, "limit_yuan": limit, "reason_code": reason_code or None}
    reviews.decide_review(ctx, caller, review_id, _model(r.ReviewDecideIn, **fields))
    return RedirectResponse("/web/reviews", 303)


# ---- committee: an enterprise's credit events and their repair ----------------------------------------------------


@router.get("/enterprises/{uscc}/credit-events")
def events_page(request: Request, uscc: str, ctx: Ctx, caller: ReaderPage) -> Response:
    code = uscc.strip().upper()[:18]
    return page(request, "credit_events.html", caller, uscc=code, rows=credit_events.list_events(ctx, caller, code),
                kinds=KINDS, today=dt.date.today())  # fmt: skip


@router.post("/enterprises/{uscc}/credit-events")
def record_event_page(
    request: Request, uscc: str, ctx: Ctx, caller: CommitteePage, csrf: Csrf,
    kind: Annotated[str, Form(max_length=40)], occurred_on: Annotated[str, Form(max_length=10)],
    severity: Annotated[str, Form(max_length=20)], reference: Annotated[str, Form(max_length=200)],
    amount_yuan: Annotated[str, Form(max_length=20)] = "",
) -> Response:  # fmt: skip
    check_csrf(request, csrf)
    code = uscc.strip().upper()[:18]
    try:
        amount = int(amount_yuan.replace(",", "").strip()) if amount_yuan.strip() else None
    except ValueError:
        raise WebError(422, "err.bad_request", f"amount_yuan: {amount_yuan!r} is not a whole number of yuan") from None
    body = _model(r.CreditEventIn, uscc=code, kind=kind, occurred_on=occurred_on, severity=severity,
                  reference=reference.strip(), amount_yuan=amount)  # fmt: skip
    credit_events.record_event(ctx, caller, body)
    return RedirectResponse(f"/web/enterprises/{quote(code)}/credit-events", 303)


@router.post("/credit-events/{event_id}/repair")
def repair_event_page(
    request: Request, event_id: int, ctx: Ctx, caller: CommitteePage, csrf: Csrf,
    repaired_on: Annotated[str, Form(max_length=10)], evidence_ref: Annotated[str, Form(max_length=500)],
) -> Response:  # fmt: skip
    check_csrf(request, csrf)
    body = _model(r.CreditRepairIn, repaired_on=repaired_on, evidence_ref=evidence_ref)
    out = credit_events.repair_event(ctx, caller, event_id, body)
    return RedirectResponse(f"/web/enterprises/{quote(out.event.uscc)}/credit-events", 303)
