"""Web sign-in sessions: only the sha256 of the cookie's random token is stored.

Each sign-in and each sign-out is an audit entry that binds the session row (`bind=`), so the
chain shows who signed in when, and a session row edited behind the service's back (an extended
`expires_at`, a cleared `revoked_at`) is reported by `parkcredit audit verify`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import ApiKey, WebSession, utcnow

__all__ = ["TOKEN_PREFIX", "active", "create", "hash_token", "revoke"]

TOKEN_PREFIX = "pcs_"


def hash_token(token: str) -> str:
    """The stored form of a session token (a random 256-bit token needs no pepper)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create(session: Session, *, key: ApiKey, lifetime: dt.timedelta) -> tuple[WebSession, str]:
    """A new session of `key`, expiring after `lifetime`; returns (row, token). The token is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(id=str(uuid.uuid4()), token_hash=hash_token(token), key_id=key.id, created_at=now,
                     expires_at=now + lifetime)  # fmt: skip
    session.add(row)
    audit.append(session, key.id, "web.sign_in", "web_session", row.id,
                 {"key_id": key.id, "expires_at": row.expires_at.isoformat()}, bind=[row])  # fmt: skip
    return row, token


def _aware(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t  # SQLite hands back UTC without its offset


def active(session: Session, token: str) -> tuple[WebSession, ApiKey] | None:
    """The unexpired, unrevoked session of `token` and its still active key, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    found = session.execute(
        select(WebSession, ApiKey).join(ApiKey, ApiKey.id == WebSession.key_id)
        .where(WebSession.token_hash == hash_token(token))
    ).first()  # fmt: skip
    if found is None:
        return None
    row, key = found
    if row.revoked_at is not None or key.revoked_at is not None or _aware(row.expires_at) <= utcnow():
        return None
    return row, key


def revoke(session: Session, token: str) -> WebSession | None:
    """Revoke the session of `token` (sign-out); None when there is no such session. Revoking twice keeps the first."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return row
    row.revoked_at = utcnow()
    audit.append(session, row.key_id, "web.sign_out", "web_session", row.id, {"key_id": row.key_id}, bind=[row])
    return row
