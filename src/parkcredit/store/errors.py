"""The database errors a surface maps to a response, named here so no surface imports SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = ["UNAVAILABLE", "DataError", "IntegrityError", "PoolTimeout"]

# the database cannot be reached: refused or lost connection, pool exhausted -> 503 + Retry-After
UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)
