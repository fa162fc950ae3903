"""Sign-in for the web pages: a random session token in an HttpOnly cookie; roles are checked per page.

The API key is typed once into the sign-in form; the cookie then holds a session token
(`app.web_sessions`: stored hashed, expiring after `Settings.web_session_hours`, revoked at
sign-out, ended by revoking the key), never the key itself. Cookies are HttpOnly,
SameSite=Strict and Secure over HTTPS.

Every state-changing form carries a CSRF token: the HMAC (server pepper) of the session token,
compared in constant time. SameSite=Strict already keeps other sites' forms from posting with the
cookie; the token is the second lock. The sign-in form, which has no session yet, refuses a POST
whose `Origin` header names another site.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from fastapi import Request

from parkcredit.app import Actor
from parkcredit.app.web_sessions import session_actor

__all__ = ["COOKIE", "LANG_COOKIE", "PAGE_ROLES", "LoginRequired", "PageForbidden", "csrf_ok", "csrf_token",
           "require_page", "same_origin", "session_token", "web_caller"]  # fmt: skip

COOKIE = "pc_session"
LANG_COOKIE = "pc_lang"
PAGE_ROLES = ("committee", "auditor", "bank", "enterprise")  # approver and admin keys have no pages


class LoginRequired(Exception):
    """No valid session cookie: the page redirects to the sign-in form."""


class PageForbidden(Exception):
    """The signed-in role may not see this page (403 page)."""


def session_token(request: Request) -> str:
    """The session token of the browser's cookie ("" without one)."""
    return request.cookies.get(COOKIE, "")


def web_caller(request: Request) -> Actor | None:
    """The caller behind the session cookie, or None (missing, unknown, expired, signed out, key revoked)."""
    if not hasattr(request.state, "web_caller"):  # one lookup per request (the page and its error page)
        request.state.web_caller = session_actor(request.app.state.ctx, session_token(request))
    caller: Actor | None = request.state.web_caller
    return caller


def csrf_token(request: Request) -> str:
    """The CSRF token of the signed-in browser (HMAC of its session token)."""
    pepper = request.app.state.settings.api_key_pepper.encode()
    return hmac.new(pepper, b"csrf:" + session_token(request).encode(), hashlib.sha256).hexdigest()[:40]


def csrf_ok(request: Request, token: str) -> bool:
    """Whether a form's CSRF token is this session's (constant-time compare; never without a session)."""
    return bool(session_token(request)) and hmac.compare_digest(token.encode(), csrf_token(request).encode())


def same_origin(request: Request) -> bool:
    """False when the browser says the form came from another site (`Origin` of another host)."""
    origin = request.headers.get("origin")
    if origin is None:  # not a browser, or a same-origin GET turned POST by an old browser
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


def require_page(*roles: str) -> Callable[[Request], Actor]:
    """A page dependency admitting `roles`: sign-in redirect without a session, 403 page for other roles."""

    def check(request: Request) -> Actor:
        caller = web_caller(request)
        if caller is None:
            raise LoginRequired()
        if caller.role not in roles:
            raise PageForbidden(caller.role)
        return caller

    return check
