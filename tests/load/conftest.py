"""Database fixtures (see tests/dbsupport.py); `pg_url`: a fresh, migrated PostgreSQL schema only."""

from __future__ import annotations

import pytest

from dbsupport import _pg_schema  # noqa: F401  (used by test_loadtest too)
from parkcredit.store import testing


@pytest.fixture
def pg_url(_pg_schema: str) -> str:  # noqa: F811
    testing.reset_pg(_pg_schema)
    return _pg_schema
