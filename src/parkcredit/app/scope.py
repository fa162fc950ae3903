"""Whose records an actor may see: one check, asked by every use case that reads an enterprise.

An enterprise key (`Actor.uscc`) sees its own enterprise and nothing of any other (403). A bank sees
enterprises only through `eligibility` (under an authorization), never through these reads.
"""

from __future__ import annotations

from parkcredit.app.actor import Actor
from parkcredit.errors import Forbidden

__all__ = ["ensure_may_see", "own_uscc"]


def ensure_may_see(actor: Actor | None, uscc: str) -> None:
    """Forbidden unless `actor` may read the records of `uscc` (None: the service itself, or a CLI)."""
    if actor is None:
        return
    if actor.role == "enterprise" and actor.uscc != uscc:
        raise Forbidden("an enterprise key sees only its own enterprise")
    if actor.role == "bank":
        raise Forbidden("a bank sees an enterprise only through an eligibility query under its authorization")


def own_uscc(actor: Actor) -> str:
    """The USCC an enterprise key is bound to (Forbidden for any other role)."""
    if actor.role != "enterprise" or not actor.uscc:
        raise Forbidden("only an enterprise key acts for its own enterprise here")
    return actor.uscc
