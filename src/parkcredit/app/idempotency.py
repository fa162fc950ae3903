"""`Idempotency-Key` handling for every use case that writes: same key + same request = same response.

The stored response is written in the same transaction as the request's effects, so either both
exist or neither does; the key is scoped to the calling API key. A use case returns `Replayed`
when it found an earlier identical request; each surface renders that as it renders a fresh result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from parkcredit.app.actor import Actor
from parkcredit.errors import Conflict
from parkcredit.store import idempotency as store
from parkcredit.store.audit import canonical

__all__ = ["Idem", "Replayed", "remember", "replay"]


@dataclass
class Replayed:
    """The stored response of an earlier identical request."""

    status: int
    body: dict[str, Any]


@dataclass
class Idem:
    """A request's idempotency key (None: the caller sent none) and the route it was sent to."""

    key: str | None
    route: str
    request_sha256: str = ""


def replay(
    session: Session, actor: Actor, idem: Idem | None, body: BaseModel | dict[str, Any] | bytes
) -> Replayed | None:
    """The stored response of an earlier identical request, None if new; Conflict if the body differs."""
    if idem is None:
        return None
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    raw = body if isinstance(body, bytes) else canonical(body).encode()
    idem.request_sha256 = hashlib.sha256(idem.route.encode() + b"\n" + raw).hexdigest()
    if idem.key is None:
        return None
    row = store.find(session, key_id=actor.key_id, idem_key=idem.key)
    if row is None:
        return None
    if row.request_sha256 != idem.request_sha256:
        raise Conflict(f"Idempotency-Key {idem.key!r} was used with a different request")
    return Replayed(row.status_code, row.response)


def remember(session: Session, actor: Actor, idem: Idem | None, status: int, response: BaseModel) -> None:
    """Store the response under the key (if any), in the caller's transaction."""
    if idem is None or idem.key is None:
        return
    store.remember(
        session, key_id=actor.key_id, idem_key=idem.key, route=idem.route, request_sha256=idem.request_sha256,
        status=status, response=response.model_dump(mode="json"),
    )  # fmt: skip
