"""API keys: create (the token is shown once), list, revoke; and who a token belongs to."""

from __future__ import annotations

from parkcredit.app import schemas as s
from parkcredit.app import views
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.errors import InvalidInput, NotFound
from parkcredit.profile.departments import department_slug
from parkcredit.store import keys
from parkcredit.store.tables import ApiKey

__all__ = ["actor_of", "create_key", "key_actor", "list_keys", "revoke_key"]


def actor_of(ctx: AppContext, token: str) -> Actor | None:
    """The active key behind `token`, or None (missing, unknown or revoked)."""
    if not token:
        return None
    with ctx.read() as session:
        found = keys.active_fields(session, token, ctx.settings.api_key_pepper)
    if found is None:
        return None
    key_id, role, bank, holder, department, uscc = found
    return Actor(key_id, role, bank, holder=holder or key_id, department=department, uscc=uscc)  # as `key_actor`


def key_actor(row: ApiKey) -> Actor:
    """The `Actor` of a stored key row."""
    return Actor(row.id, row.role, row.bank, holder=row.holder or row.id, department=row.department, uscc=row.uscc)


def create_key(
    ctx: AppContext,
    actor: Actor,
    *,
    role: str,
    bank: str | None = None,
    label: str = "",
    holder: str = "",
    department: str | None = None,
    uscc: str | None = None,
    idem: Idem | None = None,
) -> s.KeyOut | Replayed:
    """Create an API key; the token is in this result only (a replayed retry gets the key without it)."""
    if department is not None:  # one spelling stored: the slug (tax, environment, …), given as slug or Chinese name
        try:
            department = department_slug(department)
        except ValueError as exc:
            raise InvalidInput(("body", "department"), str(exc)) from None
    scope = {"role": role, "bank": bank, "label": label, "holder": holder, "department": department, "uscc": uscc}
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, scope)) is not None:
            return hit
        try:
            row, token = keys.create_key(session, role, ctx.settings.api_key_pepper, bank=bank, label=label,
                                         holder=holder, department=department, uscc=uscc,
                                         actor=actor.key_id)  # fmt: skip
        except ValueError as exc:
            raise InvalidInput(("body", "role"), str(exc)) from None
        remember(session, actor, idem, 201, views.key(row))  # the stored replay never keeps the token
        return views.key(row, token)


def list_keys(ctx: AppContext) -> list[s.KeyOut]:
    """All API keys (never their tokens)."""
    with ctx.read() as session:
        return [views.key(r) for r in keys.list_all(session)]


def revoke_key(ctx: AppContext, actor: Actor, key_id: str) -> s.KeyOut:
    """Revoke an API key (kept, with revoked_at set)."""
    with ctx.write() as session:
        row = keys.get(session, key_id)
        if row is None:
            raise NotFound(f"no key {key_id}")
        keys.revoke(session, row, actor=actor.key_id)
        return views.key(row)
