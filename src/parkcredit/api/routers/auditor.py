"""Auditor (纪检 / audit) routes: replay decisions, read and verify the audit chain, explanation reports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from parkcredit.api.deps import Auditor, CommitteeOrAuditor, Ctx
from parkcredit.app import audit, decisions
from parkcredit.app import schemas as s
from parkcredit.app.reports import render_report
from parkcredit.reports import PdfUnavailable

router = APIRouter(prefix="/v1", tags=["auditor"])


@router.post("/decisions/{decision_id}/replay", response_model=s.ReplayOut)
def replay_decision(decision_id: str, ctx: Ctx, caller: Auditor) -> Any:
    """Recompute a decision from its stored snapshot, rule-set text and model; compare byte for byte."""
    return decisions.replay_decision(ctx, decision_id)


@router.get("/audit/log", response_model=s.AuditPage)
def read_audit_log(
    ctx: Ctx,
    caller: Auditor,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Audit-log entries in chain order, paged by `after_seq`."""
    return audit.log_page(ctx, after_seq=after_seq, limit=limit)


@router.get("/audit/verify", response_model=s.VerifyOut)
def verify_audit_chain(ctx: Ctx, caller: Auditor) -> Any:
    """Check the whole hash chain; name the first edited, deleted or re-ordered entry."""
    return audit.verify(ctx)


@router.get(
    "/decisions/{decision_id}/report",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}, "application/pdf": {}}, "description": "the report"},
        404: {"description": "no such decision"},
        503: {"description": "PDF requested but Chromium or Playwright is not installed"},
    },
)
def read_decision_report(
    decision_id: str,
    ctx: Ctx,
    caller: CommitteeOrAuditor,
    format: Annotated[Literal["html", "pdf"], Query(description="html (default) or pdf")] = "html",
    lang: Annotated[Literal["zh", "en"], Query(description="report language")] = "zh",
) -> Response:
    """The decision's explanation report: inputs, rule trace, model contributions, hashes, audit entry, replay."""
    try:
        report = render_report(ctx, decision_id, fmt=format, lang=lang)
    except PdfUnavailable as exc:
        return JSONResponse({"detail": str(exc)}, status_code=503)
    return Response(report.content, media_type=report.media_type, headers=report.headers())
