"""The server-rendered pages (Jinja2): committee, auditor and bank views, signed in by key cookie.

Pages are excluded from the OpenAPI document (they are not the API). Every error a person can
cause is a page with a message: 303 to the sign-in form without a key, 403 for a role that may
not see the page, 404 for an unknown object, 422 for bad input; never a 500.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from parkcredit.profile import to_frame
from parkcredit.reports import charts
from parkcredit.reports.i18n import LANGS, industry_label
from parkcredit.service.auth import Caller
from parkcredit.service.deps import ReadSession, Services, ServicesDep
from parkcredit.service.errors import FieldError
from parkcredit.store import audit, repo
from parkcredit.store.db import write_session
from parkcredit.store.tables import AuditEntry, BankQuery, Decision, Job, Override, RuleSetVersion
from parkcredit.web import data
from parkcredit.web.auth import COOKIE, LANG_COOKIE, PAGE_ROLES, check_token, csrf_token, require_page, web_caller
from parkcredit.web.render import WebError, page

__all__ = ["router"]

router = APIRouter(prefix="/web", include_in_schema=False)

CommitteePage = Annotated[Caller, Depends(require_page("committee"))]
ReaderPage = Annotated[Caller, Depends(require_page("committee", "auditor"))]
AuditorPage = Annotated[Caller, Depends(require_page("auditor"))]
QueryLogPage = Annotated[Caller, Depends(require_page("auditor", "bank"))]
PAGE_SIZE = 50
HOME = {"committee": "/web/portfolio", "auditor": "/web/audit", "bank": "/web/bank-queries"}


def _product(services: Services, product: str | None) -> str:
    if not product:
        return "chengxindai" if "chengxindai" in services.rulesets else sorted(services.rulesets)[0]
    if product not in services.rulesets:
        raise WebError(
            422, "err.bad_request", f"unknown product {product!r}; known: {', '.join(sorted(services.rulesets))}"
        )
    return product


def _check_csrf(request: Request, token: str) -> None:
    if token != csrf_token(request):
        raise WebError(403, "err.forbidden", "the form's CSRF token does not match this sign-in; reload the page")


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
    caller = check_token(request, key)
    if caller is None:
        return page(request, "login.html", None, next=_safe_next(next), error="login.bad", status=401)
    if caller.role not in PAGE_ROLES:
        return page(request, "login.html", None, next=_safe_next(next), error="login.role_none", status=403)
    target = _safe_next(next)
    if target == "/web/":
        target = HOME[caller.role]
    resp = RedirectResponse(target, 303)
    resp.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", secure=request.url.scheme == "https",
                    path="/", max_age=8 * 3600)  # fmt: skip
    return resp


@router.post("/logout")
def logout() -> Response:
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
def enterprises(
    request: Request,
    session: ReadSession,
    caller: ReaderPage,
    services: ServicesDep,
    product: str | None = None,
    industry: Annotated[str | None, Query(max_length=10)] = None,
    band: Annotated[str | None, Query(max_length=20)] = None,
    knocked_out: Annotated[str | None, Query(pattern="^(|yes|no)$")] = None,
    eligible: Annotated[str | None, Query(pattern="^(|yes|no)$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(data.SORT_KEYS) + ")$")] = "score",
    dir: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    product = _product(services, product)
    rows = data.enterprise_rows(session, product)
    industries = sorted({r.industry for r in rows if r.industry})
    shown = data.filter_sort(rows, industry=industry, band=band, knocked_out=_opt_bool(knocked_out),
                             eligible=_opt_bool(eligible), q=q, sort=sort, descending=dir == "desc")  # fmt: skip
    pages = max(1, math.ceil(len(shown) / PAGE_SIZE))
    params = {k: v for k, v in {"product": product, "industry": industry, "band": band, "knocked_out": knocked_out,
                                "eligible": eligible, "q": q, "sort": sort, "dir": dir}.items() if v}  # fmt: skip
    return page(
        request, "enterprises.html", caller, rows=shown[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE],
        total=len(shown), page_no=page_no, pages=pages, params=params, industries=industries,
        bands=[b.id for b in services.ruleset(product).spec.bands], products=sorted(services.rulesets),
        product=product, urlencode=urlencode,
    )  # fmt: skip


@router.get("/enterprises/{uscc}")
def enterprise(
    request: Request,
    uscc: str,
    session: ReadSession,
    caller: ReaderPage,
    services: ServicesDep,
    product: str | None = None,
) -> Response:
    product = _product(services, product)
    snaps = repo.snapshots_of(session, uscc.strip().upper()[:18])
    if not snaps:
        raise WebError(404, "err.not_found", f"no enterprise {uscc}")
    latest = snaps[0]
    decisions = repo.latest_decisions_of(session, latest.uscc, limit=50)
    current = next((d for d in decisions if d.product == product), None)
    path: list[dict[str, Any]] | None = None
    path_error = None
    eligible_now = None
    try:
        from parkcredit.decision import decide
        from parkcredit.model.counterfactual import path_to_eligibility

        ruleset = services.ruleset(product)
        frame = to_frame([repo.profile_of(session, latest)])
        eligible_now = bool(decide(frame, ruleset, services.model).summary["eligible"].iloc[0])
        path = [] if eligible_now else path_to_eligibility(frame, ruleset, services.model, max_changes=3, max_options=6)
    except Exception as exc:  # the page shows why, the rest stays usable
        path_error = f"{type(exc).__name__}: {exc}"
    overrides = list(session.scalars(select(Override).where(Override.decision_id.in_([d.id for d in decisions]))))
    return page(
        request, "enterprise.html", caller, snap=latest, snaps=snaps, decisions=decisions, current=current,
        product=product, products=sorted(services.rulesets), path=path, path_error=path_error,
        eligible_now=eligible_now, overrides=overrides,
    )  # fmt: skip


@router.get("/portfolio")
def portfolio_page(
    request: Request, session: ReadSession, caller: ReaderPage, services: ServicesDep, product: str | None = None
) -> Response:
    product = _product(services, product)
    ruleset = services.ruleset(product)
    pf = data.portfolio(data.enterprise_rows(session, product))
    lang = request.state.lang
    t = request.state.t
    band_ids = [b.id for b in ruleset.spec.bands]
    by_ind = sorted(pf.by_industry.items(), key=lambda kv: (-kv[1]["limit_yuan"], kv[0]))
    svgs = {
        "scores": charts.histogram(
            pf.scores, marker=ruleset.spec.threshold, title=t("pf.scores"),
            marker_label=f"{t('pf.threshold')} {ruleset.spec.threshold:g}",
        ),
        "bands": charts.hbar([(b, float(pf.bands.get(b, 0))) for b in band_ids], title=t("pf.bands")),
        "eligible": charts.hbar([(industry_label(k, lang)[:14], float(v["eligible"])) for k, v in by_ind],
                                title=t("pf.eligible_by_industry"), colour="#1e7b34"),
        "limit": charts.hbar([(industry_label(k, lang)[:14], v["limit_yuan"] / 10_000) for k, v in by_ind],
                             title=t("pf.limit_by_industry"), colour="#8e5b00"),
    }  # fmt: skip
    return page(request, "portfolio.html", caller, pf=pf, svgs=svgs, product=product,
                products=sorted(services.rulesets), by_industry=by_ind)  # fmt: skip


@router.get("/score")
def score_form(request: Request, caller: CommitteePage, services: ServicesDep) -> Response:
    return page(request, "score.html", caller, products=sorted(services.rulesets), job=None)


@router.post("/score")
def score_start(
    request: Request,
    tasks: BackgroundTasks,
    caller: CommitteePage,
    services: ServicesDep,
    product: Annotated[str, Form(max_length=50)],
    csrf: Annotated[str, Form(max_length=100)],
    park_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    from parkcredit.service.jobs import run_batch

    _check_csrf(request, csrf)
    product = _product(services, product)
    params = {"product": product, "park_id": park_id.strip() or None}
    with write_session(request.app.state.sessions) as session:
        job = repo.add_job(session, "batch_decide", params, caller.key_id)
        job_id = job.id
    tasks.add_task(run_batch, request.app.state, job_id)
    return RedirectResponse(f"/web/jobs/{job_id}", 303)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, session: ReadSession, caller: CommitteePage) -> Response:
    job = session.get(Job, job_id)
    if job is None:
        raise WebError(404, "err.not_found", f"no job {job_id}")
    return page(request, "job.html", caller, job=job)


@router.get("/jobs/{job_id}/status")
def job_status(job_id: str, session: ReadSession, caller: CommitteePage) -> Response:
    job = session.get(Job, job_id)
    if job is None:
        return JSONResponse({"detail": f"no job {job_id}"}, 404)
    return JSONResponse({"status": job.status, "done": job.done, "total": job.total, "result": job.result,
                         "error": job.error})  # fmt: skip


@router.get("/import")
def import_form(request: Request, caller: CommitteePage) -> Response:
    return page(request, "import.html", caller, result=None, error=None)


@router.post("/import")
def import_upload(
    request: Request,
    caller: CommitteePage,
    file: UploadFile,
    csrf: Annotated[str, Form(max_length=100)],
    strict: Annotated[bool, Form()] = False,
) -> Response:
    from parkcredit.service.imports import parse_upload

    _check_csrf(request, csrf)
    raw = file.file.read()
    try:
        profiles, rejected, rows_read = parse_upload(raw, file.filename or "")
    except FieldError as exc:
        return page(request, "import.html", caller, result=None, error=str(exc), status=422)
    stored = 0
    if not (strict and rejected):
        with write_session(request.app.state.sessions) as session:
            snaps = [repo.add_snapshot(session, p, caller.key_id, audit_entry=False) for p in profiles]
            payload = {"rows_read": rows_read, "snapshot_ids": [x.id for x in snaps], "rejected": len(rejected)}
            audit.append(session, caller.key_id, "snapshot.import", "import", file.filename or "upload", payload)
            stored = len(snaps)
    result = {"rows_read": rows_read, "stored": stored, "rejected": rejected, "strict": strict,
              "rejected_rows": len({r.row for r in rejected}), "filename": file.filename}  # fmt: skip
    return page(request, "import.html", caller, result=result, error=None, status=422 if strict and rejected else 200)


# ---- decisions and reports (committee, auditor) ------------------------------------------------------------------


@router.get("/decisions")
def decisions_page(
    request: Request,
    session: ReadSession,
    caller: ReaderPage,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    q = select(Decision).order_by(Decision.created_at.desc(), Decision.id)
    if uscc:
        q = q.where(Decision.uscc == uscc.strip().upper())
    rows = list(session.scalars(q.offset((page_no - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return page(request, "decisions.html", caller, rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE,
                page_no=page_no, uscc=uscc or "")  # fmt: skip


@router.get("/decisions/{decision_id}/report")
def report_page(
    request: Request,
    decision_id: str,
    session: ReadSession,
    caller: ReaderPage,
    services: ServicesDep,
    format: Annotated[str, Query(pattern="^(html|pdf)$")] = "html",
) -> Response:
    from parkcredit.web.api import report_response

    return report_response(session, decision_id, services, format, request.state.lang, web=True)


# ---- auditor -----------------------------------------------------------------------------------------------------


@router.get("/audit")
def audit_page(request: Request, session: ReadSession, caller: AuditorPage) -> Response:
    result = audit.verify(session)
    session.expunge_all()
    recent = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(30)))
    return page(request, "audit.html", caller, result=result, recent=recent)


@router.get("/overrides")
def overrides_page(request: Request, session: ReadSession, caller: AuditorPage) -> Response:
    rows = list(session.scalars(select(Override).order_by(Override.id.desc()).limit(500)))
    columns = [c.key for c in Override.__table__.columns]
    by_officer: dict[tuple[str, str], int] = {}
    for r in rows:
        k = (r.created_by, str(getattr(r, "direction", "") or ("→ " + ("eligible" if r.eligible else "not eligible"))))
        by_officer[k] = by_officer.get(k, 0) + 1
    return page(request, "overrides.html", caller, rows=rows, columns=columns, by_officer=sorted(by_officer.items()))


@router.get("/bank-queries")
def bank_queries_page(
    request: Request,
    session: ReadSession,
    caller: QueryLogPage,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    q = select(BankQuery).order_by(BankQuery.id.desc())
    if caller.role == "bank":
        q = q.where(BankQuery.bank == caller.bank)
    rows = list(session.scalars(q.offset((page_no - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return page(request, "bank_queries.html", caller, rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE,
                page_no=page_no)  # fmt: skip


@router.get("/rulesets")
def rulesets_page(request: Request, session: ReadSession, caller: ReaderPage, services: ServicesDep) -> Response:
    columns = [c.key for c in RuleSetVersion.__table__.columns if c.key != "text"]
    rows = list(session.scalars(select(RuleSetVersion).order_by(RuleSetVersion.product, RuleSetVersion.id)))
    return page(request, "rulesets.html", caller, rows=rows, columns=columns,
                loaded=sorted(services.rulesets.values(), key=lambda r: r.product))  # fmt: skip


@router.get("/monitoring")
def monitoring_page(
    request: Request, session: ReadSession, caller: ReaderPage, services: ServicesDep, product: str | None = None
) -> Response:
    from parkcredit.web.monitoring import monitoring_view

    product = _product(services, product)
    view = monitoring_view(session, services, product)
    return page(request, "monitoring.html", caller, view=view, product=product, products=sorted(services.rulesets))
