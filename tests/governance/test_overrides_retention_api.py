"""Overrides beside decisions, reports over HTTP, retention (nothing deleted) and erasure of personal data."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dbsupport import good_profile, make_uscc
from parkcredit.store.tables import AuditEntry, Decision, SnapshotPii


def _decide(client: TestClient, keys, i: int = 1, **profile) -> dict:  # type: ignore[no-untyped-def]
    client.post("/v1/enterprises", json=good_profile(i, **profile), headers=keys["committee"])
    r = client.post("/v1/decisions", json={"uscc": make_uscc(i), "product": "chengxindai"}, headers=keys["committee"])
    assert r.status_code == 201, r.text
    return r.json()


def test_an_override_is_a_new_record_and_the_decision_replays_unchanged(
    client: TestClient, more_keys, sessions
) -> None:
    k = more_keys
    d = _decide(client, k)
    assert d["eligible"] is True
    with sessions() as s:
        before = s.get(Decision, d["decision_id"]).record
    body = {
        "eligible": False,
        "limit_yuan": 0,
        "reason_code": "RISK_CONCERN",
        "reason": "实地走访发现主要客户流失，经营风险上升",
    }
    r = client.post(f"/v1/decisions/{d['decision_id']}/overrides", json=body, headers=k["committee"])
    assert r.status_code == 201, r.text
    o = r.json()
    assert (o["direction"], o["original_eligible"], o["original_limit_yuan"]) == (
        "to_ineligible",
        True,
        d["limit_yuan"],
    )
    assert o["direction_zh"] == "改为不符合条件" and o["reason_code_zh"] == "评分未反映的风险"
    with sessions() as s:
        assert s.get(Decision, d["decision_id"]).record == before  # the decision record is untouched
    replay = client.post(f"/v1/decisions/{d['decision_id']}/replay", headers=k["auditor"]).json()
    assert replay["identical"] is True
    listed = client.get(f"/v1/decisions/{d['decision_id']}/overrides", headers=k["auditor"]).json()
    assert [x["override_id"] for x in listed] == [o["override_id"]]
    assert client.get("/v1/overrides", headers=k["auditor"]).json()["items"][0]["reason"] == body["reason"]
    assert client.get("/v1/overrides", headers=k["bank"]).status_code == 403
    log = client.get("/v1/audit/log?limit=1000", headers=k["auditor"]).json()["items"]
    entry = next(e for e in log if e["action"] == "decision.override")
    assert entry["object_id"] == d["decision_id"] and entry["payload"]["reason_code"] == "RISK_CONCERN"


def test_an_override_needs_a_reason_code_and_text_and_a_consistent_change(client: TestClient, keys) -> None:
    d = _decide(client, keys)
    url = f"/v1/decisions/{d['decision_id']}/overrides"
    h = keys["committee"]
    no_code = client.post(url, json={"eligible": False, "limit_yuan": 0, "reason": "没有原因代码的调整"}, headers=h)
    assert no_code.status_code == 422 and no_code.json()["detail"][0]["loc"] == ["body", "reason_code"]
    short = client.post(
        url, json={"eligible": False, "limit_yuan": 0, "reason_code": "OTHER", "reason": "短"}, headers=h
    )
    assert short.status_code == 422 and short.json()["detail"][0]["loc"] == ["body", "reason"]
    bad = {"eligible": False, "limit_yuan": 100_000, "reason_code": "OTHER", "reason": "不符合条件却有额度"}
    assert client.post(url, json=bad, headers=h).status_code == 422
    same = {"eligible": True, "limit_yuan": d["limit_yuan"], "reason_code": "OTHER", "reason": "与原决定完全相同"}
    r = client.post(url, json=same, headers=h)
    assert r.status_code == 422 and "neither" in r.json()["detail"][0]["msg"]
    cap = {"eligible": True, "limit_yuan": 3_000_001, "reason_code": "POLICY_SUPPORT", "reason": "超过产品上限的额度"}
    r = client.post(url, json=cap, headers=h)
    assert r.status_code == 422 and "3,000,000" in r.json()["detail"][0]["msg"]
    assert client.post(url, json=same, headers=keys["auditor"]).status_code == 403
    assert client.post("/v1/decisions/nope/overrides", json=bad | {"limit_yuan": 0}, headers=h).status_code == 404


def test_overrides_report_by_officer_and_direction(client: TestClient, more_keys) -> None:
    k = more_keys
    good = _decide(client, k, 1)
    refused = _decide(client, k, 2, dishonest_debtor_enterprise=True)
    down = {
        "eligible": True,
        "limit_yuan": 1_000_000,
        "reason_code": "REPAYMENT_CAPACITY",
        "reason": "额度与还款能力不匹配",
    }
    up = {"eligible": True, "limit_yuan": 500_000, "reason_code": "DATA_ERROR", "reason": "失信名单已撤销，文书已核实"}
    r1 = client.post(f"/v1/decisions/{good['decision_id']}/overrides", json=down, headers=k["committee"])
    r2 = client.post(f"/v1/decisions/{refused['decision_id']}/overrides", json=up, headers=k["committee2"])
    assert (r1.status_code, r2.status_code) == (201, 201)
    rep = client.get("/v1/overrides/report", headers=k["auditor"]).json()
    assert (rep["total"], rep["decisions"], rep["override_rate"]) == (2, 2, 1.0)
    dirs = {r["direction"]: r["total"] for r in rep["by_direction"]}
    assert dirs == {"to_eligible": 1, "to_ineligible": 0, "limit_up": 0, "limit_down": 1}
    assert sorted((r["total"], r["to_eligible"], r["limit_down"]) for r in rep["by_officer"]) == [(1, 0, 1), (1, 1, 0)]


def test_no_delete_route_touches_decisions_audit_outcomes_or_rule_sets(client: TestClient, keys) -> None:
    deletes = {
        (p, m)
        for p, ops in client.app.openapi()["paths"].items()
        for m in ops
        if m == "delete"  # type: ignore[attr-defined]
    }
    for path, _ in deletes:
        assert not any(word in path for word in ("decision", "audit", "outcome", "ruleset", "override", "snapshot"))
    assert {p for p, _ in deletes} == {
        "/v1/authorizations/{authorization_id}",
        "/v1/admin/keys/{key_id}",
        "/v1/webhooks/{webhook_id}",  # issue 14: a bank's receiver, revoked (kept with revoked_at)
        "/v1/me/authorizations/{authorization_id}",  # issue 15: the enterprise revokes its own grant (kept)
    }  # revoke only
    policy = client.get("/v1/governance/retention", headers=keys["auditor"]).json()
    assert policy["policy_years"] >= 5 and sorted(policy["delete_routes"]) == sorted(p for p, _ in deletes)
    assert {k["object"] for k in policy["kept"]} >= {"decisions", "audit_log", "loan_outcomes"}


def test_erasing_personal_data_keeps_replay_and_the_audit_chain(client: TestClient, keys, sessions) -> None:
    d = _decide(client, keys, 1)
    client.post("/v1/enterprises", json=good_profile(1, as_of="2025-09-30"), headers=keys["committee"])  # 2nd snapshot
    _decide(client, keys, 2)  # another enterprise keeps its data
    url = f"/v1/enterprises/{make_uscc(1)}/personal-data/erase"
    r = client.post(url, json={"legal_basis": "征信业管理条例第十六条"}, headers=keys["committee"])
    assert r.status_code == 200 and len(r.json()["erased_snapshot_ids"]) == 2
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(SnapshotPii)) == 1
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "pii.erase"))
        assert "张三" not in str(entry.payload) and entry.payload["fields"] == ["legal_rep_name", "legal_rep_id_hash"]
    replay = client.post(f"/v1/decisions/{d['decision_id']}/replay", headers=keys["auditor"]).json()
    assert replay["identical"] is True
    assert client.get("/v1/audit/verify", headers=keys["auditor"]).json()["ok"] is True
    again = client.post(url, json={"legal_basis": "征信业管理条例第十六条"}, headers=keys["committee"])
    assert again.json()["erased_snapshot_ids"] == []
    assert client.post(url, json={"legal_basis": "x"}, headers=keys["committee"]).status_code == 422
    assert client.post(url, json={"legal_basis": "依法删除"}, headers=keys["auditor"]).status_code == 403
    unknown = f"/v1/enterprises/{make_uscc(9)}/personal-data/erase"
    assert client.post(unknown, json={"legal_basis": "依法删除请求"}, headers=keys["committee"]).status_code == 404
