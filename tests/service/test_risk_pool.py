"""The 园保贷 risk-compensation pool (issue 14, DOMAIN §3.6): loans draw on it, the leverage cap stops new
decisions (NOT_APPLICABLE, POOL_CAPACITY), a default claims the agreed share, recoveries return to it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lendingsupport import ask, enrol, event, loan_body

Y = "yuanbaodai"
POOL = {"product": Y, "name": "沿滩区园保贷风险补偿资金池", "balance_yuan": 1_000_000, "share_pool": 0.4,
        "share_bank": 0.2, "share_guarantor": 0.4, "leverage": 10, "per_enterprise_cap_yuan": 5_000_000}  # fmt: skip


def _pool(client: TestClient, keys, **terms) -> dict:  # type: ignore[no-untyped-def]
    r = client.post("/v1/pools", json={**POOL, **terms}, headers=keys["committee"])
    assert r.status_code == 201, r.text
    return r.json()


def _lend(client: TestClient, keys, i: int, amount: int, who: str = "bank") -> dict:  # type: ignore[no-untyped-def]
    u = enrol(client, keys, i, products=(Y,))
    d = ask(client, keys, u, who, Y)
    r = client.post("/v1/loans", json=loan_body(u, d["decision_id"], amount, ref=f"Y-{i}", product=Y),
                    headers=keys[who])  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def test_a_pool_of_1m_at_10x_stops_new_yuanbaodai_decisions_past_10m_outstanding(client: TestClient, keys) -> None:
    pool = _pool(client, keys)
    assert (pool["capacity_yuan"], pool["available_yuan"], pool["balance_yuan"]) == (10_000_000, 10_000_000, 1_000_000)
    first = _lend(client, keys, 1, 5_000_000)
    assert first["pool_id"] == pool["pool_id"]
    _lend(client, keys, 2, 4_000_000, "other_bank")
    u3 = enrol(client, keys, 3, products=(Y,))
    shown = ask(client, keys, u3, product=Y)
    assert (shown["status"], shown["limit_decided_yuan"], shown["limit_available_yuan"]) == (
        "ELIGIBLE", 5_000_000, 1_000_000)  # fmt: skip  # what the pool can still back
    d3 = shown["decision_id"]
    r = client.post("/v1/loans", json=loan_body(u3, d3, 2_000_000, ref="Y-3", product=Y), headers=keys["bank"])
    assert r.status_code == 422 and "risk pool" in r.json()["detail"][0]["msg"]
    r = client.post("/v1/loans", json=loan_body(u3, d3, 1_000_000, ref="Y-3", product=Y), headers=keys["bank"])
    assert r.status_code == 201
    # 10,000,000 outstanding = 1,000,000 × 10: no new 园保贷 loans
    u4 = enrol(client, keys, 4, products=(Y,))
    for u, who in ((u4, "bank"), (u3, "other_bank")):
        shown = ask(client, keys, u, who, Y)
        assert (shown["status"], shown["eligible"], shown["band"], shown["limit_available_yuan"]) == (
            "NOT_APPLICABLE", False, None, 0)  # fmt: skip
        assert [(x["code"], x["kind"]) for x in shown["reasons"]] == [("POOL_CAPACITY", "precondition")]
    d4 = ask(client, keys, u4, "bank", Y)["decision_id"]
    r = client.post("/v1/loans", json=loan_body(u4, d4, 100_000, ref="Y-4", product=Y), headers=keys["bank"])
    assert r.status_code == 422 and "POOL_CAPACITY" in r.json()["detail"][0]["msg"]
    # 企业诚信贷 has no pool: unaffected
    assert ask(client, keys, enrol(client, keys, 5))["status"] == "ELIGIBLE"
    # a top-up makes room again
    r = client.post(f"/v1/pools/{pool['pool_id']}/deposits", json={"amount_yuan": 500_000}, headers=keys["committee"])
    assert r.status_code == 201 and r.json()["available_yuan"] == 5_000_000
    assert ask(client, keys, u4, product=Y)["limit_available_yuan"] == 5_000_000


def test_a_default_claims_the_pools_share_and_recoveries_return_to_it(client: TestClient, keys) -> None:
    pool = _pool(client, keys)
    loan = _lend(client, keys, 1, 3_000_000)
    url = f"/v1/loans/{loan['loan_id']}/events"
    assert client.post(url, json=event("overdue_90", 2_000_000), headers=keys["bank"]).status_code == 201
    assert client.post(url, json=event("default", 2_000_000), headers=keys["bank"]).status_code == 201
    assert client.post(url, json=event("default", 2_000_000), headers=keys["bank"]).status_code == 201  # claims once
    assert (
        client.post(url, json=event("written_off", 2_000_000, recovered=500_000), headers=keys["bank"]).status_code
        == 201
    )
    st = client.get(f"/v1/pools/{pool['pool_id']}/statement", headers=keys["auditor"]).json()
    moves = [(m["kind"], m["amount_yuan"], m["balance_after_yuan"], m["basis_yuan"], m["bank_share_yuan"],
              m["guarantor_share_yuan"]) for m in st["movements"]]  # fmt: skip
    assert moves == [
        ("deposit", 1_000_000, 1_000_000, 0, 0, 0),
        ("claim", -800_000, 200_000, 2_000_000, 400_000, 800_000),  # pool 40 %, bank 20 %, guarantor 40 %
        ("recovery", 200_000, 400_000, 500_000, 100_000, 200_000),
    ]
    assert (st["deposits_yuan"], st["claims_yuan"], st["recoveries_yuan"], st["loans"], st["defaulted_loans"]) == (
        1_000_000, 800_000, 200_000, 1, 1)  # fmt: skip
    assert (st["pool"]["balance_yuan"], st["pool"]["capacity_yuan"], st["pool"]["outstanding_yuan"]) == (
        400_000, 4_000_000, 0)  # fmt: skip  # a written-off loan no longer draws on the pool
    assert [p["pool_id"] for p in client.get("/v1/pools", headers=keys["committee"]).json()] == [pool["pool_id"]]
    verify = client.get("/v1/audit/verify", headers=keys["auditor"]).json()
    assert verify["ok"] is True, verify


def test_the_per_enterprise_cap_and_the_pool_terms_are_checked(client: TestClient, keys) -> None:
    bad = client.post("/v1/pools", json={**POOL, "share_bank": 0.3}, headers=keys["committee"])
    assert bad.status_code == 422 and "must be 1" in bad.json()["detail"][0]["msg"]
    assert client.post("/v1/pools", json={**POOL, "product": "nosuch"}, headers=keys["committee"]).status_code == 422
    assert client.post("/v1/pools", json=POOL, headers=keys["bank"]).status_code == 403
    _pool(client, keys, per_enterprise_cap_yuan=2_000_000)
    assert client.post("/v1/pools", json=POOL, headers=keys["committee"]).status_code == 409  # one pool per product
    u = enrol(client, keys, 1, products=(Y,))
    shown = ask(client, keys, u, product=Y)
    assert (shown["limit_decided_yuan"], shown["limit_available_yuan"]) == (5_000_000, 2_000_000)
    assert client.get("/v1/pools/999/statement", headers=keys["committee"]).status_code == 404
