"""Stored responses of requests made with an `Idempotency-Key` (unique per calling key)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parkcredit.store.tables import IdempotencyKey

__all__ = ["find", "remember"]


def find(session: Session, *, key_id: str, idem_key: str) -> IdempotencyKey | None:
    q = select(IdempotencyKey).where(IdempotencyKey.key_id == key_id, IdempotencyKey.idem_key == idem_key)
    return session.scalar(q)


def remember(
    session: Session, *, key_id: str, idem_key: str, route: str, request_sha256: str, status: int,
    response: dict[str, Any],
) -> None:  # fmt: skip
    session.add(IdempotencyKey(key_id=key_id, idem_key=idem_key, route=route, request_sha256=request_sha256,
                               status_code=status, response=response))  # fmt: skip
