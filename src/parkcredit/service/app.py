"""The FastAPI application: `create_app(settings)`; engine, rule sets and model live in the lifespan.

Nothing is kept per process that several workers would disagree on: idempotency keys and jobs
are rows in the database; the rule sets and the model are read-only copies of files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import text

from parkcredit.catalog import load_product, product_codes
from parkcredit.service import errors, schemas
from parkcredit.service.deps import Services
from parkcredit.service.routers import admin, auditor, bank, committee
from parkcredit.settings import Settings, get_settings
from parkcredit.store.db import make_engine, make_sessionmaker
from parkcredit.web import install as install_web

__all__ = ["create_app", "load_model"]


def load_model(settings: Settings) -> tuple[Any, dict[str, Any]]:
    """(model or None, status): the service decides on rules alone when there is no model."""
    if not settings.model_enabled:
        return None, {"status": "disabled", "reason": "PARKCREDIT_MODEL_ENABLED is false"}
    try:
        from parkcredit.model.registry import load_default_model
    except ImportError as exc:
        return None, {"status": "unavailable", "reason": f"model package not installed: {exc}"}
    try:
        model, status = load_default_model(settings)
    except Exception as exc:  # a broken model must not stop the rules-only service
        return None, {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    return model, dict(status)


def load_services(settings: Settings) -> Services:
    """Rule sets of every bundled product, and the optional model."""
    rulesets = {code: load_product(code, settings.rules_dir) for code in product_codes(settings.rules_dir)}
    model, status = load_model(settings)
    return Services(rulesets, model, status)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = make_engine(settings.database_url)
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.services = load_services(settings)
    try:
        yield
    finally:
        engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A parkcredit API app for `settings` (default: from the environment)."""
    app = FastAPI(
        title="parkcredit",
        version="1.0.0",
        summary="园区企业征信评分 — park enterprise credit scoring and 企业诚信贷 eligibility",
        lifespan=lifespan,
    )
    app.state.settings = settings or get_settings()
    errors.install(app)
    for r in (committee.router, bank.router, auditor.router, admin.router):
        app.include_router(r)
    install_web(app)  # the report endpoint and the web pages (parkcredit.web)

    @app.get("/healthz", response_model=schemas.Health, tags=["health"])
    async def healthz() -> schemas.Health:
        """The process is up."""
        return schemas.Health(status="ok")

    @app.get("/readyz", response_model=schemas.Ready, tags=["health"], responses={503: {"model": schemas.Ready}})
    def readyz(request: Request) -> Any:
        """Database reachable and migrated, rule sets loaded, model status."""
        services: Services = request.app.state.services
        try:
            with request.app.state.sessions() as session:
                session.execute(text("SELECT count(*) FROM audit_log"))
            database = "ok"
        except Exception as exc:  # readiness reports, it does not crash
            database = f"error: {type(exc).__name__}"
        ok = database == "ok" and bool(services.rulesets)
        body = schemas.Ready(
            status="ready" if ok else "not_ready",
            database=database,
            rulesets={k: v.version for k, v in services.rulesets.items()},
            model=services.model_status,
        )
        if ok:
            return body
        from fastapi.responses import JSONResponse

        return JSONResponse(body.model_dump(), status_code=503)

    return app
