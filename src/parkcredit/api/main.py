"""The API's routers, error mapping and health routes, added to the app by `install`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from parkcredit.api import docs, errors
from parkcredit.api.deps import Ctx
from parkcredit.api.routers import admin, auditor, bank, committee, departments, enterprise, explain, governance
from parkcredit.app import schemas
from parkcredit.app.health import readiness

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add every `/v1` router, the error mapping and `/healthz`, `/readyz` to `app`."""
    errors.install(app)
    docs.install(app)
    for r in (committee.router, bank.router, auditor.router, admin.router, governance.router, enterprise.router):
        app.include_router(r)
    app.include_router(explain.router)
    app.include_router(departments.router)

    @app.get("/healthz", response_model=schemas.Health, tags=["health"])
    async def healthz() -> schemas.Health:
        """The process is up."""
        return schemas.Health(status="ok")

    @app.get("/readyz", response_model=schemas.Ready, tags=["health"], responses={503: {"model": schemas.Ready}})
    def readyz(ctx: Ctx) -> Any:
        """Database reachable and migrated, rule sets loaded, model status."""
        body = readiness(ctx)
        return body if body.status == "ready" else JSONResponse(body.model_dump(), status_code=503)
