"""The database errors a surface maps to a response, named here so no surface imports SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = ["UNAVAILABLE", "DataError", "IntegrityError", "PoolTimeout", "ProgrammingError", "not_migrated"]

# the database cannot be reached: refused or lost connection, pool exhausted -> 503 + Retry-After
UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)


def not_migrated(exc: BaseException) -> bool:
    """Whether `exc` says a table is missing: an empty or unmigrated database (-> 503, `parkcredit db upgrade`)."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) == "42P01":  # PostgreSQL undefined_table
        return True
    return "no such table" in str(orig)  # SQLite
