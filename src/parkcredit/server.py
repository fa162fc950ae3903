"""The composition root: one FastAPI app with the API (`parkcredit.api`) and the web pages
(`parkcredit.web`); the `AppContext` (engine, rule sets, model) lives in the lifespan.

Nothing is kept per process that several workers would disagree on: idempotency keys and jobs
are rows in the database; the rule sets and the model are read-only copies of files.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from parkcredit import api, web
from parkcredit.api.errors import app_error_response, database_unavailable, validation_error_response
from parkcredit.api.fastpath import EligibilityFastPath
from parkcredit.app import AppContext, alerts, audit, decisions
from parkcredit.app.eligibility import FastLookup
from parkcredit.errors import ParkcreditError
from parkcredit.middleware import RequestGuard
from parkcredit.settings import Settings, get_settings
from parkcredit.store.errors import UNAVAILABLE, ProgrammingError, not_migrated

__all__ = ["create_app", "openapi_text"]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx = AppContext.open(app.state.settings)
    app.state.ctx = ctx
    app.state.sessions = ctx.sessions  # for tests and tools that open their own sessions
    ctx.runner.start()  # jobs whose worker died are marked failed; this process's job leases are kept
    decisions.start_decide_process(ctx)  # a store of a province's size: the batch's decide process, warm
    decisions.warm(ctx)  # the model's kernels loaded now, not by the first decision request
    # webhook deliveries of bank alerts (issue 14): one thread, woken after commits that queue them
    webhooks = alerts.DeliveryWorker(ctx).start() if ctx.settings.webhook_worker else None
    # signed checkpoints of the audit chain head, every audit_checkpoint_interval_s (docs/operations.md)
    checkpoints = audit.CheckpointWriter(ctx, ctx.settings.audit_checkpoint_interval_s)
    checkpoints.start()
    # the banks' single query in one statement and a group-committed log (issue 18: api/fastpath.py)
    fast = FastLookup(ctx) if app.state.fast_eligibility_enabled else None
    app.state.fast_eligibility = fast
    try:
        yield
    finally:
        app.state.fast_eligibility = None
        if fast is not None:
            fast.close()  # the queued bank-query records are written first
        checkpoints.stop()
        if webhooks is not None:
            webhooks.stop()
        ctx.close()  # running jobs get up to shutdown_grace_seconds, then are failed as interrupted


def create_app(settings: Settings | None = None, *, fast_eligibility: bool = True) -> FastAPI:
    """The parkcredit app (API + web pages) for `settings` (default: from the environment).

    `fast_eligibility=False` sends every `GET /v1/eligibility/{uscc}` through its route (the fast path's
    reference, for the tests that compare the two)."""
    app = FastAPI(
        title="parkcredit",
        version="1.0.0",
        summary="园区企业征信评分 — park enterprise credit scoring and 企业诚信贷 eligibility",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served with local assets (api/docs.py): no CDN
        redoc_url=None,
    )
    app.state.settings = settings or get_settings()
    app.state.fast_eligibility_enabled = fast_eligibility
    api.install(app)
    web.install(app)

    @app.exception_handler(ParkcreditError)
    async def _app_error(request: Request, exc: ParkcreditError) -> Response:
        """A use case's error: a page under /web/, the API's JSON everywhere else."""
        if request.url.path.startswith("/web/"):
            return web.app_error_page(request, exc)
        return app_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        """Input the route cannot take: a 422 page under /web/, the API's 422 JSON (echoes cut short) elsewhere."""
        if request.url.path.startswith("/web/"):
            return web.validation_error_page(request, exc)
        return validation_error_response(exc)

    async def _unavailable(request: Request, exc: Exception) -> Response:
        """The database unreachable or unmigrated: a 503 page under /web/, the API's 503 JSON elsewhere."""
        if isinstance(exc, ProgrammingError) and not not_migrated(exc):
            raise exc  # a bad statement is a bug: a 500 with its traceback in the log
        if request.url.path.startswith("/web/"):
            return web.unavailable_page(request, not_migrated(exc))
        return database_unavailable(exc)

    for cls in (*UNAVAILABLE, ProgrammingError):
        app.add_exception_handler(cls, _unavailable)
    s = app.state.settings
    app.add_middleware(EligibilityFastPath, state=app.state)  # inside RequestGuard: its headers on every answer
    app.add_middleware(RequestGuard, max_upload_bytes=s.max_upload_bytes, max_json_bytes=s.max_json_bytes)
    return app


def openapi_text() -> str:
    """The OpenAPI JSON of the app as committed in api/openapi.json: sorted keys, 2-space indent, newline."""
    app = create_app(Settings(database_url="sqlite://", model_enabled=False))
    return json.dumps(app.openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
