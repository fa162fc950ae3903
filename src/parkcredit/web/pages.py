"""The server-rendered pages (Jinja2): committee, auditor and bank views, signed in by key cookie.

Each page parses its input, calls one use case (`parkcredit.app`) and renders the result. Pages are
excluded from the OpenAPI document (they are not the API). Every error a person can cause is a page
with a message: 303 to the sign-in form without a key, 403 for a role that may not see the page, 404
for an unknown object, 422 for bad input; never a 500.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from parkcredit.app import (
    Actor,
    AppContext,
    access,
    audit,
    decisions,
    enterprises,
    imports,
    overrides,
    portfolio,
    ruleset_pages,
)
from parkcredit.app import alerts as app_alerts
from parkcredit.app import loans as app_loans
from parkcredit.app import policies as app_policies
from parkcredit.app import pools as app_pools
from parkcredit.app import schemas as s
from parkcredit.app.data_quality import data_quality
from parkcredit.app.import_schemas import ImportOut
from parkcredit.app.monitoring import monitoring
from parkcredit.app.reports import render_report
from parkcredit.app.web_sessions import SignIn, sign_in, sign_out
from parkcredit.errors import InvalidInput, ParkcreditError
from parkcredit.profile.departments import DEPARTMENTS
from parkcredit.reports import PdfUnavailable, charts
from parkcredit.reports.i18n import LANGS, industry_label
from parkcredit.web import auth
from parkcredit.web.auth import COOKIE, LANG_COOKIE, PAGE_ROLES, require_page, web_caller
from parkcredit.web.deps import Ctx, check_csrf, ctx_of
from parkcredit.web.render import WebError, page

__all__ = ["router"]

router = APIRouter(prefix="/web", include_in_schema=False)

CommitteePage = Annotated[Actor, Depends(require_page("committee"))]
ReaderPage = Annotated[Actor, Depends(require_page("committee", "auditor"))]
RulesReaderPage = Annotated[Actor, Depends(require_page(*ruleset_pages.READERS))]
AuditorPage = Annotated[Actor, Depends(require_page("auditor"))]
QueryLogPage = Annotated[Actor, Depends(require_page("auditor", "bank"))]
PAGE_SIZE = 50
HOME = {"committee": "/web/portfolio", "auditor": "/web/audit", "bank": "/web/bank-queries", "enterprise": "/web/me",
        "approver": "/web/rulesets", "department": "/web/import"}  # fmt: skip
# the approver signs off rule sets on the governance pages (issue 17); a department sends its feed and reads its
# data quality (issue 13)
SIGN_IN_ROLES = (*PAGE_ROLES, "approver", "department")
FeedPage = Annotated[Actor, Depends(require_page("committee", "department"))]
FeedReaderPage = Annotated[Actor, Depends(require_page("committee", "auditor", "department"))]


def _product(ctx: AppContext, product: str | None) -> str:
    if not product:
        return ctx.default_product()
    try:
        ctx.product(product)
    except InvalidInput as exc:
        raise WebError(422, "err.bad_request", exc.message) from None
    return product


def _safe_next(target: str | None) -> str:
    """Only local page paths are followed after sign-in (no open redirect)."""
    return target if target and target.startswith("/web/") and not target.startswith("//") else "/web/"


# ---- sign-in, language -------------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> Response:
    caller = web_caller(request)
    if caller is None:
        return RedirectResponse("/web/login", 303)
    return RedirectResponse(HOME.get(caller.role, "/web/login"), 303)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return page(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request, key: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = "/web/"
) -> Response:
    if not auth.same_origin(request):  # login CSRF: another site signing this browser in with its own key
        raise WebError(403, "err.forbidden", "the sign-in form was posted from another site")
    signed = sign_in(ctx_of(request), key, roles=SIGN_IN_ROLES)
    if signed is None:
        return page(request, "login.html", None, next=_safe_next(next), error="login.bad", status=401)
    if not isinstance(signed, SignIn):  # a valid key of a role without pages: no session
        return page(request, "login.html", None, next=_safe_next(next), error="login.role_none", status=403)
    target = _safe_next(next)
    if target == "/web/":
        target = HOME[signed.actor.role]
    resp = RedirectResponse(target, 303)
    resp.set_cookie(COOKIE, signed.token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                    path="/", max_age=signed.max_age_seconds)  # fmt: skip
    return resp


@router.post("/logout")
def logout(request: Request, ctx: Ctx, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Sign out: the session is revoked server-side (its cookie opens nothing afterwards), then the cookie dropped."""
    if token := auth.session_token(request):
        check_csrf(request, csrf)
        sign_out(ctx, token)
    resp = RedirectResponse("/web/login", 303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/lang/{lang}")
def set_lang(request: Request, lang: str, next: str | None = None) -> Response:
    if lang not in LANGS:
        raise WebError(404, "err.not_found", f"no language {lang!r}; zh or en")
    resp = RedirectResponse(_safe_next(next), 303)
    resp.set_cookie(LANG_COOKIE, lang, samesite="lax", path="/", max_age=365 * 86400)
    return resp


# ---- committee ---------------------------------------------------------------------------------------------------


def _opt_bool(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


@router.get("/enterprises")
def enterprises_page(
    request: Request,
    ctx: Ctx,
    caller: ReaderPage,
    product: str | None = None,
    industry: Annotated[str | None, Query(max_length=10)] = None,
    band: Annotated[str | None, Query(max_length=20)] = None,
    knocked_out: Annotated[str | None, Query(pattern="^(|yes|no)$")] = None,
    eligible: Annotated[str | None, Query(pattern="^(|yes|no)$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(pattern="^(|ELIGIBLE|INELIGIBLE|NOT_APPLICABLE)$")] = None,
    reason: Annotated[str | None, Query(max_length=80)] = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(portfolio.SORT_KEYS) + ")$")] = "score",
    dir: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    product = _product(ctx, product)
    rows = portfolio.enterprise_rows(ctx, product)
    industries = sorted({r.industry for r in rows if r.industry})
    reasons = sorted({(r.top_reason, r.top_reason_zh or "", r.top_reason_en or "") for r in rows if r.top_reason})
    shown = portfolio.filter_sort(rows, industry=industry, band=band, knocked_out=_opt_bool(knocked_out),
                                  eligible=_opt_bool(eligible), q=q, sort=sort, descending=dir == "desc",
                                  status=status or None, reason=reason or None)  # fmt: skip
    pages = max(1, math.ceil(len(shown) / PAGE_SIZE))
    params = {k: v for k, v in {"product": product, "industry": industry, "band": band, "knocked_out": knocked_out,
                                "eligible": eligible, "q": q, "status": status, "reason": reason, "sort": sort,
                                "dir": dir}.items() if v}  # fmt: skip
    return page(
        request, "enterprises.html", caller, rows=shown[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE],
        total=len(shown), page_no=page_no, pages=pages, params=params, industries=industries, reasons=reasons,
        bands=[b.id for b in ctx.product(product).spec.bands], products=ctx.products(),
        product=product, urlencode=urlencode,
    )  # fmt: skip


@router.get("/enterprises/{uscc}")
def enterprise(request: Request, uscc: str, ctx: Ctx, caller: ReaderPage, product: str | None = None) -> Response:
    product = _product(ctx, product)
    view = enterprises.enterprise_page(ctx, uscc.strip().upper()[:18], product)
    sources = imports.field_sources(ctx, uscc.strip().upper()[:18])  # issue 13: each field's department and date
    return page(
        request, "enterprise.html", caller, snap=view.snap, snaps=view.snaps, decisions=view.decisions,
        sources=sources,
        current=view.current, product=product, products=ctx.products(), path=view.path, path_error=view.path_error,
        eligible_now=view.eligible_now, overrides=view.overrides, explained=view.explained, policies=view.policies,
        stale=view.stale,
    )  # fmt: skip


@router.post("/enterprises/{uscc}/decide")
def decide_page(
    request: Request,
    uscc: str,
    ctx: Ctx,
    caller: CommitteePage,
    product: Annotated[str, Form(max_length=50)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    """Decide the enterprise now (the same use case as `POST /v1/decisions`), then show it."""
    check_csrf(request, csrf)
    product = _product(ctx, product)
    code = uscc.strip().upper()[:18]
    decisions.decide_enterprise(ctx, caller, uscc=code, product=product)
    return RedirectResponse(f"/web/enterprises/{quote(code)}?product={quote(product)}", 303)


@router.get("/portfolio")
def portfolio_page(request: Request, ctx: Ctx, caller: ReaderPage, product: str | None = None) -> Response:
    product = _product(ctx, product)
    ruleset = ctx.product(product)
    pf = portfolio.portfolio(portfolio.enterprise_rows(ctx, product))
    lang = request.state.lang
    t = request.state.t
    band_ids = [b.id for b in ruleset.spec.bands]
    by_ind = sorted(pf.by_industry.items(), key=lambda kv: (-kv[1]["limit_yuan"], kv[0]))
    # each industry chart sorted by its own values; labels shortened with an ellipsis, full text on hover
    svgs = {
        "scores": charts.histogram(
            pf.scores, marker=ruleset.spec.threshold, title=t("pf.scores"),
            marker_label=f"{t('pf.threshold')} {ruleset.spec.threshold:g}", x_title=t("chart.score"),
            y_title=t("chart.enterprises"),
        ),
        "bands": charts.hbar([(b, float(pf.bands.get(b, 0))) for b in band_ids], title=t("pf.bands"),
                             axis_title=t("chart.enterprises")),
        "eligible": charts.hbar([(industry_label(k, lang), float(v["eligible"])) for k, v in by_ind],
                                title=t("pf.eligible_by_industry"), colour="#1e7b34", sort=True,
                                axis_title=t("chart.enterprises")),
        "limit": charts.hbar([(industry_label(k, lang), v["limit_yuan"] / 10_000) for k, v in by_ind],
                             title=t("pf.limit_by_industry"), colour="#8e5b00", sort=True,
                             axis_title=t("chart.limit_10k")),
    }  # fmt: skip
    return page(request, "portfolio.html", caller, pf=pf, svgs=svgs, product=product, products=ctx.products(),
                by_industry=by_ind)  # fmt: skip


@router.get("/score")
def score_form(request: Request, ctx: Ctx, caller: CommitteePage) -> Response:
    return page(request, "score.html", caller, products=ctx.products(), job=None)


@router.post("/score")
def score_start(
    request: Request,
    ctx: Ctx,
    caller: CommitteePage,
    product: Annotated[str, Form(max_length=50)],
    csrf: Annotated[str, Form(max_length=100)],
    park_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    product = _product(ctx, product)
    job = decisions.start_batch(ctx, caller, product=product, park_id=park_id.strip() or None)
    assert isinstance(job, s.JobOut)  # no idempotency key: never a replay (the job runner runs it)
    return RedirectResponse(f"/web/jobs/{job.job_id}", 303)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, ctx: Ctx, caller: CommitteePage) -> Response:
    return page(request, "job.html", caller, job=decisions.read_job(ctx, job_id))


@router.get("/jobs/{job_id}/status")
def job_status(job_id: str, ctx: Ctx, caller: CommitteePage) -> Response:
    try:
        job = decisions.read_job(ctx, job_id)
    except ParkcreditError as exc:
        return JSONResponse({"detail": exc.message}, exc.status)
    return JSONResponse({"status": job.status, "done": job.done, "total": job.total, "result": job.result,
                         "error": job.error})  # fmt: skip


@router.get("/import")
def import_form(request: Request, caller: FeedPage) -> Response:
    return page(request, "import.html", caller, result=None, error=None, departments=DEPARTMENTS)


@router.post("/import")
def import_upload(
    request: Request,
    ctx: Ctx,
    caller: FeedPage,
    file: UploadFile,
    csrf: Annotated[str, Form(max_length=100)],
    strict: Annotated[bool, Form()] = False,
    department: Annotated[str, Form(max_length=40)] = "",
    as_of: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """The same use case as `POST /v1/imports` and `parkcredit import`: the same report, shown as a page."""
    check_csrf(request, csrf)
    try:
        date = dt.date.fromisoformat(as_of) if as_of else None
        out = imports.import_profiles(ctx, caller, data=file.file.read(ctx.settings.max_upload_bytes + 1),
                                      filename=file.filename or "", strict=strict, department=department or None,
                                      as_of=date)  # fmt: skip
    except ValueError as exc:  # InvalidInput, or an as-of date that is not YYYY-MM-DD
        return page(request, "import.html", caller, result=None, error=str(exc)[:300], status=422,
                    departments=DEPARTMENTS)  # fmt: skip
    assert isinstance(out, ImportOut)  # no idempotency key: never a replay
    return page(request, "import.html", caller, result=out, error=None, status=422 if out.refused else 200,
                departments=DEPARTMENTS)  # fmt: skip


@router.get("/data-quality")
def data_quality_page(
    request: Request, ctx: Ctx, caller: FeedReaderPage, department: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    """A department's data: coverage, stale share, values that jumped in its last feed (`GET /v1/data-quality`)."""
    view = data_quality(ctx, caller, department or caller.department or "tax")
    return page(request, "data_quality.html", caller, view=view, departments=DEPARTMENTS)


# ---- decisions and reports (committee, auditor) ------------------------------------------------------------------


@router.get("/decisions")
def decisions_page(
    request: Request,
    ctx: Ctx,
    caller: ReaderPage,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    code = uscc.strip().upper() if uscc else None
    rows = decisions.list_decisions(ctx, uscc=code, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
    return page(request, "decisions.html", caller, rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE,
                page_no=page_no, uscc=uscc or "")  # fmt: skip


@router.get("/decisions/{decision_id}/report")
def report_page(
    request: Request,
    decision_id: str,
    ctx: Ctx,
    caller: ReaderPage,
    format: Annotated[str, Query(pattern="^(html|pdf)$")] = "html",
) -> Response:
    try:
        report = render_report(ctx, decision_id, fmt=format, lang=request.state.lang)
    except PdfUnavailable as exc:
        raise WebError(503, "err.unavailable", str(exc)) from None
    return Response(report.content, media_type=report.media_type, headers=report.headers())


# ---- auditor -----------------------------------------------------------------------------------------------------


@router.get("/audit")
def audit_page(request: Request, ctx: Ctx, caller: AuditorPage) -> Response:
    return page(request, "audit.html", caller, result=audit.verify(ctx), recent=audit.recent(ctx))


@router.get("/overrides")
def overrides_page(request: Request, ctx: Ctx, caller: AuditorPage) -> Response:
    rows, by_officer = overrides.officer_counts(ctx)
    return page(request, "overrides.html", caller, rows=rows, columns=overrides.OVERRIDE_COLUMNS,
                by_officer=by_officer)  # fmt: skip


@router.get("/bank-queries")
def bank_queries_page(
    request: Request,
    ctx: Ctx,
    caller: QueryLogPage,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    rows = access.query_log(ctx, caller, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
    return page(request, "bank_queries.html", caller, rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE,
                page_no=page_no)  # fmt: skip


@router.get("/rulesets")
def rulesets_page(request: Request, ctx: Ctx, caller: RulesReaderPage) -> Response:
    """The rule-set history as the committee reads it (product names, states, short hashes, no server paths)."""
    rows = ruleset_pages.versions(ctx, caller)
    loaded = sorted(ctx.latest.values(), key=lambda r: r.product)
    return page(request, "rulesets.html", caller, rows=rows, loaded=loaded)


@router.get("/policies")
def policies_page(
    request: Request,
    ctx: Ctx,
    caller: ReaderPage,
    policy: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")] = None,
) -> Response:
    """政策找企业: a policy's push list (the first policy when none is chosen)."""
    chosen = app_policies.push_list_page(ctx, caller, policy)
    return page(request, "policies.html", caller, policies=chosen.policies, chosen=chosen.push)


@router.get("/monitoring")
def monitoring_page(request: Request, ctx: Ctx, caller: ReaderPage, product: str | None = None) -> Response:
    product = _product(ctx, product)
    try:
        report = monitoring(ctx, product)
    except Exception as exc:  # the page reports the failure, the site stays up
        view = {"available": False, "why": f"{type(exc).__name__}: {exc}", "report": None}
    else:
        rows = [("score", x) for x in report["scores"]] + [("characteristic", x) for x in report["characteristics"]]
        rows += [("input", x) for x in report["inputs"]]
        rows.sort(key=lambda kx: -(kx[1]["psi"] or 0.0))
        windows = {w: (report[w]["from"], report[w]["to"]) for w in ("reference", "current")}
        view = {"available": True, "why": None, "report": report, "rows": rows,
                "approval": report["approval_over_time"], "windows": windows}  # fmt: skip
    return page(request, "monitoring.html", caller, view=view, product=product, products=ctx.products())


# ---- bank lifecycle (issue 14): loans outstanding, alerts, risk pools ----------------------------------------------

AlertsPage = Annotated[Actor, Depends(require_page("committee", "auditor", "bank"))]


@router.get("/loans")
def loans_page(request: Request, ctx: Ctx, caller: ReaderPage) -> Response:
    """Loans outstanding by bank, product and band, and the newest loans."""
    return page(request, "loans.html", caller, rows=app_loans.outstanding(ctx),
                recent=app_loans.recent_loans(ctx, caller, limit=PAGE_SIZE))  # fmt: skip


@router.get("/alerts")
def alerts_page(request: Request, ctx: Ctx, caller: AlertsPage) -> Response:
    """The newest early-warning alerts (a bank: its own)."""
    if caller.role == "bank":
        rows = list(reversed(app_alerts.list_alerts(ctx, caller, after=0, limit=1000).items))[:200]
    else:
        rows = app_alerts.recent_alerts(ctx, limit=200)
    return page(request, "alerts.html", caller, rows=rows)


@router.get("/pools")
def pools_page(request: Request, ctx: Ctx, caller: ReaderPage) -> Response:
    """Every risk pool with its statement."""
    return page(request, "pools.html", caller,
                statements=[app_pools.statement(ctx, p.pool_id) for p in app_pools.list_pools(ctx)])  # fmt: skip
