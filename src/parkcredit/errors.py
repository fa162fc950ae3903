"""The errors every layer raises and every surface maps in one place (API: status codes; web: error
pages; CLI: exit codes). Domain and store code raise them; nothing here knows about HTTP.

ParkcreditError          message
├── NotFound             an object that does not exist                        (404, exit 1)
├── Forbidden            the caller may not do this to this object            (403, exit 3)
├── Conflict             the request conflicts with the stored state          (409, exit 4)
│   └── ImmutableRuleSet an approved, published or retired version cannot change
├── InvalidInput         a bad value, with the field path `loc` that names it (422, exit 2)
└── TooLarge             an upload over the configured limit                  (413, exit 2)
"""

from __future__ import annotations

__all__ = ["Conflict", "Forbidden", "ImmutableRuleSet", "InvalidInput", "NotFound", "ParkcreditError", "TooLarge"]


class ParkcreditError(Exception):
    """Base class: `message` is what the person reading the error is told."""

    status = 400
    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ParkcreditError):
    status, exit_code = 404, 1


class Forbidden(ParkcreditError):
    status, exit_code = 403, 3


class Conflict(ParkcreditError):
    status, exit_code = 409, 4


class ImmutableRuleSet(Conflict):
    """An attempt to change or delete an approved, published or retired rule-set version."""


class InvalidInput(ParkcreditError, ValueError):
    """A bad value found after parsing, with its field path (e.g. ("body", "product"))."""

    status, exit_code = 422, 2

    def __init__(self, loc: tuple[str | int, ...], message: str, kind: str = "value_error") -> None:
        super().__init__(message)
        self.loc, self.kind = loc, kind


class TooLarge(ParkcreditError):
    """An upload over `Settings.max_upload_bytes` (the HTTP middleware refuses it before it is read)."""

    status, exit_code = 413, 2
