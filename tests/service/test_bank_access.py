"""Banks: eligibility only under an authorization in force; every query logged; outcomes."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from dbsupport import BANK, authorization, good_profile, make_uscc
from lendingsupport import strong_profile
from parkcredit.store.tables import AuditEntry, BankQuery

U = make_uscc(1)


def _setup(client: TestClient, keys, **auth) -> dict:
    client.post("/v1/enterprises", json=good_profile(1), headers=keys["committee"])
    r = client.post("/v1/authorizations", json=authorization(U, **auth), headers=keys["committee"])
    assert r.status_code == 201, r.text
    return r.json()


def _ask(client: TestClient, keys, who: str = "bank", product: str = "chengxindai") -> int:
    return client.get(f"/v1/eligibility/{U}?product={product}", headers=keys[who]).status_code


def test_bank_without_authorization_gets_403_and_the_refusal_is_logged(client: TestClient, keys, sessions) -> None:
    client.post("/v1/enterprises", json=good_profile(1), headers=keys["committee"])
    assert _ask(client, keys) == 403
    with sessions() as s:
        q = s.scalar(select(BankQuery))
        assert (q.bank, q.allowed) == (BANK, False)
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "bank.query")).payload["allowed"] is False


def test_authorized_bank_sees_the_summary_not_raw_data(client: TestClient, keys) -> None:
    _setup(client, keys)
    r = client.get(f"/v1/eligibility/{U}?product=chengxindai", headers=keys["bank"])
    assert r.status_code == 200
    body = r.json()
    # issue 14: one summary with its status, the limit decided and the limit available, reasons with their kind, flags
    assert set(body) == {"uscc", "product", "status", "eligible", "limit_decided_yuan", "limit_available_yuan",
                         "outstanding_yuan", "band", "valid_until", "reasons", "decision_id", "as_of",
                         "ruleset_version", "flags", "disputed_fields"}  # fmt: skip
    again = client.get(f"/v1/eligibility/{U}?product=chengxindai", headers=keys["bank"]).json()
    assert again["decision_id"] == body["decision_id"]  # the stored decision is reused for the same snapshot


def test_another_bank_and_another_product_are_refused(client: TestClient, keys) -> None:
    _setup(client, keys)
    assert _ask(client, keys, "other_bank") == 403
    assert _ask(client, keys, product="yuanbaodai") == 403


def test_revoked_or_expired_authorization_is_refused(client: TestClient, keys) -> None:
    auth = _setup(client, keys)
    assert _ask(client, keys) == 200
    r = client.delete(f"/v1/authorizations/{auth['authorization_id']}", headers=keys["committee"])
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert _ask(client, keys) == 403
    past = dt.date.today() - dt.timedelta(days=10)
    _setup(client, keys, valid_from=str(past - dt.timedelta(days=30)), valid_to=str(past))
    assert _ask(client, keys) == 403


def test_a_new_snapshot_gets_a_new_decision(client: TestClient, keys) -> None:
    _setup(client, keys)
    first = client.get(f"/v1/eligibility/{U}", headers=keys["bank"]).json()
    client.post("/v1/enterprises", json=good_profile(1, as_of="2025-09-30"), headers=keys["committee"])
    second = client.get(f"/v1/eligibility/{U}", headers=keys["bank"]).json()
    assert second["decision_id"] != first["decision_id"] and second["as_of"] == "2025-09-30"


def test_bank_sees_its_own_queries_and_the_auditor_sees_all(client: TestClient, keys) -> None:
    _setup(client, keys)
    _ask(client, keys)
    _ask(client, keys, "other_bank")
    own = client.get("/v1/bank-queries", headers=keys["bank"]).json()["items"]
    assert [q["bank"] for q in own] == [BANK]
    assert len(client.get("/v1/bank-queries", headers=keys["auditor"]).json()["items"]) == 2


def test_bank_reports_a_loan_outcome(client: TestClient, keys) -> None:
    # issue 14: /v1/outcomes is an alias of the checked loans, so the decision must be current and made before
    client.post("/v1/enterprises", json=strong_profile(1), headers=keys["committee"])
    assert client.post("/v1/authorizations", json=authorization(U), headers=keys["committee"]).status_code == 201
    decision_id = client.get(f"/v1/eligibility/{U}", headers=keys["bank"]).json()["decision_id"]
    body = {"uscc": U, "product": "chengxindai", "decision_id": decision_id, "disbursed_yuan": 1_000_000,
            "disbursed_on": str(dt.date.today()), "status": "current"}  # fmt: skip
    r = client.post("/v1/outcomes", json=body, headers=keys["bank"])
    assert r.status_code == 201 and r.json()["bank"] == BANK
    bad = client.post("/v1/outcomes", json={**body, "status": "lost"}, headers=keys["bank"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "status"]


def test_authorization_with_end_before_start_is_422(client: TestClient, keys) -> None:
    r = client.post("/v1/authorizations", json=authorization(U, valid_to="2020-01-01"), headers=keys["committee"])
    assert r.status_code == 422
