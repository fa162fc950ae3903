"""Who is calling: `Authorization: Bearer <key>` -> the caller's `Actor`; roles checked per route.

401 when the key is missing, unknown or revoked; 403 when its role may not use the route.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parkcredit.app import Actor
from parkcredit.app.keys import actor_of

__all__ = ["current_caller", "require"]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer pck_…`")


def current_caller(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Actor:
    """The caller behind the bearer token, or 401."""
    if cred is None or not cred.credentials:
        raise HTTPException(401, "missing API key (Authorization: Bearer <key>)", {"WWW-Authenticate": "Bearer"})
    actor = actor_of(request.app.state.ctx, cred.credentials)
    if actor is None:
        raise HTTPException(401, "invalid or revoked API key", {"WWW-Authenticate": "Bearer"})
    return actor


def require(*roles: str) -> Callable[[Actor], Coroutine[Any, Any, Actor]]:
    """A dependency admitting only `roles` (403 for the others)."""

    async def check(caller: Annotated[Actor, Depends(current_caller)]) -> Actor:  # no I/O: no thread-pool hop
        if caller.role not in roles:
            raise HTTPException(403, f"role {caller.role!r} may not do this (needs {' or '.join(roles)})")
        return caller

    return check
