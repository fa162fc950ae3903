"""Server-rendered web pages (committee, auditor, bank), added to the app by `install`; they call the
same use cases (`parkcredit.app`) as the API and the CLI."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from parkcredit.web.render import app_error_page, unavailable_page, validation_error_page

__all__ = ["app_error_page", "install", "unavailable_page", "validation_error_page"]

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Add the pages, their static files and their error pages to `app`."""
    from parkcredit.web import pages
    from parkcredit.web.render import install_handlers, set_request_lang

    app.include_router(pages.router, dependencies=[Depends(set_request_lang)])
    from parkcredit.web import rules_pages  # issue 17: rule governance (draft, diff, backtest, approve, publish)

    app.include_router(rules_pages.router, dependencies=[Depends(set_request_lang)])
    from parkcredit.web import enterprise_pages  # issue 15: the enterprise's pages, disputes, reviews

    app.include_router(enterprise_pages.router, dependencies=[Depends(set_request_lang)])
    app.mount("/web/static", StaticFiles(directory=STATIC), name="web-static")
    install_handlers(app)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/web/", 303)
