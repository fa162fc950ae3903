"""Who acts: the authenticated key behind an HTTP request, a signed-in page or a CLI `--key`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SYSTEM", "Actor"]


@dataclass(frozen=True)
class Actor:
    """The key id (recorded on every write), its role, and the bank of a bank key."""

    key_id: str
    role: str
    bank: str | None = None


SYSTEM = Actor("system", "system")  # the service itself (seeding, decisions made on a bank's query)
