"""Shared exposure (issue 14): the product cap is per enterprise across all banks; a serious delinquency at
one bank is a knock-out for every bank; an override is what the bank sees; batch queries and the whitelist."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dbsupport import BANK, OTHER_BANK, make_uscc
from lendingsupport import TODAY, ask, enrol, event, loan_body
from parkcredit.store.tables import BankQuery


def test_a_loan_at_one_bank_lowers_what_every_bank_may_lend_and_90_days_overdue_stops_them_all(
    client: TestClient, keys
) -> None:  # type: ignore[no-untyped-def]
    u = enrol(client, keys, 1)  # authorized both banks
    a = ask(client, keys, u)
    assert (a["limit_decided_yuan"], a["limit_available_yuan"], a["outstanding_yuan"]) == (3_000_000, 3_000_000, 0)
    r = client.post("/v1/loans", json=loan_body(u, a["decision_id"], 2_000_000, ref="A-1"), headers=keys["bank"])
    assert r.status_code == 201, r.text
    loan_id = r.json()["loan_id"]
    for who in ("bank", "other_bank"):
        shown = ask(client, keys, u, who)
        assert (shown["status"], shown["eligible"]) == ("ELIGIBLE", True)
        assert (shown["limit_decided_yuan"], shown["outstanding_yuan"], shown["limit_available_yuan"]) == (
            3_000_000, 2_000_000, 1_000_000)  # fmt: skip
    b = ask(client, keys, u, "other_bank")
    over = client.post(
        "/v1/loans", json=loan_body(u, b["decision_id"], 1_500_000, ref="B-1"), headers=keys["other_bank"]
    )
    assert over.status_code == 422 and over.json()["detail"][0]["loc"] == ["body", "amount_yuan"]
    assert "1,000,000" in over.json()["detail"][0]["msg"]

    # bank A reports 90 days overdue: bank B now sees not eligible, with the reason
    r = client.post(f"/v1/loans/{loan_id}/events", json=event("overdue_90", 1_900_000), headers=keys["bank"])
    assert r.status_code == 201
    shown = ask(client, keys, u, "other_bank")
    assert (shown["status"], shown["eligible"], shown["limit_available_yuan"]) == ("INELIGIBLE", False, 0)
    first = shown["reasons"][0]
    assert (first["code"], first["kind"]) == ("LOAN_SERIOUS_DELINQUENCY", "knock_out")
    assert "逾期90天" in first["zh"] and "90+ days overdue" in first["en"]
    refused = client.post(
        "/v1/loans", json=loan_body(u, b["decision_id"], 100_000, ref="B-2"), headers=keys["other_bank"]
    )
    assert refused.status_code == 422 and refused.json()["detail"][0]["type"] == "decision_not_eligible"
    assert "LOAN_SERIOUS_DELINQUENCY" in refused.json()["detail"][0]["msg"]


def test_a_repaid_loan_frees_the_limit(client: TestClient, keys) -> None:
    u = enrol(client, keys, 1)
    a = ask(client, keys, u)
    loan = client.post("/v1/loans", json=loan_body(u, a["decision_id"], 3_000_000), headers=keys["bank"]).json()
    assert ask(client, keys, u, "other_bank")["limit_available_yuan"] == 0
    client.post(f"/v1/loans/{loan['loan_id']}/events", json=event("current", 1_200_000), headers=keys["bank"])
    assert ask(client, keys, u, "other_bank")["limit_available_yuan"] == 1_800_000
    client.post(f"/v1/loans/{loan['loan_id']}/events", json=event("repaid", 0), headers=keys["bank"])
    assert ask(client, keys, u, "other_bank")["limit_available_yuan"] == 3_000_000


def test_an_override_is_what_the_bank_sees_flagged_as_an_override(client: TestClient, keys) -> None:
    u = enrol(client, keys, 1)
    a = ask(client, keys, u)
    body = {"eligible": True, "limit_yuan": 1_000_000, "reason_code": "RISK_CONCERN", "reason": "行业下行，压降额度"}
    r = client.post(f"/v1/decisions/{a['decision_id']}/overrides", json=body, headers=keys["committee"])
    assert r.status_code == 201, r.text
    shown = ask(client, keys, u)
    assert (shown["limit_decided_yuan"], shown["limit_available_yuan"]) == (1_000_000, 1_000_000)
    assert shown["flags"] == [{"code": "OVERRIDE", "zh": "管委会人工调整生效中", "en": "A committee override is in force",
                               "limit_yuan": 1_000_000, "reason_code": "RISK_CONCERN", "fields": []}]  # fmt: skip
    r = client.post("/v1/loans", json=loan_body(u, a["decision_id"], 1_500_000), headers=keys["bank"])
    assert r.status_code == 422 and "1,000,000" in r.json()["detail"][0]["msg"]
    # an override to not eligible: INELIGIBLE, flagged
    no = {"eligible": False, "limit_yuan": 0, "reason_code": "RISK_CONCERN", "reason": "实际控制人涉诉，暂停授信"}
    client.post(f"/v1/decisions/{a['decision_id']}/overrides", json=no, headers=keys["committee"])
    shown = ask(client, keys, u, "other_bank")
    assert (shown["status"], shown["limit_decided_yuan"], shown["flags"][0]["code"]) == ("INELIGIBLE", 0, "OVERRIDE")


def test_a_batch_answers_each_enterprise_and_refuses_each_alone_every_lookup_logged(
    client: TestClient, keys, sessions
) -> None:  # type: ignore[no-untyped-def]
    u1 = enrol(client, keys, 1)
    u2 = enrol(client, keys, 2, tax_credit_grade="C")
    u3 = enrol(client, keys, 3, banks=(OTHER_BANK,))  # not authorized for bank 甲
    unknown = make_uscc(4)
    body = {"product": "chengxindai", "usccs": [u1, u2, u3, unknown, "91510311MA6000001X", u1.lower()]}
    r = client.post("/v1/eligibility/batch", json=body, headers=keys["bank"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["answered"], out["refused"]) == (3, 3)
    res = out["results"]
    assert [x["uscc"] for x in res[:4]] == [u1, u2, u3, unknown] and res[5]["uscc"] == u1
    assert res[0]["summary"]["status"] == "ELIGIBLE" and res[1]["summary"]["status"] == "INELIGIBLE"
    assert [x["refused"]["code"] for x in res[2:5]] == ["NO_AUTHORIZATION", "NO_AUTHORIZATION", "INVALID_USCC"]
    assert res[5]["summary"]["decision_id"] == res[0]["summary"]["decision_id"]  # one decision, reused
    with sessions() as s:
        rows = s.scalars(select(BankQuery).where(BankQuery.bank == BANK).order_by(BankQuery.id)).all()
        assert len(rows) == 6 and [q.allowed for q in rows] == [True, True, False, False, False, True]
    too_many = client.post("/v1/eligibility/batch", json={"product": "chengxindai", "usccs": [u1] * 1001},
                           headers=keys["bank"])  # fmt: skip
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["body", "usccs"]
    assert client.post("/v1/eligibility/batch", json=body, headers=keys["committee"]).status_code == 403
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(BankQuery)) == 6


def test_the_whitelist_lists_eligible_enterprises_that_authorized_the_bank_and_its_cursor_gives_changes(
    client: TestClient, keys
) -> None:  # type: ignore[no-untyped-def]
    u1 = enrol(client, keys, 1)
    u2 = enrol(client, keys, 2)
    enrol(client, keys, 3, tax_credit_grade="C")  # not eligible
    enrol(client, keys, 4, banks=(OTHER_BANK,))  # eligible, but authorized another bank
    ask(client, keys, u1)  # decided on the bank's query; u2 and u3 have no decision yet: the whitelist makes them
    first = client.get("/v1/whitelist?product=chengxindai", headers=keys["bank"]).json()
    assert [x["uscc"] for x in first["items"]] == sorted([u1, u2])
    assert {x["limit_available_yuan"] for x in first["items"]} == {3_000_000}
    assert first["since"] is None and first["cursor"] > 0
    same = client.get(f"/v1/whitelist?product=chengxindai&since={first['cursor']}", headers=keys["bank"]).json()
    assert same["items"] == [] and same["cursor"] == first["cursor"]

    d1 = ask(client, keys, u1)
    loan = client.post("/v1/loans", json=loan_body(u1, d1["decision_id"], 1_000_000), headers=keys["bank"]).json()
    changed = client.get(f"/v1/whitelist?product=chengxindai&since={same['cursor']}", headers=keys["bank"]).json()
    assert [(x["uscc"], x["change"], x["limit_available_yuan"]) for x in changed["items"]] == [
        (u1, "changed", 2_000_000)
    ]
    client.post(f"/v1/loans/{loan['loan_id']}/events", json=event("default", 900_000), headers=keys["bank"])
    removed = client.get(f"/v1/whitelist?product=chengxindai&since={changed['cursor']}", headers=keys["bank"]).json()
    assert [(x["uscc"], x["change"]) for x in removed["items"]] == [(u1, "removed")]
    now = client.get("/v1/whitelist?product=chengxindai", headers=keys["bank"]).json()
    assert [x["uscc"] for x in now["items"]] == [u2]
    assert client.get("/v1/whitelist?product=nosuch", headers=keys["bank"]).status_code == 422


def test_two_banks_lending_the_remaining_limit_at_the_same_time_only_one_gets_it(client: TestClient, keys) -> None:
    import threading
    import uuid

    from parkcredit.app import loans
    from parkcredit.app.bank_schemas import LoanIn
    from parkcredit.app.keys import actor_of
    from parkcredit.errors import InvalidInput

    u = enrol(client, keys, 1)
    decisions = {who: ask(client, keys, u, who)["decision_id"] for who in ("bank", "other_bank")}
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    barrier, results = threading.Barrier(2), {}

    def lend(who: str) -> None:
        actor = actor_of(ctx, keys[who]["Authorization"].removeprefix("Bearer "))
        assert actor is not None
        body = LoanIn(loan_ref=f"R-{who}", uscc=u, product="chengxindai", amount_yuan=2_000_000,
                      disbursed_on=str(TODAY), term_months=12, decision_id=uuid.UUID(decisions[who]))  # fmt: skip
        barrier.wait()
        try:
            results[who] = loans.create_loan(ctx, actor, body)
        except InvalidInput as exc:
            results[who] = exc

    threads = [threading.Thread(target=lend, args=(who,)) for who in decisions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    refused = [r for r in results.values() if isinstance(r, InvalidInput)]
    assert len(results) == 2 and len(refused) == 1, results
    assert refused[0].loc == ("body", "amount_yuan") and "1,000,000" in refused[0].message
    assert ask(client, keys, u)["outstanding_yuan"] == 2_000_000
