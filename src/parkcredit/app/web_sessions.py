"""Web sign-in sessions: sign in with an API key, get a random session token; sign out revokes it.

The browser's cookie holds the session token, never the API key: the key is typed once into the
sign-in form and only its session travels afterwards. A session expires after
`Settings.web_session_hours`, ends at sign-out (revoked server-side: the old cookie opens
nothing), and ends with its key (a revoked key signs every browser of it out at once).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.keys import key_actor
from parkcredit.store import keys, web_sessions

__all__ = ["SignIn", "session_actor", "sign_in", "sign_out"]


@dataclass(frozen=True)
class SignIn:
    """A new session: who signed in, the token for the cookie (shown once) and its lifetime in seconds."""

    actor: Actor
    token: str
    max_age_seconds: int


def sign_in(ctx: AppContext, api_key: str, *, roles: tuple[str, ...] | None = None) -> SignIn | Actor | None:
    """A new session of the key `api_key`; None for an unknown or revoked key, the bare `Actor` (and no
    session) for a key whose role is not in `roles`."""
    token = api_key.strip()
    if not token or len(token) > 200:
        return None
    hours = ctx.settings.web_session_hours
    with ctx.write() as session:
        row = keys.lookup(session, token, ctx.settings.api_key_pepper)
        if row is None:
            return None
        actor = key_actor(row)
        if roles is not None and actor.role not in roles:
            return actor
        _, session_token = web_sessions.create(session, key=row, lifetime=dt.timedelta(hours=hours))
    return SignIn(actor, session_token, int(hours * 3600))


def session_actor(ctx: AppContext, token: str) -> Actor | None:
    """The caller of an active session token, or None (missing, unknown, expired, signed out, key revoked)."""
    if not token:
        return None
    with ctx.read() as session:
        found = web_sessions.active(session, token)
        return key_actor(found[1]) if found is not None else None


def sign_out(ctx: AppContext, token: str) -> None:
    """Revoke the session of `token` (nothing happens for an unknown or already revoked one)."""
    if not token or not token.startswith(web_sessions.TOKEN_PREFIX) or len(token) > 100:
        return
    with ctx.write() as session:
        web_sessions.revoke(session, token)
