"""Issue 15 test helpers: enterprise keys, an enterprise with a decision, signing a browser-less client in."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from dbsupport import PEPPER, good_profile
from parkcredit.settings import Settings
from parkcredit.store import keys as keystore
from parkcredit.store.db import make_engine, make_sessionmaker, write_session

PRODUCT = "chengxindai"


def enterprise_key(settings: Settings, uscc: str) -> dict[str, str]:
    """Authorization headers of a new enterprise key bound to `uscc`."""
    engine = make_engine(settings.database_url)
    with write_session(make_sessionmaker(engine)) as session:
        _, token = keystore.create_key(session, "enterprise", PEPPER, uscc=uscc, holder=f"{uscc} finance")
    engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def enterprise_with_decision(client: TestClient, keys: dict[str, Any], i: int = 1, **profile: Any) -> dict[str, Any]:
    """Store good_profile(i, **profile) and decide it; the decision record."""
    p = good_profile(i, **profile)
    assert client.post("/v1/enterprises", json=p, headers=keys["committee"]).status_code == 201
    r = client.post("/v1/decisions", json={"uscc": p["uscc"], "product": PRODUCT}, headers=keys["committee"])
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def sign_in(tc: TestClient, headers: dict[str, str]) -> TestClient:
    """Sign `tc` in through the form with the key of `headers`."""
    tc.cookies.clear()
    token = headers["Authorization"].removeprefix("Bearer ")
    r = tc.post("/web/login", data={"key": token, "next": "/web/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return tc


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    import re

    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)
