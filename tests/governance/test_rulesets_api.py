"""Rule-set lifecycle over HTTP: maker-checker, immutability, effective dates, refused files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from dbsupport import good_profile, make_uscc
from govsupport import RULES, broken, variant
from parkcredit.errors import ImmutableRuleSet
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store.tables import AuditEntry, RuleSetVersion


def _draft(client: TestClient, headers, text: str, filename: str = "chengxindai.yaml") -> dict:  # type: ignore[no-untyped-def]
    r = client.post("/v1/rulesets", json={"filename": filename, "text": text, "note": "测试"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _publish_variant(client: TestClient, keys, **kw) -> dict:  # type: ignore[no-untyped-def]
    draft = _draft(client, keys["committee"], variant(**kw))
    rid, reviewed = draft["ruleset_id"], {"content_hash": draft["content_hash"]}
    assert client.post(f"/v1/rulesets/{rid}/approve", json=reviewed, headers=keys["approver"]).status_code == 200
    r = client.post(f"/v1/rulesets/{rid}/publish", json=reviewed, headers=keys["approver2"])
    assert r.status_code == 200, r.text
    return r.json()


def test_bundled_rule_sets_are_the_first_published_versions(client: TestClient, keys, sessions, settings) -> None:
    rows = client.get("/v1/rulesets", headers=keys["auditor"]).json()
    assert sorted(r["product"] for r in rows) == ["chengxindai", "xiaoweikuaidai", "yuanbaodai"]
    assert {(r["status"], r["effective_from"], r["created_by"]) for r in rows} == {
        ("published", "2026-01-01", "system")
    }
    assert all(r["source"].startswith("bundled:") and r["source"].endswith(".yaml") for r in rows)
    detail = client.get(f"/v1/rulesets/{rows[0]['ruleset_id']}", headers=keys["committee"]).json()
    assert detail["text"] == (RULES / f"{detail['product']}.yaml").read_text(encoding="utf-8")  # exact text
    with TestClient(create_app(settings)):  # a second start seeds nothing more
        pass
    with sessions() as s:
        assert s.scalar(select(func.count(RuleSetVersion.id))) == 3
        assert s.scalar(select(func.count()).where(AuditEntry.action == "ruleset.seed")) == 3


def test_an_author_cannot_approve_or_publish_its_own_draft(client: TestClient, more_keys) -> None:
    k = more_keys
    draft = _draft(client, k["approver"], variant(threshold=58))
    rid, reviewed = draft["ruleset_id"], {"content_hash": draft["content_hash"]}
    own = client.post(f"/v1/rulesets/{rid}/approve", json=reviewed, headers=k["approver"])
    assert own.status_code == 409 and "maker-checker" in own.json()["detail"]
    assert client.post(f"/v1/rulesets/{rid}/approve", json=reviewed, headers=k["committee"]).status_code == 403
    assert client.post(f"/v1/rulesets/{rid}/publish", json=reviewed, headers=k["approver2"]).status_code == 409
    ok = client.post(f"/v1/rulesets/{rid}/approve", json={**reviewed, "note": "复核通过"}, headers=k["approver2"])
    assert (
        ok.status_code == 200
        and ok.json()["status"] == "approved"
        and ok.json()["approved_by"] != ok.json()["created_by"]
    )
    assert client.post(f"/v1/rulesets/{rid}/publish", json=reviewed, headers=k["approver"]).status_code == 409
    pub = client.post(f"/v1/rulesets/{rid}/publish", json=reviewed, headers=k["approver2"]).json()
    assert pub["status"] == "published" and pub["published_by"] == ok.json()["approved_by"]
    actions = [e["action"] for e in client.get("/v1/audit/log?limit=1000", headers=k["auditor"]).json()["items"]]
    assert actions[-3:] == ["ruleset.draft", "ruleset.approve", "ruleset.publish"]


def test_a_published_version_cannot_change(client: TestClient, more_keys, sessions) -> None:
    pub = _publish_variant(client, more_keys, threshold=58)
    rid = pub["ruleset_id"]
    body = {"filename": "chengxindai.yaml", "text": variant(threshold=57), "note": "改"}
    r = client.put(f"/v1/rulesets/{rid}", json=body, headers=more_keys["committee"])
    assert r.status_code == 409 and "published" in r.json()["detail"]
    with sessions() as s:  # in code: the ORM guard refuses
        row = s.get(RuleSetVersion, rid)
        row.text = row.text.replace("threshold: 58", "threshold: 50")
        with pytest.raises(ImmutableRuleSet):
            s.flush()
        s.rollback()
    with sessions() as s, pytest.raises(DBAPIError, match="immutable"):  # in the database: the trigger refuses
        s.execute(text("UPDATE ruleset_versions SET text = 'x' WHERE id = :i"), {"i": rid})
    with sessions() as s, pytest.raises(DBAPIError, match="immutable"):
        s.execute(text("DELETE FROM ruleset_versions WHERE id = :i"), {"i": rid})
    with sessions() as s:
        assert s.get(RuleSetVersion, rid).text == variant(threshold=58)


def test_a_draft_changes_only_by_its_author(client: TestClient, more_keys) -> None:
    rid = _draft(client, more_keys["committee"], variant(threshold=58))["ruleset_id"]
    body = {"filename": "v.yaml", "text": variant(threshold=57), "note": "57"}
    assert client.put(f"/v1/rulesets/{rid}", json=body, headers=more_keys["committee2"]).status_code == 403
    r = client.put(f"/v1/rulesets/{rid}", json=body, headers=more_keys["committee"])
    assert r.status_code == 200 and r.json()["note"] == "57"
    d = client.get(f"/v1/rulesets/{rid}/diff", headers=more_keys["auditor"]).json()
    assert [(c["area"], c["field"], c["before"], c["after"]) for c in d["changes"]] == [
        ("meta", "version", "1.0", "1.1"),
        ("meta", "effective_from", "2026-01-01", "2026-07-01"),
        ("threshold", "threshold", 60.0, 57.0),
        ("band", "min_score", 60.0, 57.0),
    ]
    assert d["old"]["status"] == "published" and d["new"]["ruleset_id"] == rid


def test_decisions_use_the_version_in_force_at_the_snapshots_as_of(client: TestClient, more_keys) -> None:
    pub = _publish_variant(client, more_keys, threshold=58, effective_from="2026-07-01")
    k = more_keys["committee"]
    seen = {}
    for i, as_of in ((1, "2025-06-30"), (2, "2026-06-30"), (3, "2026-07-01"), (4, "2026-11-30")):
        client.post("/v1/enterprises", json=good_profile(i, as_of=as_of), headers=k)
        d = client.post("/v1/decisions", json={"uscc": make_uscc(i), "product": "chengxindai"}, headers=k).json()
        seen[as_of] = (d["ruleset"]["version"], d["ruleset"]["hash"])
        replay = client.post(f"/v1/decisions/{d['decision_id']}/replay", headers=more_keys["auditor"]).json()
        assert replay["identical"] is True
    assert [v for v, _ in seen.values()] == ["1.0", "1.0", "1.1", "1.1"]  # before the first version: the first
    assert seen["2026-07-01"][1] == pub["content_hash"]


def test_a_bad_upload_is_refused_naming_file_rule_and_reason(client: TestClient, keys, sessions) -> None:
    r = client.post(
        "/v1/rulesets", json={"filename": "chengxindai-v2.yaml", "text": broken()}, headers=keys["committee"]
    )
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", "text"]
    assert "chengxindai-v2.yaml" in err["msg"] and "DEV_DEBT_RATIO" in err["msg"] and "overlaps" in err["msg"]
    v = client.post("/v1/rulesets/validate", json={"filename": "x.yaml", "text": broken()}, headers=keys["auditor"])
    assert v.status_code == 422
    with sessions() as s:
        assert s.scalar(select(func.count(RuleSetVersion.id))) == 3  # nothing stored
    same = client.post(
        "/v1/rulesets", json={"text": (RULES / "chengxindai.yaml").read_text()}, headers=keys["committee"]
    )
    assert same.status_code == 409  # identical to the published version


def test_a_bad_bundled_file_is_refused_and_the_last_good_version_keeps_serving(
    client: TestClient, keys, settings: Settings, tmp_path: Path
) -> None:
    good = client.get("/v1/rulesets?product=chengxindai", headers=keys["auditor"]).json()[0]
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "chengxindai.yaml").write_text(broken(), encoding="utf-8")
    with TestClient(create_app(settings.model_copy(update={"rules_dir": rules}))) as c2:
        ready = c2.get("/readyz").json()
        assert ready["status"] == "ready" and ready["rulesets"]["chengxindai"] == "1.0"
        (err,) = ready["rule_errors"]
        assert "chengxindai.yaml" in err and "DEV_DEBT_RATIO" in err and "overlaps" in err
        c2.post("/v1/enterprises", json=good_profile(1, as_of="2026-06-30"), headers=keys["committee"])
        d = c2.post("/v1/decisions", json={"uscc": make_uscc(1), "product": "chengxindai"}, headers=keys["committee"])
        assert d.status_code == 201 and d.json()["ruleset"]["hash"] == good["content_hash"]


def test_retiring_the_last_published_version_is_refused(client: TestClient, more_keys) -> None:
    k = more_keys
    first = client.get("/v1/rulesets?product=chengxindai", headers=k["auditor"]).json()[0]["ruleset_id"]
    r = client.post(f"/v1/rulesets/{first}/retire", json={"reason": "test"}, headers=k["approver"])
    assert r.status_code == 409 and "only published version" in r.json()["detail"]
    _publish_variant(client, k, threshold=58, effective_from="2026-07-01")
    assert client.post(f"/v1/rulesets/{first}/retire", json={"reason": "x"}, headers=k["committee"]).status_code == 403
    r = client.post(f"/v1/rulesets/{first}/retire", json={"reason": "superseded"}, headers=k["approver"])
    assert r.status_code == 200 and r.json()["status"] == "retired" and r.json()["retire_reason"] == "superseded"
    client.post("/v1/enterprises", json=good_profile(1, as_of="2026-08-01"), headers=k["committee"])
    d = client.post("/v1/decisions", json={"uscc": make_uscc(1), "product": "chengxindai"}, headers=k["committee"])
    assert d.json()["ruleset"]["version"] == "1.1"


def test_publishing_on_an_occupied_effective_date_needs_a_retirement_first(client: TestClient, more_keys) -> None:
    draft = _draft(client, more_keys["committee"], variant(effective_from="2026-01-01", threshold=58))
    rid, reviewed = draft["ruleset_id"], {"content_hash": draft["content_hash"]}
    client.post(f"/v1/rulesets/{rid}/approve", json=reviewed, headers=more_keys["approver"])
    clash = client.post(f"/v1/rulesets/{rid}/publish", json=reviewed, headers=more_keys["approver"])
    assert clash.status_code == 409 and "already published effective 2026-01-01" in clash.json()["detail"]
