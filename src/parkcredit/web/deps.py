"""What every page module needs from a request: the app context, and the CSRF check of a posted form."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from parkcredit.app.context import AppContext
from parkcredit.web.auth import csrf_ok
from parkcredit.web.render import WebError

__all__ = ["Ctx", "check_csrf", "ctx_of"]


def ctx_of(request: Request) -> AppContext:
    """The app context the lifespan opened."""
    return request.app.state.ctx  # type: ignore[no-any-return]


Ctx = Annotated[AppContext, Depends(ctx_of)]


def check_csrf(request: Request, token: str) -> None:
    """403 unless `token` is this sign-in's CSRF token (compared in constant time by `auth.csrf_ok`)."""
    if not csrf_ok(request, token):
        raise WebError(403, "err.forbidden", "the form's CSRF token does not match this sign-in; reload the page")
