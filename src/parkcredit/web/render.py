"""Page rendering: the Jinja2 environment, the language of a request, error pages.

The language is Chinese unless the browser chose English (`pc_lang` cookie, set by the switch
in the header) or the URL says `?lang=en`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parkcredit.app import Actor
from parkcredit.errors import ParkcreditError
from parkcredit.reports.i18n import LANGS, translator
from parkcredit.reports.render import template_environment
from parkcredit.web.auth import LANG_COOKIE, LoginRequired, PageForbidden, csrf_token

__all__ = [
    "WebError",
    "app_error_page",
    "install_handlers",
    "page",
    "request_lang",
    "unavailable_page",
    "validation_error_page",
]

TEMPLATES = Path(__file__).parent / "templates"


class WebError(Exception):
    """An error shown as a page: HTTP status, catalog key of the headline, detail text."""

    def __init__(self, status: int, key: str, detail: str = "") -> None:
        super().__init__(detail or key)
        self.status, self.key, self.detail = status, key, detail


def _yuan(v: Any) -> str:
    return "—" if v is None else f"{int(v):,}"


def _when(v: Any) -> str:
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    return "—" if v is None else str(v)


_ENV = template_environment(TEMPLATES)
_ENV.filters.update(yuan=_yuan, when=_when)
_ENV.globals.update(quote=quote)


def query_reason(text: str | None, lang: str) -> str:
    """A bank query's logged reason (stored as the service's English code text) in `lang`."""
    if not text:
        return "—"
    if text.startswith("whitelist: "):
        n = text.removeprefix("whitelist: ").split(" ", 1)[0]
        return translator(lang)("bq.reason.whitelist", n=n)
    key = "bq.reason." + text
    found = translator(lang)(key)
    return text if found == key else found


_ENV.globals.update(query_reason=query_reason)


def request_lang(request: Request) -> str:
    """'zh' (default) or 'en', from ?lang= or the language cookie."""
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return lang if lang in LANGS else "zh"


def set_request_lang(request: Request) -> None:
    """Router dependency: put the language and its translator on `request.state`."""
    request.state.lang = request_lang(request)
    request.state.t = translator(request.state.lang)


def page(request: Request, template: str, caller: Actor | None, *, status: int = 200, **ctx: Any) -> HTMLResponse:
    """Render `template` with the common page context (language, translator, caller, CSRF token)."""
    lang = getattr(request.state, "lang", None) or request_lang(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = _ENV.get_template(template).render(
        request=request, lang=lang, t=translator(lang), caller=caller, here=here,
        csrf=csrf_token(request) if caller else "", **ctx,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _error_page(request: Request, status: int, key: str, detail: str) -> HTMLResponse:
    from parkcredit.web.auth import web_caller

    try:
        caller = web_caller(request)
    except Exception:  # the error page must render even when the database is the problem
        caller = None
    return page(request, "error.html", caller, status=status, key=key, detail=detail, code=status)


def app_error_page(request: Request, exc: ParkcreditError) -> Response:
    """A use case's error (not found, forbidden, conflict, bad input) as a page."""
    key = {403: "err.forbidden", 404: "err.not_found"}.get(exc.status, "err.bad_request")
    return _error_page(request, exc.status, key, exc.message)


def install_handlers(app: FastAPI) -> None:
    """Sign-in redirects, 403/404 pages for /web (422 and 503 pages: `validation_error_page`, `unavailable_page`)."""

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/web/login?next=" + quote(request.url.path, safe="/"), 303)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        return _error_page(request, 403, "err.forbidden", f"role {exc.args[0]!r}")

    @app.exception_handler(WebError)
    async def _web(request: Request, exc: WebError) -> Response:
        return _error_page(request, exc.status, exc.key, exc.detail)


def validation_error_page(request: Request, exc: RequestValidationError) -> Response:
    """A form or query the page cannot take, as a 422 page naming the fields (the composition root
    sends /web/ requests here, the API's to its JSON)."""
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:20])
    return _error_page(request, 422, "err.bad_request", detail[:2000])


def unavailable_page(request: Request, not_migrated: bool = False) -> Response:
    """503 page: the database cannot be reached (or has no schema yet); the page says to try again later."""
    detail = "数据库尚未初始化 / the database has no schema yet: parkcredit db upgrade" if not_migrated else \
        "数据库暂不可用，请稍后重试 / the database cannot be reached; try again later"  # fmt: skip
    resp = _error_page(request, 503, "err.unavailable", detail)
    resp.headers["Retry-After"] = "5"
    return resp
