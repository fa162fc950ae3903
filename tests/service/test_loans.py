"""Loans (issue 14): each bad disbursement report is refused with its reason and nothing is stored; events,
own-loans-only, declines, the outcomes alias, what the bank is shown, and performance on valid loans only."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dbsupport import BANK, OTHER_BANK, make_uscc
from lendingsupport import TODAY, ask, enrol, event, loan_body, strong_profile
from parkcredit.store.tables import AuditEntry, Decision, Loan, LoanEvent


def _count(sessions, table) -> int:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(table)))


def _detail(r) -> tuple[list, str]:  # type: ignore[no-untyped-def]
    body = r.json()["detail"]
    return (body[0]["loc"], body[0]["type"]) if isinstance(body, list) else ([], body)


def test_each_bad_loan_report_is_refused_with_its_reason_and_nothing_is_stored(
    client: TestClient, keys, sessions
) -> None:  # type: ignore[no-untyped-def]
    u1 = enrol(client, keys, 1, banks=(BANK,))  # authorized bank 甲 (自贡银行) only
    u2 = enrol(client, keys, 2, tax_credit_grade="C")  # knocked out: INELIGIBLE
    d1 = ask(client, keys, u1)
    d2 = ask(client, keys, u2)
    assert (d1["status"], d1["limit_decided_yuan"]) == ("ELIGIBLE", 3_000_000)
    assert d2["status"] == "INELIGIBLE"
    post = lambda body, who="bank": client.post("/v1/loans", json=body, headers=keys[who])  # noqa: E731

    # bank 乙 reports a loan of an enterprise that authorized only bank 甲
    r = post(loan_body(u1, d1["decision_id"], 1_000_000), "other_bank")
    assert r.status_code == 403 and "no authorization" in r.json()["detail"] and OTHER_BANK in r.json()["detail"]
    # a USCC never stored (no authorization either)
    r = post(loan_body(make_uscc(99), d1["decision_id"], 1_000_000))
    assert r.status_code == 403
    # another enterprise's decision
    r = post(loan_body(u1, d2["decision_id"], 1_000_000))
    assert r.status_code == 422 and _detail(r) == (["body", "decision_id"], "decision_of_another_enterprise")
    # 5,000,000 against a 3,000,000 product
    r = post(loan_body(u1, d1["decision_id"], 5_000_000))
    assert r.status_code == 422 and _detail(r) == (["body", "amount_yuan"], "amount_above_available_limit")
    assert "3,000,000" in r.json()["detail"][0]["msg"]
    # a loan against an INELIGIBLE decision
    r = post(loan_body(u2, d2["decision_id"], 1_000_000))
    assert r.status_code == 422 and _detail(r) == (["body", "decision_id"], "decision_not_eligible")
    assert "KO_TAX_GRADE" in r.json()["detail"][0]["msg"]
    # a disbursement dated 2030
    r = post(loan_body(u1, d1["decision_id"], 1_000_000, on=dt.date(2030, 1, 2)))
    assert r.status_code == 422 and _detail(r) == (["body", "disbursed_on"], "future_date")
    # an unknown decision
    r = post(loan_body(u1, "00000000-0000-4000-8000-000000000000", 1_000_000))
    assert r.status_code == 422 and _detail(r) == (["body", "decision_id"], "unknown_decision")

    assert _count(sessions, Loan) == 0 and _count(sessions, LoanEvent) == 0
    assert client.get("/v1/loans", headers=keys["committee"]).json()["items"] == []
    with sessions() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "loan.create")) == 0

    ok = post(loan_body(u1, d1["decision_id"], 1_000_000))
    assert ok.status_code == 201, ok.text
    assert ok.json()["bank"] == BANK and ok.json()["status"] == "current" and ok.json()["band"] == d1["band"]
    assert post(loan_body(u1, d1["decision_id"], 100_000)).status_code == 409  # the same loan_ref again
    # performance counts the one valid loan, not the refused reports
    perf = client.get("/v1/monitoring/performance?product=chengxindai", headers=keys["committee"]).json()
    assert (perf["loans"], perf["bad"], perf["linked_to_decision"]) == (1, 0, 1)


def test_events_change_the_status_of_that_loan_and_a_bank_sees_only_its_own(client: TestClient, keys) -> None:
    u = enrol(client, keys, 1)
    a, b = ask(client, keys, u), ask(client, keys, u, "other_bank")
    la = client.post("/v1/loans", json=loan_body(u, a["decision_id"], 1_000_000, ref="A-1"), headers=keys["bank"])
    lb = client.post("/v1/loans", json=loan_body(u, b["decision_id"], 500_000, ref="B-1"), headers=keys["other_bank"])
    assert la.status_code == lb.status_code == 201
    loan_id = la.json()["loan_id"]
    r = client.post(f"/v1/loans/{loan_id}/events", json=event("overdue_30", 900_000), headers=keys["bank"])
    assert r.status_code == 201 and r.json()["status"] == "overdue_30"
    assert [e["status"] for e in r.json()["events"]] == ["current", "overdue_30"]
    # another bank may not report on it, nor see it
    assert client.post(f"/v1/loans/{loan_id}/events", json=event("default", 900_000),
                       headers=keys["other_bank"]).status_code == 403  # fmt: skip
    assert client.get(f"/v1/loans/{loan_id}", headers=keys["other_bank"]).status_code == 404
    own = client.get("/v1/loans", headers=keys["bank"]).json()["items"]
    assert [x["loan_ref"] for x in own] == ["A-1"]
    assert {x["loan_ref"] for x in client.get("/v1/loans", headers=keys["auditor"]).json()["items"]} == {"A-1", "B-1"}
    assert len(client.get("/v1/loans", headers=keys["committee"]).json()["items"]) == 2
    # bad events: in the future, before the latest event, a repaid loan with principal, principal above the amount
    bad = [(event("current", 1, on=TODAY + dt.timedelta(days=2)), "event_on"),
           (event("current", 1, on=TODAY - dt.timedelta(days=400)), "event_on"),
           (event("repaid", 5), "principal_outstanding_yuan"), (event("current", 2_000_000), "principal_outstanding_yuan"),
           (event("current", 5, recovered=10), "recovered_yuan")]  # fmt: skip
    for body, field in bad:
        r = client.post(f"/v1/loans/{loan_id}/events", json=body, headers=keys["bank"])
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], (body, r.text)
    assert client.post(f"/v1/loans/{loan_id}/events", json=event("repaid", 0), headers=keys["bank"]).status_code == 201
    assert client.post(f"/v1/loans/{loan_id}/events", json=event("current", 0), headers=keys["bank"]).status_code == 409
    assert client.post("/v1/loans/999999/events", json=event("current", 0), headers=keys["bank"]).status_code == 404
    rows = client.get("/v1/loans/outstanding", headers=keys["committee"]).json()
    assert rows == [{"bank": OTHER_BANK, "product": "chengxindai", "band": b["band"], "loans": 1,
                     "outstanding_yuan": 500_000}]  # fmt: skip


def test_a_declined_application_is_reported_with_a_reason_code(client: TestClient, keys) -> None:
    u = enrol(client, keys, 1)
    d = ask(client, keys, u)
    body = {"uscc": u, "product": "chengxindai", "decision_id": d["decision_id"], "reason_code": "OVER_INDEBTED",
            "declined_on": str(TODAY), "note": "总负债率偏高"}  # fmt: skip
    r = client.post("/v1/loan-declines", json=body, headers=keys["bank"])
    assert r.status_code == 201 and r.json()["reason_en"] == "Indebtedness too high"
    r = client.post("/v1/loan-declines", json={**body, "reason_code": "NOPE"}, headers=keys["bank"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason_code"]
    assert "OVER_INDEBTED" in client.get("/v1/loan-declines/reasons", headers=keys["bank"]).json()
    assert len(client.get("/v1/loan-declines", headers=keys["bank"]).json()) == 1
    assert client.get("/v1/loan-declines", headers=keys["other_bank"]).json() == []


def test_the_outcomes_route_is_an_alias_of_loans_with_the_same_checks(client: TestClient, keys) -> None:
    u = enrol(client, keys, 1, banks=(BANK,))
    d = ask(client, keys, u)
    body = {"uscc": u, "product": "chengxindai", "decision_id": d["decision_id"], "disbursed_yuan": 1_000_000,
            "disbursed_on": str(TODAY), "status": "current"}  # fmt: skip
    r = client.post("/v1/outcomes", json=body, headers=keys["bank"])
    assert r.status_code == 201 and r.json()["bank"] == BANK and r.json()["loan_id"] == r.json()["outcome_id"]
    again = client.post("/v1/outcomes", json={**body, "status": "overdue_30"}, headers=keys["bank"])
    assert again.status_code == 201 and again.json()["loan_id"] == r.json()["loan_id"]  # an event of that loan
    assert again.json()["status"] == "overdue_30"
    assert client.post("/v1/outcomes", json=body, headers=keys["other_bank"]).status_code == 403
    assert client.post("/v1/outcomes", json={**body, "disbursed_on": "2030-01-01"},
                       headers=keys["bank"]).status_code == 422  # fmt: skip
    no_decision = {k: v for k, v in body.items() if k != "decision_id"}
    r = client.post("/v1/outcomes", json={**no_decision, "disbursed_on": str(TODAY - dt.timedelta(days=1))},
                    headers=keys["bank"])  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "decision_id"]


def test_what_the_bank_is_shown_has_a_status_kinds_and_a_decision_made_by_the_system(
    client: TestClient, keys, sessions
) -> None:  # type: ignore[no-untyped-def]
    u = enrol(client, keys, 1)
    na = enrol(client, keys, 2, in_park_since=str(TODAY - dt.timedelta(days=100)))  # in the park < 12 months
    shown = ask(client, keys, u)
    assert set(shown) == {"uscc", "product", "status", "eligible", "limit_decided_yuan", "limit_available_yuan",
                          "outstanding_yuan", "band", "valid_until", "as_of", "decision_id", "ruleset_version",
                          "reasons", "flags", "disputed_fields"}  # fmt: skip
    assert {r["kind"] for r in shown["reasons"]} <= {"precondition", "knock_out", "score", "model"}
    assert shown["flags"] == []
    not_applicable = ask(client, keys, na)
    assert (not_applicable["status"], not_applicable["eligible"], not_applicable["band"]) == (
        "NOT_APPLICABLE", False, None)  # fmt: skip
    assert [(r["code"], r["kind"]) for r in not_applicable["reasons"]] == [("PRE_OPERATING", "precondition")]
    with sessions() as s:
        d = s.get(Decision, shown["decision_id"])
        assert d.created_by == "system"
        note = s.scalar(select(AuditEntry).where(AuditEntry.action == "decision.on_bank_query"))
        assert note.actor == "system" and shown["decision_id"] in str(note.payload["decisions"])
        assert note.object_id == BANK


def test_a_stale_decision_is_flagged(client: TestClient, keys) -> None:
    u = enrol(client, keys, 1, as_of="2024-06-30", hnte_valid_until="2025-06-30")
    shown = ask(client, keys, u)
    assert [f["code"] for f in shown["flags"]] == ["STALE_DATA"] and shown["valid_until"] < str(TODAY)
    r = client.post("/v1/loans", json=loan_body(u, shown["decision_id"], 100_000), headers=keys["bank"])
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "decision_expired"


def test_a_loan_on_a_decision_superseded_by_newer_data_is_refused(client: TestClient, keys) -> None:
    u = enrol(client, keys, 1)
    old = ask(client, keys, u)
    listed = strong_profile(1, as_of=str(TODAY - dt.timedelta(days=1)), dishonest_debtor_enterprise=True)
    assert client.post("/v1/enterprises", json=listed, headers=keys["committee"]).status_code == 201
    new = ask(client, keys, u, "other_bank")  # the other bank's query decides the new data: INELIGIBLE
    assert new["status"] == "INELIGIBLE" and new["decision_id"] != old["decision_id"]
    r = client.post("/v1/loans", json=loan_body(u, old["decision_id"], 1_000_000), headers=keys["bank"])
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "decision_superseded"
    assert new["decision_id"] in r.json()["detail"][0]["msg"]


def test_a_disbursement_before_the_decision_and_a_decline_without_authorization_are_refused(
    client: TestClient, keys
) -> None:  # type: ignore[no-untyped-def]
    u = enrol(client, keys, 1, banks=(BANK,))
    d = ask(client, keys, u)
    before = client.post("/v1/loans", json=loan_body(u, d["decision_id"], 100_000, on=TODAY - dt.timedelta(days=3)),
                         headers=keys["bank"])  # fmt: skip
    assert before.status_code == 422 and before.json()["detail"][0]["type"] == "decision_after_disbursement"
    decline = {"uscc": u, "product": "chengxindai", "reason_code": "OTHER", "declined_on": str(TODAY)}
    assert client.post("/v1/loan-declines", json=decline, headers=keys["other_bank"]).status_code == 403
    loan = client.post("/v1/loans", json=loan_body(u, d["decision_id"], 1_000_000), headers=keys["bank"]).json()
    url = f"/v1/loans/{loan['loan_id']}/events"
    assert client.post(url, json=event("written_off", 800_000), headers=keys["bank"]).status_code == 201
    r = client.post(url, json=event("current", 800_000), headers=keys["bank"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "status"]
    assert (
        client.post(url, json=event("written_off", 800_000, recovered=50_000), headers=keys["bank"]).status_code == 201
    )
    # written off: no principal at risk any more, but never eligible for a new loan anywhere
    assert ask(client, keys, u)["outstanding_yuan"] == 0 and ask(client, keys, u)["status"] == "INELIGIBLE"
