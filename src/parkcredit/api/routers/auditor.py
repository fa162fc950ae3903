"""Auditor (纪检 / audit) routes: replay decisions, read and verify the audit chain, explanation reports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

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
    """Check the hash chain, every bound row (by table and id) and the service's own signed checkpoints."""
    return audit.verify(ctx)


@router.post("/audit/verify", response_model=s.VerifyOut)
def verify_audit_chain_against(body: s.VerifyIn, ctx: Ctx, caller: Auditor) -> Any:
    """As GET, against the checkpoints the auditor kept (and their public key): finds truncation, rewrites
    and forged appends after any of them."""
    return audit.verify(ctx, checkpoints_text=body.checkpoints, public_key_pem=body.public_key)


@router.post("/audit/checkpoints", response_model=s.CheckpointOut, status_code=201)
def write_checkpoint(ctx: Ctx, caller: Auditor) -> Any:
    """Sign the chain head now and append it to the service's checkpoint file."""
    return audit.checkpoint(ctx)


@router.get("/audit/checkpoints", response_class=PlainTextResponse)
def export_checkpoints(ctx: Ctx, caller: Auditor) -> Any:
    """The service's signed checkpoints as JSON lines, for the auditor to keep outside the system."""
    return PlainTextResponse(audit.checkpoints_text(ctx))  # JSON lines, one checkpoint each


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
