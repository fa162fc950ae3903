"""Sign-in for the web pages: the API key becomes an HttpOnly cookie; roles are checked per page.

The cookie holds the key itself (HttpOnly, SameSite=Strict, Secure over HTTPS), looked up on
every request exactly like a bearer token, so revoking a key signs its browser out at once.
Forms carry a CSRF token derived from the key (HMAC with the server's pepper): SameSite=Strict
already keeps other sites' forms from posting with the cookie; the token is the second lock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from fastapi import Request

from parkcredit.app import Actor
from parkcredit.app.keys import actor_of

__all__ = ["COOKIE", "LANG_COOKIE", "PAGE_ROLES", "LoginRequired", "PageForbidden", "check_token", "csrf_token",
           "require_page", "web_caller"]  # fmt: skip

COOKIE = "pc_key"
LANG_COOKIE = "pc_lang"
PAGE_ROLES = ("committee", "auditor", "bank")  # approver and admin keys have no pages


class LoginRequired(Exception):
    """No valid key cookie: the page redirects to the sign-in form."""


class PageForbidden(Exception):
    """The signed-in role may not see this page (403 page)."""


def _lookup(request: Request, token: str | None) -> Actor | None:
    return actor_of(request.app.state.ctx, token or "")


def web_caller(request: Request) -> Actor | None:
    """The caller behind the key cookie, or None (missing, unknown or revoked)."""
    return _lookup(request, request.cookies.get(COOKIE))


def check_token(request: Request, token: str) -> Actor | None:
    """The caller of a key typed into the sign-in form, or None."""
    return _lookup(request, token.strip())


def csrf_token(request: Request) -> str:
    """The CSRF token of the signed-in browser (HMAC of its key cookie)."""
    token = request.cookies.get(COOKIE, "")
    pepper = request.app.state.settings.api_key_pepper.encode()
    return hmac.new(pepper, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]


def require_page(*roles: str) -> Callable[[Request], Actor]:
    """A page dependency admitting `roles`: sign-in redirect without a key, 403 page for other roles."""

    def check(request: Request) -> Actor:
        caller = web_caller(request)
        if caller is None:
            raise LoginRequired()
        if caller.role not in roles:
            raise PageForbidden(caller.role)
        return caller

    return check
