"""Operator routes: API keys (create, list, revoke)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from parkcredit.service import schemas as s
from parkcredit.service import views
from parkcredit.service.deps import Admin, IdempotencyDep, ReadSession, WriteSession
from parkcredit.service.errors import NotFound
from parkcredit.store import audit, keys
from parkcredit.store.tables import ApiKey, utcnow

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/keys", status_code=201, response_model=s.KeyOut)
def create_key(body: s.KeyRequest, request: Request, session: WriteSession, caller: Admin, idem: IdempotencyDep) -> Any:
    """Create an API key; the token is shown in this response only."""
    if (hit := idem.replay(session, caller, body)) is not None:
        return hit
    pepper = request.app.state.settings.api_key_pepper
    row, token = keys.create_key(session, body.role, pepper, bank=body.bank, label=body.label, actor=caller.key_id)
    # the stored idempotent replay must not keep the token: a retry gets the key without it
    out = views.key(row)
    idem.finish(session, 201, out)
    return views.key(row, token)


@router.get("/keys", response_model=list[s.KeyOut])
def read_keys(session: ReadSession, caller: Admin) -> Any:
    """All API keys (never their tokens)."""
    return [views.key(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.created_at))]


@router.delete("/keys/{key_id}", response_model=s.KeyOut)
def revoke_key(key_id: str, session: WriteSession, caller: Admin) -> Any:
    """Revoke an API key (kept, with revoked_at set)."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append(session, caller.key_id, "key.revoke", "api_key", row.id, {"role": row.role, "bank": row.bank})
    session.commit()
    return views.key(row)
