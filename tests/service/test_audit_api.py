"""The audit log over HTTP: every write is chained; verify names a tampered entry."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from dbsupport import good_profile


@pytest.mark.tampers
def test_writes_are_chained_and_verify(client: TestClient, keys, sessions) -> None:
    for i in range(1, 4):
        client.post("/v1/enterprises", json=good_profile(i), headers=keys["committee"])
    log = client.get("/v1/audit/log?limit=2", headers=keys["auditor"]).json()
    assert len(log["items"]) == 2 and log["next_after_seq"] == 2
    ok = client.get("/v1/audit/verify", headers=keys["auditor"]).json()
    assert ok["ok"] is True and ok["entries"] >= 9  # 6 keys + 3 snapshots
    with sessions() as s:
        s.execute(text("UPDATE audit_log SET actor = 'someone' WHERE seq = 8"))
        s.commit()
    bad = client.get("/v1/audit/verify", headers=keys["auditor"]).json()
    assert bad["ok"] is False and bad["first_bad_seq"] == 8


def test_admin_creates_and_revokes_keys(client: TestClient, keys) -> None:
    r = client.post("/v1/admin/keys", json={"role": "bank", "bank": "乐山银行"}, headers=keys["admin"])
    assert r.status_code == 201 and r.json()["token"].startswith("pck_")
    new = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/v1/bank-queries", headers=new).status_code == 200
    client.delete(f"/v1/admin/keys/{r.json()['key_id']}", headers=keys["admin"])
    assert client.get("/v1/bank-queries", headers=new).status_code == 401
    assert client.post("/v1/admin/keys", json={"role": "bank"}, headers=keys["admin"]).status_code == 422


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and "chengxindai" in ready["rulesets"]
