"""The FastAPI application: `create_app(settings)`; engine, rule sets and model live in the lifespan.

Nothing is kept per process that several workers would disagree on: idempotency keys and jobs
are rows in the database; the rule sets and the model are read-only copies of files.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from parkcredit.catalog import product_codes
from parkcredit.rules import RuleSet, RuleSetError
from parkcredit.service import errors, schemas
from parkcredit.service.deps import Services, compile_text
from parkcredit.service.routers import admin, auditor, bank, committee, governance
from parkcredit.settings import Settings, get_settings
from parkcredit.store import repo
from parkcredit.store.db import make_engine, make_sessionmaker, write_session
from parkcredit.web import install as install_web

__all__ = ["create_app", "load_model"]

log = logging.getLogger("parkcredit")


def load_model(settings: Settings) -> tuple[Any, dict[str, Any]]:
    """(model or None, status): the service decides on rules alone when there is no model."""
    if not settings.model_enabled:
        return None, {"status": "disabled", "reason": "PARKCREDIT_MODEL_ENABLED is false"}
    try:
        from parkcredit.model.runtime import load_default_model
    except ImportError as exc:
        return None, {"status": "unavailable", "reason": f"model package not installed: {exc}"}
    try:
        model, status = load_default_model(settings)
    except Exception as exc:  # a broken model must not stop the rules-only service
        return None, {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    return model, dict(status)


def load_services(settings: Settings, sessions: Any = None) -> Services:
    """Rule sets and the optional model.

    Bundled files (`scoring_rules/*.yaml`) are checked; one that fails is refused (logged and shown
    by /readyz, naming file, line, rule and reason) and the store's last good published version of
    its product keeps serving. With `sessions`, valid bundled files of products the store does not
    know yet are seeded as their first published versions, and each product's latest published
    version is what the service knows it by.
    """
    bundled: dict[str, RuleSet] = {}
    errors: list[str] = []
    for code in product_codes(settings.rules_dir):
        path = settings.rules_dir / f"{code}.yaml"
        try:
            bundled[code] = compile_text(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            errors.append(f"{path}: cannot read: {exc.strerror}")
        except RuleSetError as exc:
            log.error("bundled rule set refused: %s", exc)
            errors.append(str(exc))
    model, status = load_model(settings)
    services = Services(dict(bundled), model, status, errors)
    if sessions is None:
        return services
    try:
        with write_session(sessions) as session:
            repo.seed_rulesets(session, [bundled[c] for c in sorted(bundled)])
            for product, row in repo.latest_published(session).items():
                services.rulesets[product] = services.compiled(row)
    except SQLAlchemyError as exc:  # not migrated or unreachable: /readyz says so; decide with the files
        log.error("rule sets not read from the store: %s", exc)
    return services


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = make_engine(settings.database_url)
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.services = load_services(settings, app.state.sessions)
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
    for r in (committee.router, bank.router, auditor.router, admin.router, governance.router):
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
            rule_errors=services.rule_errors,
        )
        if ok:
            return body
        from fastapi.responses import JSONResponse

        return JSONResponse(body.model_dump(), status_code=503)

    return app
