"""Operator routes: API keys (create, list, revoke)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from parkcredit.api.deps import Admin, Ctx, IdemDep, respond
from parkcredit.app import keys
from parkcredit.app import schemas as s

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/keys", status_code=201, response_model=s.KeyOut)
def create_key(body: s.KeyRequest, ctx: Ctx, caller: Admin, idem: IdemDep) -> Any:
    """Create an API key; the token is shown in this response only."""
    return respond(keys.create_key(ctx, caller, role=body.role, bank=body.bank, label=body.label, holder=body.holder,
                                   department=body.department, uscc=body.uscc, idem=idem))  # fmt: skip


@router.get("/keys", response_model=list[s.KeyOut])
def read_keys(ctx: Ctx, caller: Admin) -> Any:
    """All API keys (never their tokens)."""
    return keys.list_keys(ctx)


@router.delete("/keys/{key_id}", response_model=s.KeyOut)
def revoke_key(key_id: str, ctx: Ctx, caller: Admin) -> Any:
    """Revoke an API key (kept, with revoked_at set)."""
    return keys.revoke_key(ctx, caller, key_id)
