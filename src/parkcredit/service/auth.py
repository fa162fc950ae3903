"""Who is calling: `Authorization: Bearer <key>` -> the caller's key row; roles checked per route.

401 when the key is missing, unknown or revoked; 403 when its role may not use the route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parkcredit.store import keys

__all__ = ["Caller", "current_caller", "require"]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer pck_…`")


@dataclass(frozen=True)
class Caller:
    """The authenticated key: id (recorded on every write), role, and bank for bank keys."""

    key_id: str
    role: str
    bank: str | None


def current_caller(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    """The caller behind the bearer token, or 401."""
    if cred is None or not cred.credentials:
        raise HTTPException(401, "missing API key (Authorization: Bearer <key>)", {"WWW-Authenticate": "Bearer"})
    with request.app.state.sessions() as session:
        row = keys.lookup(session, cred.credentials, request.app.state.settings.api_key_pepper)
        if row is None:
            raise HTTPException(401, "invalid or revoked API key", {"WWW-Authenticate": "Bearer"})
        return Caller(row.id, row.role, row.bank)


def require(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency admitting only `roles` (403 for the others)."""

    def check(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if caller.role not in roles:
            raise HTTPException(403, f"role {caller.role!r} may not do this (needs {' or '.join(roles)})")
        return caller

    return check
