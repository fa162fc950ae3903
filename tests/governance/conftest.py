"""Database, app and key fixtures (see tests/dbsupport.py), plus a second approver and committee key."""

from __future__ import annotations

import pytest

from dbsupport import PEPPER, _pg_schema, _sqlite_template, client, db_url, keys, sessions, settings  # noqa: F401
from parkcredit.store import keys as keystore
from parkcredit.store.db import write_session


@pytest.fixture
def more_keys(keys, sessions) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]  # noqa: F811
    """`keys` plus approver2 and committee2 (second officers, for maker-checker)."""
    out = dict(keys)
    with write_session(sessions) as session:
        for name, role in (("approver2", "approver"), ("committee2", "committee")):
            _, token = keystore.create_key(session, role, PEPPER)
            out[name] = {"Authorization": f"Bearer {token}"}
    return out
