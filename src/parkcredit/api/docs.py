"""The API's documentation pages, Swagger UI at `/docs` and ReDoc at `/redoc`, served by the service itself.

FastAPI's own pages load their JavaScript and CSS from a public CDN (and ReDoc its fonts from Google),
so on a park's intranet they are blank. The assets come from the `fastapi-offline` package (it ships
the Swagger UI bundle, its CSS and the ReDoc standalone bundle as package data) and are mounted at
`/api-docs/assets`; the pages are plain HTML whose one script of our own (`swagger-init.js`) reads the
spec URL from a data attribute — no inline script, so a Content-Security-Policy of `script-src 'self'`
holds. Nothing on either page points outside the service.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_URL", "CSP", "install"]

# own origin only: scripts from files, styles inline (Swagger UI and ReDoc inject them), ReDoc's search worker
# from a blob; the ReDoc sidebar's logo from its CDN is refused by the browser (img-src 'self'), never fetched
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'")  # fmt: skip
ASSETS_URL = "/api-docs/assets"
OURS_URL = "/api-docs/static"
_OURS = Path(__file__).parent / "static"


def _vendor_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def _swagger_html(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} — Swagger UI</title>
<link rel="icon" href="{ASSETS_URL}/favicon.png"><link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
</head><body><div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script><script src="{OURS_URL}/swagger-init.js"></script>
</body></html>"""


def _redoc_html(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} — ReDoc</title>
<link rel="icon" href="{ASSETS_URL}/favicon.png"><link rel="stylesheet" href="{OURS_URL}/redoc.css">
</head><body><redoc spec-url="{escape(openapi_url)}"></redoc>
<script src="{ASSETS_URL}/redoc.standalone.js"></script></body></html>"""


def install(app: FastAPI) -> None:
    """Serve `/docs` and `/redoc` with local assets (the app must be created with docs_url=redoc_url=None)."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_URL, StaticFiles(directory=_vendor_dir()), name="api-docs-assets")
    app.mount(OURS_URL, StaticFiles(directory=_OURS), name="api-docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(_swagger_html(app.title, openapi_url), headers={"Content-Security-Policy": CSP})

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(_redoc_html(app.title, openapi_url), headers={"Content-Security-Policy": CSP})
