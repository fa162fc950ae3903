"""Backtest, performance and monitoring over HTTP, on stored snapshots, decisions and bank outcomes."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from dbsupport import authorization, good_profile, make_uscc
from govsupport import variant


def _setup(client: TestClient, k) -> tuple[int, list[dict]]:  # type: ignore[no-untyped-def]
    """Three enterprises decided (as_of 2026-06-30); a v1.1 draft with threshold 58; loans to two of them.

    Since issue 14 a loan is checked (an authorization, an eligible current decision made before the
    disbursement): the two loans go to the eligible E1 and E3, disbursed today; E3's then defaults."""
    grades = {"tax_credit_year": 2025, "mu_eval_year": 2025}  # the annual releases in force at these dates
    profiles = [good_profile(1, as_of="2026-06-30", **grades),
                good_profile(2, as_of="2026-06-30", tax_credit_grade="C", **grades),
                good_profile(3, as_of="2026-03-31", industry_code="I65", safety_std_grade="L3", **grades)]  # fmt: skip
    decisions = []
    for i, p in enumerate(profiles, start=1):
        client.post("/v1/enterprises", json=p, headers=k["committee"])
        r = client.post("/v1/decisions", json={"uscc": make_uscc(i), "product": "chengxindai"}, headers=k["committee"])
        decisions.append(r.json())
    today = str(dt.date.today())
    for d, status in ((decisions[0], "current"), (decisions[2], "default")):
        assert d["eligible"], d["reasons"]
        auth = authorization(d["uscc"], valid_from=today)
        assert client.post("/v1/authorizations", json=auth, headers=k["committee"]).status_code == 201
        body = {"uscc": d["uscc"], "product": "chengxindai", "decision_id": d["decision_id"],
                "disbursed_yuan": 500_000, "disbursed_on": today, "status": "current"}  # fmt: skip
        assert client.post("/v1/outcomes", json=body, headers=k["bank"]).status_code == 201
        if status == "default":
            assert client.post("/v1/outcomes", json={**body, "status": status}, headers=k["bank"]).status_code == 201
    rid = client.post("/v1/rulesets", json={"text": variant(threshold=58)}, headers=k["committee"]).json()["ruleset_id"]
    return rid, decisions


def test_backtest_performance_and_monitoring_endpoints(client: TestClient, keys) -> None:
    rid, decisions = _setup(client, keys)
    bt = client.get(f"/v1/rulesets/{rid}/backtest", headers=keys["auditor"]).json()
    assert (bt["n"], bt["baseline_id"], bt["candidate_id"]) == (3, 1, rid)
    assert bt["before"]["approved"] == sum(d["eligible"] for d in decisions) == bt["after"]["approved"]
    assert bt["before"]["total_limit_yuan"] == sum(d["limit_yuan"] for d in decisions)
    assert bt["discrimination"]["with_outcome"] == 2 and bt["discrimination"]["bad"] == 1
    assert {row["industry"] for row in bt["by_industry"]} == {"C34", "I65"}

    perf = client.get("/v1/monitoring/performance?product=chengxindai", headers=keys["approver"]).json()
    assert (perf["loans"], perf["bad"], perf["default_rate"], perf["linked_to_decision"]) == (2, 1, 0.5, 2)
    today = dt.date.today()
    assert perf["over_time"][0]["period"] == f"{today.year}Q{(today.month - 1) // 3 + 1}"
    rules = perf["discrimination"]["rules"]
    assert rules["n"] == 2 and rules["auc"] == (
        1.0 if decisions[2]["total_score"] < decisions[0]["total_score"] else 0.0
    )
    assert perf["discrimination"]["model"]["auc"] is None  # the model is disabled in these tests

    mon = client.get("/v1/monitoring/psi?product=chengxindai", headers=keys["committee"]).json()
    assert mon["current"] == {"from": "2026-04-02", "to": "2026-06-30"}  # 90 days up to the newest as_of
    assert mon["windows"] == {"reference_n": 1, "current_n": 2} and len(mon["warnings"]) == 2
    assert {s["name"] for s in mon["scores"]} >= {"total_score", "band"} and mon["inputs"]
    assert mon["approval_over_time"][0]["decisions"] == 3
    bad = client.get("/v1/monitoring/psi?cur_from=2026-07-01&cur_to=2026-06-30", headers=keys["committee"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cur_from"]
    assert client.get("/v1/monitoring/psi?product=nosuch", headers=keys["committee"]).status_code == 422
    assert client.get("/v1/monitoring/psi", headers=keys["bank"]).status_code == 403
