"""The same enterprise decided through the API, the web page and the CLI gets the same record: one use case
(`app.decisions.decide_enterprise`) behind all three, the version in force at the snapshot's as_of."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dbsupport import PEPPER, good_profile
from govsupport import variant
from parkcredit.cli import app as cli
from parkcredit.settings import Settings, get_settings
from parkcredit.store import keys as keystore
from parkcredit.store.db import write_session

OLD_AS_OF, NEW_AS_OF = "2025-06-30", "2026-09-30"  # before and after v1.1's effective_from 2026-07-01


def _publish_v11(client: TestClient, keys: dict[str, dict[str, str]], sessions) -> dict:  # type: ignore[no-untyped-def]
    with write_session(sessions) as session:
        _, token = keystore.create_key(session, "approver", PEPPER)
    approver2 = {"Authorization": f"Bearer {token}"}
    body = {"filename": "chengxindai.yaml", "text": variant(threshold=58), "note": "门槛 60 -> 58"}
    draft = client.post("/v1/rulesets", json=body, headers=keys["committee"]).json()
    rid, reviewed = draft["ruleset_id"], {"content_hash": draft["content_hash"]}
    assert client.post(f"/v1/rulesets/{rid}/approve", json=reviewed, headers=keys["approver"]).status_code == 200
    r = client.post(f"/v1/rulesets/{rid}/publish", json=reviewed, headers=approver2)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _via_web(client: TestClient, token: str, uscc: str) -> dict:  # type: ignore[type-arg]
    web = TestClient(client.app)
    assert web.post("/web/login", data={"key": token, "next": "/web/"}, follow_redirects=False).status_code == 303
    html = web.get(f"/web/enterprises/{uscc}?product=chengxindai").text
    csrf = re.search(r'id="decide-form">\s*<input type="hidden" name="csrf" value="([0-9a-f]+)"', html)
    assert csrf, "the enterprise page offers 'decide now' to the committee"
    r = web.post(f"/web/enterprises/{uscc}/decide", data={"csrf": csrf.group(1), "product": "chengxindai"},
                 follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    return web.get(f"/v1/enterprises/{uscc}", headers={"Authorization": f"Bearer {token}"}).json()["decisions"][0]


def _via_cli(settings: Settings, token: str, uscc: str, monkeypatch: pytest.MonkeyPatch) -> dict:  # type: ignore[type-arg]
    import json

    monkeypatch.setenv("PARKCREDIT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PARKCREDIT_API_KEY_PEPPER", PEPPER)
    monkeypatch.setenv("PARKCREDIT_MODEL_ENABLED", "false")
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(cli, ["decide", uscc, "--product", "chengxindai", "--key", token, "--full"])
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("as_of", [OLD_AS_OF, NEW_AS_OF])
def test_api_web_and_cli_make_the_same_decision(
    client: TestClient, keys, sessions, settings: Settings, monkeypatch: pytest.MonkeyPatch, as_of: str
) -> None:  # type: ignore[no-untyped-def]
    v11 = _publish_v11(client, keys, sessions)
    profile = good_profile(7, as_of=as_of, revenue_yuan_y1=9_000_000, net_profit_yuan_y1=-200_000)
    assert client.post("/v1/enterprises", json=profile, headers=keys["committee"]).status_code == 201
    uscc = profile["uscc"]

    api = client.post("/v1/decisions", json={"uscc": uscc, "product": "chengxindai"}, headers=keys["committee"])
    assert api.status_code == 201, api.text
    token = keys["committee"]["Authorization"].removeprefix("Bearer ")
    web_id = _via_web(client, token, uscc)["decision_id"]
    web = client.get(f"/v1/decisions/{web_id}", headers=keys["committee"]).json()
    by_cli = _via_cli(settings, token, uscc, monkeypatch)

    records = {"api": api.json(), "web": web, "cli": by_cli}
    assert len({r["decision_id"] for r in records.values()}) == 3  # three stored decisions
    expected_version = "1.0" if as_of == OLD_AS_OF else "1.1"
    for surface, rec in records.items():
        assert rec["ruleset"]["version"] == expected_version, surface
        if as_of == NEW_AS_OF:
            assert rec["ruleset"]["hash"] == v11["content_hash"], surface
    same = {k: v for k, v in records["api"].items() if k != "decision_id"}
    for surface in ("web", "cli"):
        assert {k: v for k, v in records[surface].items() if k != "decision_id"} == same, surface
    assert same["reasons"], "the case has reasons to compare"
