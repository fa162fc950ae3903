"""The committee's pages of the bank lifecycle (issue 14): loans outstanding by bank, product and band; alerts;
risk-pool statements — in Chinese and English; a bank sees only its own alerts and no committee page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from dbsupport import BANK, OTHER_BANK
from lendingsupport import ask, enrol, event, loan_body, strong_profile

POOL = {"product": "yuanbaodai", "name": "沿滩区园保贷风险补偿资金池", "balance_yuan": 1_000_000, "share_pool": 0.4,
        "share_bank": 0.2, "share_guarantor": 0.4, "leverage": 10, "per_enterprise_cap_yuan": 5_000_000}  # fmt: skip


def _world(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/v1/pools", json=POOL, headers=keys["committee"]).status_code == 201
    u1 = enrol(client, keys, 1, products=("chengxindai", "yuanbaodai"))
    u2 = enrol(client, keys, 2)
    for u, who, amount, product in ((u1, "bank", 1_000_000, "chengxindai"), (u2, "other_bank", 2_000_000, "chengxindai"),
                                    (u1, "other_bank", 3_000_000, "yuanbaodai")):  # fmt: skip
        d = ask(client, keys, u, who, product)
        r = client.post("/v1/loans", json=loan_body(u, d["decision_id"], amount, ref=f"{product}-{u}", product=product),
                        headers=keys[who])  # fmt: skip
        assert r.status_code == 201, r.text
    pooled = client.get("/v1/loans?product=yuanbaodai", headers=keys["committee"]).json()["items"][0]
    client.post(f"/v1/loans/{pooled['loan_id']}/events", json=event("default", 2_500_000), headers=keys["other_bank"])
    client.post("/v1/enterprises", json=strong_profile(2, dishonest_debtor_enterprise=True), headers=keys["committee"])


def test_the_committee_sees_loans_outstanding_alerts_and_pool_statements(client: TestClient, keys, as_role) -> None:  # type: ignore[no-untyped-def]
    _world(client, keys)
    c = as_role("committee")
    page = c.get("/web/loans")
    assert page.status_code == 200 and "在贷余额：按银行、产品、等级" in page.text
    rows = re.findall(r'<tr><td class="bank">([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td class="num">(\d+)</td>'
                      r'<td class="num">([\d,]+)</td></tr>', page.text)  # fmt: skip
    assert {(b, p, n, v) for b, p, _, n, v in rows} == {
        (BANK, "chengxindai", "1", "1,000,000"), (OTHER_BANK, "chengxindai", "1", "2,000,000"),
        (OTHER_BANK, "yuanbaodai", "1", "2,500,000")}  # fmt: skip
    assert re.search(r'id="outstanding-total">5,500,000<', page.text)
    alerts = c.get("/web/alerts").text
    # u2's new listing alerts both banks (authorized); u1's default at bank 乙 alerts bank 甲 (a live loan)
    assert sorted(re.findall(r'<td class="bank">([^<]+)</td>', alerts)) == sorted([BANK, BANK, OTHER_BANK])
    assert "新列入失信被执行人名单" in alerts and "在合作银行的贷款出现严重逾期" in alerts
    pools = c.get("/web/pools").text
    assert "沿滩区园保贷风险补偿资金池" in pools and "代偿" in pools and "-1,000,000" in pools
    assert "合计：注资 1,000,000 元，代偿 1,000,000 元" in pools  # 40 % of 2,500,000, all the balance held
    en = c.get("/web/pools?lang=en").text
    assert "Risk-compensation pools" in en and "claim" in en and "Loss shares: pool / bank / guarantor" in en
    assert "Loans outstanding by bank, product and band" in c.get("/web/loans?lang=en").text
    assert "Newly listed as a dishonest judgment debtor" in c.get("/web/alerts?lang=en").text
    assert as_role("auditor").get("/web/pools").status_code == 200


def test_a_bank_sees_its_own_alerts_and_no_committee_page(client: TestClient, keys, as_role) -> None:  # type: ignore[no-untyped-def]
    _world(client, keys)
    c = as_role("bank")
    page = c.get("/web/alerts")
    assert page.status_code == 200 and "仅显示本行的预警" in page.text
    assert set(re.findall(r'<td class="bank">([^<]+)</td>', page.text)) == {BANK}
    for path in ("/web/loans", "/web/pools"):
        assert c.get(path, follow_redirects=False).status_code == 403
    assert "/web/alerts" in page.text  # in the bank's navigation
