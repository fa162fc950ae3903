"""Decisions: full record, replay byte for byte, batch jobs."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from dbsupport import good_profile, make_uscc
from parkcredit.store.tables import Decision, RuleSetVersion, SnapshotPii


def _decide(client: TestClient, keys, i: int = 1, **profile) -> dict:
    client.post("/v1/enterprises", json=good_profile(i, **profile), headers=keys["committee"])
    r = client.post("/v1/decisions", json={"uscc": make_uscc(i), "product": "chengxindai"}, headers=keys["committee"])
    assert r.status_code == 201, r.text
    return r.json()


def test_decision_is_the_full_record_and_stores_its_rule_set(client: TestClient, keys, sessions) -> None:
    d = _decide(client, keys)
    assert d["eligible"] is True and 0 < d["limit_yuan"] <= 3_000_000
    assert d["trace"] and d["ruleset"]["version"] == "1.0" and d["model"]["status"] == "disabled"
    assert client.get(f"/v1/decisions/{d['decision_id']}", headers=keys["auditor"]).json() == d
    with sessions() as s:
        rs = s.scalar(select(RuleSetVersion))
        assert rs.content_hash == d["ruleset"]["hash"] and "chengxindai" in rs.text


def test_knocked_out_enterprise_is_refused_with_the_knockout_first(client: TestClient, keys) -> None:
    d = _decide(client, keys, dishonest_debtor_enterprise=True)
    assert d["eligible"] is False and d["limit_yuan"] == 0 and d["reasons"][0]["kind"] == "knockout"


def test_unknown_product_is_422_on_the_field(client: TestClient, keys) -> None:
    client.post("/v1/enterprises", json=good_profile(1), headers=keys["committee"])
    r = client.post("/v1/decisions", json={"uscc": make_uscc(1), "product": "nosuch"}, headers=keys["committee"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "product"]


def test_decision_without_a_snapshot_is_404(client: TestClient, keys) -> None:
    r = client.post("/v1/decisions", json={"uscc": make_uscc(5), "product": "chengxindai"}, headers=keys["committee"])
    assert r.status_code == 404


def test_replay_is_identical_byte_for_byte(client: TestClient, keys) -> None:
    d = _decide(client, keys)
    r = client.post(f"/v1/decisions/{d['decision_id']}/replay", headers=keys["auditor"]).json()
    assert r["identical"] is True and r["stored_sha256"] == r["replayed_sha256"]


@pytest.mark.tampers
def test_replay_survives_erasing_the_legal_representatives_data(client: TestClient, keys, sessions) -> None:
    d = _decide(client, keys)
    with sessions() as s:
        s.execute(delete(SnapshotPii))
        s.commit()
    r = client.post(f"/v1/decisions/{d['decision_id']}/replay", headers=keys["auditor"]).json()
    assert r["identical"] is True


@pytest.mark.tampers
def test_replay_detects_an_edited_record(client: TestClient, keys, sessions) -> None:
    d = _decide(client, keys)
    with sessions() as s:
        row = s.get(Decision, d["decision_id"])
        row.record = row.record.replace('"eligible":true', '"eligible":false')
        s.commit()
    r = client.post(f"/v1/decisions/{d['decision_id']}/replay", headers=keys["auditor"]).json()
    assert r["identical"] is False


def test_batch_job_scores_every_latest_snapshot(client: TestClient, keys, sessions) -> None:
    for i in range(1, 8):
        client.post("/v1/enterprises", json=good_profile(i), headers=keys["committee"])
    client.post("/v1/enterprises", json=good_profile(1, as_of="2025-09-30"), headers=keys["committee"])
    r = client.post("/v1/decisions/batch", json={"product": "chengxindai"}, headers=keys["committee"])
    assert r.status_code == 202
    job_id = r.json()["job_id"]
    for _ in range(100):
        job = client.get(f"/v1/jobs/{job_id}", headers=keys["auditor"]).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "done" and job["done"] == job["total"] == 7, job
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 7
