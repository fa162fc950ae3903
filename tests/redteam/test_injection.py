"""Red team: hostile text in a profile never runs in a page or a report (XSS), on every surface that shows it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dbsupport import good_profile, make_uscc

HOSTILE = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "</title><svg onload=alert(1)>"]


def _sign_in(client: TestClient, headers: dict[str, str]) -> None:
    token = headers["Authorization"].removeprefix("Bearer ")
    assert client.post("/web/login", data={"key": token, "next": "/web/"}, follow_redirects=False).status_code == 303


@pytest.mark.parametrize("payload", HOSTILE)
def test_a_hostile_enterprise_name_is_escaped_on_pages_and_in_the_report(
    client: TestClient, keys: dict[str, dict[str, str]], payload: str
) -> None:
    profile = good_profile(1, name="示范" + payload, park_id="p" + payload[:40])
    assert client.post("/v1/enterprises", json=profile, headers=keys["committee"]).status_code == 201
    d = client.post("/v1/decisions", json={"uscc": make_uscc(1), "product": "chengxindai"}, headers=keys["committee"])
    assert d.status_code == 201, d.text
    report = client.get(f"/v1/decisions/{d.json()['decision_id']}/report", headers=keys["auditor"])
    assert report.status_code == 200 and payload not in report.text and "&lt;" in report.text
    _sign_in(client, keys["committee"])
    for path in (f"/web/enterprises/{make_uscc(1)}", "/web/enterprises", "/web/decisions"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert payload not in page.text, path  # the raw markup never reaches the browser
    assert "&lt;" in client.get(f"/web/enterprises/{make_uscc(1)}").text
