"""Database, app and key fixtures (see tests/dbsupport.py), and a signed-in browser-less client per role."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from dbsupport import _pg_schema, _sqlite_template, client, db_url, keys, sessions, settings  # noqa: F401


def sign_in(tc: TestClient, headers: dict[str, str]) -> TestClient:
    """Sign `tc` in through the form with the key of `headers`; its cookie now holds a session token."""
    token = headers["Authorization"].removeprefix("Bearer ")
    r = tc.post("/web/login", data={"key": token, "next": "/web/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return tc


@pytest.fixture
def as_role(client: TestClient, keys: dict[str, dict[str, str]]) -> Any:  # noqa: F811
    """as_role("committee") -> the client signed in with that role's key."""

    def _as(role: str) -> TestClient:
        client.cookies.clear()
        return sign_in(client, keys[role])

    return _as
