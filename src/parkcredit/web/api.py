"""`GET /v1/decisions/{decision_id}/report`: the explanation report of a decision, HTML or PDF."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from parkcredit.reports import DecisionNotFound, PdfUnavailable, render_html, render_pdf, report_context
from parkcredit.service.deps import CommitteeOrAuditor, ReadSession, Services, ServicesDep
from parkcredit.service.errors import NotFound

__all__ = ["report_response", "router"]

router = APIRouter(prefix="/v1", tags=["auditor"])


def report_response(
    session: Session, decision_id: str, services: Services, fmt: str, lang: str, *, web: bool = False
) -> Response:
    """The report as an HTML or PDF response; 404 for an unknown decision, 503 when PDF cannot be made."""
    started = time.perf_counter()
    try:
        ctx = report_context(session, decision_id, services.model)
    except DecisionNotFound:
        if web:
            from parkcredit.web.render import WebError

            raise WebError(404, "err.not_found", f"no decision {decision_id}") from None
        raise NotFound(f"no decision {decision_id}") from None
    html = render_html(ctx, lang)
    headers = {"X-Report-Render-Ms": f"{(time.perf_counter() - started) * 1e3:.0f}", "Cache-Control": "no-store"}
    if fmt != "pdf":
        return HTMLResponse(html, headers=headers)
    try:
        pdf = render_pdf(html)
    except PdfUnavailable as exc:
        if web:
            from parkcredit.web.render import WebError

            raise WebError(503, "err.unavailable", str(exc)) from None
        return JSONResponse({"detail": str(exc)}, status_code=503)
    headers["X-Report-Render-Ms"] = f"{(time.perf_counter() - started) * 1e3:.0f}"
    headers["Content-Disposition"] = f'attachment; filename="decision-{decision_id}.pdf"'
    return Response(pdf, media_type="application/pdf", headers=headers)


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
    session: ReadSession,
    caller: CommitteeOrAuditor,
    services: ServicesDep,
    format: Annotated[Literal["html", "pdf"], Query(description="html (default) or pdf")] = "html",
    lang: Annotated[Literal["zh", "en"], Query(description="report language")] = "zh",
) -> Response:
    """The decision's explanation report: inputs, rule trace, model contributions, hashes, audit entry, replay."""
    return report_response(session, decision_id, services, format, lang)
