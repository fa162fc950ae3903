"""Who acts: the authenticated key behind an HTTP request, a signed-in page or a CLI `--key`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SYSTEM", "Actor"]


@dataclass(frozen=True)
class Actor:
    """The key id (recorded on every write), its role, and its scope.

    `bank` binds a bank key, `department` a department key, `uscc` an enterprise key; `holder` is
    the person holding the key (two keys of one holder are one person for maker-checker).
    """

    key_id: str
    role: str
    bank: str | None = None
    holder: str = ""
    department: str | None = None
    uscc: str | None = None


SYSTEM = Actor("system", "system")  # the service itself (seeding, decisions made on a bank's query)
