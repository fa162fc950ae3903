"""API keys: random 32-byte tokens shown once; only HMAC-SHA256(pepper, token) is stored.

A plain (peppered) hash is enough here: the tokens are random, so there is nothing to
brute-force that a slow password hash would protect.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import ApiKey

__all__ = [
    "ROLES", "active_fields", "create_key", "demo_token", "get", "hash_token", "known_hashes", "list_all", "lookup",
    "revoke",
]  # fmt: skip

ROLES = ("committee", "approver", "bank", "auditor", "admin", "department", "enterprise")
TOKEN_PREFIX = "pck_"


def hash_token(token: str, pepper: str) -> str:
    """The stored form of a token."""
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


def demo_token(role: str) -> str:
    """A deterministic token for `--demo` only, so the README's curl examples work."""
    return TOKEN_PREFIX + "demo_" + hashlib.sha256(f"parkcredit-demo-seed-7:{role}".encode()).hexdigest()[:32]


def create_key(
    session: Session,
    role: str,
    pepper: str,
    *,
    bank: str | None = None,
    label: str = "",
    holder: str = "",
    department: str | None = None,
    uscc: str | None = None,
    actor: str = "cli",
    token: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key for `role`; return (row, token).

    Bank keys are bound to one bank, department keys to one department, enterprise keys to one
    USCC. `holder` names the person (default: the key id, i.e. a person of its own).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    for scoped, value, flag in (("bank", bank, "--bank"), ("department", department, "--department"),
                                ("enterprise", uscc, "--uscc")):  # fmt: skip
        if (role == scoped) != bool(value):
            raise ValueError(f"a {scoped} key needs {flag}, and only a {scoped} key may have one")
    token = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(6)
    row = ApiKey(
        id=key_id, key_hash=hash_token(token, pepper), role=role, bank=bank, label=label,
        holder=holder or key_id, department=department, uscc=uscc,
    )  # fmt: skip
    session.add(row)
    audit.append(session, actor, "key.create", "api_key", row.id,
                 {"role": role, "bank": bank, "label": label, "holder": row.holder, "department": department,
                  "uscc": uscc}, bind=[row])  # fmt: skip
    return row, token


def lookup(session: Session, token: str, pepper: str) -> ApiKey | None:
    """The active key for `token`, or None."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(token, pepper)))
    return row if row is not None and row.revoked_at is None else None


# built once: every API request authenticates with it (building the statement cost about as much as sending it)
_ACTIVE = select(ApiKey.id, ApiKey.role, ApiKey.bank, ApiKey.holder, ApiKey.department, ApiKey.uscc,
                 ApiKey.revoked_at).where(ApiKey.key_hash == bindparam("key_hash"))  # fmt: skip


def active_fields(
    session: Session, token: str, pepper: str
) -> tuple[str, str, str | None, str | None, str | None, str | None] | None:
    """(id, role, bank, holder, department, uscc) of the active key for `token`, or None — `lookup` as one
    Core row (every API request authenticates: issue 18, no ORM object for it)."""
    row = session.execute(_ACTIVE, {"key_hash": hash_token(token, pepper)}).first()
    if row is None or row[6] is not None:
        return None
    return (row[0], row[1], row[2], row[3], row[4], row[5])


def get(session: Session, key_id: str) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def list_all(session: Session) -> list[ApiKey]:
    """Every key, oldest first (never their tokens: only hashes are stored)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke(session: Session, row: ApiKey, *, actor: str) -> ApiKey:
    """Set `revoked_at` (keys are kept); revoking twice keeps the first time."""
    from parkcredit.store.tables import utcnow

    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append(session, actor, "key.revoke", "api_key", row.id, {"role": row.role, "bank": row.bank},
                     bind=[row])  # fmt: skip
    return row


def known_hashes(session: Session) -> set[str]:
    return {r.key_hash for r in session.scalars(select(ApiKey))}
