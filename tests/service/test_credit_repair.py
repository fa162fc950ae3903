"""Credit events and repair (信用修复): the counts the rules read are derived from unrepaired events inside
the look-back window; a repair after the minimum disclosure period re-decides the enterprise, and the
report names the repaired event."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from dbsupport import make_uscc
from rightsupport import enterprise_key, enterprise_with_decision

U = make_uscc(1)
FIELD = "env_penalties_36m"


def _event(**kw: object) -> dict[str, object]:
    body: dict[str, object] = {"uscc": U, "kind": "env_penalty", "occurred_on": "2025-01-10", "severity": "general",
                               "amount_yuan": 30_000, "reference": "自环罚〔2025〕3号"}  # fmt: skip
    return body | kw


def _trace_value(client: TestClient, keys, decision_id: str, field: str) -> object:  # type: ignore[no-untyped-def]
    rec = client.get(f"/v1/decisions/{decision_id}", headers=keys["committee"]).json()
    values = {c["inputs"][field] for dim in rec["trace"] for c in dim["characteristics"] if field in c["inputs"]}
    assert len(values) == 1, values
    return values.pop()


def test_a_repaired_env_penalty_stops_counting_and_the_report_names_it(client: TestClient, keys, settings) -> None:
    enterprise_with_decision(client, keys, 1)
    r = client.post("/v1/credit-events", json=_event(), headers=keys["committee"])
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["derived"] == {"env_penalties_36m": 1, "env_penalty_max_yuan_36m": 30_000}
    assert first["event"]["department"] == "生态环境" and first["event"]["earliest_repair_on"] == "2025-04-10"
    r = client.post("/v1/credit-events", json=_event(occurred_on="2025-03-01", amount_yuan=20_000,
                                                     reference="自环罚〔2025〕9号"), headers=keys["committee"])  # fmt: skip
    second = r.json()
    (before,) = second["new_decisions"]
    assert second["derived"][FIELD] == 2 and second["as_of"] == "2025-06-30"  # as_of unchanged: events before it
    assert _trace_value(client, keys, before["decision_id"], FIELD) == 2
    event_id = first["event"]["event_id"]
    # not before the minimum disclosure period (一般: 3 months)
    early = {"repaired_on": "2025-04-09", "evidence_ref": "信用中国修复决定 2025-0409"}
    r = client.post(f"/v1/credit-events/{event_id}/repair", json=early, headers=keys["committee"])
    assert r.status_code == 422 and "repaired_on" in r.text and "2025-04-10" in r.text
    r = client.post(f"/v1/credit-events/{event_id}/repair",
                    json={"repaired_on": "2025-05-01", "evidence_ref": "信用中国修复决定 2025-0501",
                          "evidence_sha256": "2" * 64}, headers=keys["committee"])  # fmt: skip
    assert r.status_code == 200, r.text
    repaired = r.json()
    assert repaired["derived"] == {"env_penalties_36m": 1, "env_penalty_max_yuan_36m": 20_000}
    (after,) = repaired["new_decisions"]
    assert after["decision_id"] != before["decision_id"] and after["snapshot_id"] == repaired["snapshot_id"]
    assert _trace_value(client, keys, after["decision_id"], FIELD) == 1  # one penalty less in the trace
    assert after["total_score"] >= before["total_score"]
    own = client.get("/v1/me", headers=enterprise_key(settings, U)).json()
    assert {i["name"]: i["source"] for i in own["inputs"]}[FIELD] == "credit events"
    html = client.get(f"/v1/decisions/{after['decision_id']}/report", headers=keys["auditor"]).text
    assert 'class="repaired"' in html and "自环罚〔2025〕3号" in html and "2025-05-01" in html
    assert "环境行政处罚" in html
    en = client.get(f"/v1/decisions/{after['decision_id']}/report?lang=en", headers=keys["auditor"]).text
    assert "was repaired on 2025-05-01 and no longer counts" in en
    # the earlier decision's report still shows it counting (replayable as it was)
    old = client.get(f"/v1/decisions/{before['decision_id']}/report", headers=keys["auditor"]).text
    assert 'class="counting"' in old and 'class="repaired"' not in old
    assert client.post(f"/v1/credit-events/{event_id}/repair", json=early | {"repaired_on": "2025-06-01"},
                       headers=keys["committee"]).status_code == 409  # fmt: skip
    # the chain: recorded, repaired, each snapshot's provenance; rows bound and verified
    log = client.get("/v1/audit/log?limit=1000", headers=keys["auditor"]).json()["items"]
    acts = [e["action"] for e in log if e["action"].startswith(("credit_event.", "snapshot.provenance"))]
    assert acts == ["credit_event.record", "snapshot.provenance", "credit_event.record", "snapshot.provenance",
                    "credit_event.repair", "snapshot.provenance"]  # fmt: skip
    assert {e["payload"]["provenance"] for e in log if e["action"] == "snapshot.provenance"} == {"credit events"}
    assert client.get("/v1/audit/verify", headers=keys["auditor"]).json()["ok"] is True


def test_a_serious_penalty_is_repaired_only_after_a_year_and_a_listing_at_once(client: TestClient, keys) -> None:
    enterprise_with_decision(client, keys, 1)
    serious = client.post("/v1/credit-events", json=_event(severity="serious"), headers=keys["committee"]).json()
    assert serious["event"]["min_disclosure_months"] == 12
    r = client.post(f"/v1/credit-events/{serious['event']['event_id']}/repair",
                    json={"repaired_on": "2025-12-31", "evidence_ref": "x"}, headers=keys["committee"])  # fmt: skip
    assert r.status_code == 422 and "2026-01-10" in r.text
    listing = client.post("/v1/credit-events", json=_event(kind="abnormal_operation", occurred_on="2025-05-01",
                                                           amount_yuan=None, reference="市监异常〔2025〕12号"),
                          headers=keys["committee"]).json()  # fmt: skip
    assert listing["derived"]["abnormal_operation_list"] is True
    (listed,) = listing["new_decisions"]
    assert listed["eligible"] is False  # a knock-out while listed
    r = client.post(f"/v1/credit-events/{listing['event']['event_id']}/repair",
                    json={"repaired_on": "2025-05-03", "evidence_ref": "移出经营异常名录决定书"},
                    headers=keys["committee"])  # fmt: skip
    assert r.status_code == 200 and r.json()["derived"]["abnormal_operation_list"] is False


def test_an_event_after_the_snapshot_moves_its_as_of_forward(client: TestClient, keys) -> None:
    enterprise_with_decision(client, keys, 1)  # as_of 2025-06-30
    on = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    out = client.post("/v1/credit-events", json=_event(kind="accident_general", occurred_on=on, amount_yuan=None),
                      headers=keys["committee"]).json()  # fmt: skip
    assert out["as_of"] == on and out["derived"] == {"accidents_general_36m": 1}


def test_bad_events_are_refused_naming_the_field(client: TestClient, keys, settings) -> None:
    enterprise_with_decision(client, keys, 1)
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    for body, loc in [(_event(occurred_on=tomorrow), "occurred_on"), (_event(severity="LARGER"), "severity"),
                      (_event(kind="env_incident", severity="general"), "severity"),
                      (_event(min_disclosure_months=1), "min_disclosure_months"), (_event(kind="nosuch"), "kind"),
                      (_event(amount_yuan=-5), "amount_yuan")]:  # fmt: skip
        r = client.post("/v1/credit-events", json=body, headers=keys["committee"])
        assert r.status_code == 422 and loc in r.text, (body, r.text)
    assert (
        client.post("/v1/credit-events", json=_event(uscc=make_uscc(9)), headers=keys["committee"]).status_code == 404
    )
    me = enterprise_key(settings, U)
    assert client.post("/v1/credit-events", json=_event(), headers=me).status_code == 403
    client.post("/v1/credit-events", json=_event(), headers=keys["committee"])
    assert [e["reference"] for e in client.get(f"/v1/enterprises/{U}/credit-events", headers=me).json()] == [
        "自环罚〔2025〕3号"
    ]
    assert client.get("/v1/me", headers=me).json()["credit_events"][0]["kind"] == "env_penalty"
    assert client.get(f"/v1/enterprises/{make_uscc(2)}/credit-events", headers=me).status_code == 403
    r = client.post("/v1/credit-events/999/repair", json={"repaired_on": "2025-05-01", "evidence_ref": "x"},
                    headers=keys["committee"])  # fmt: skip
    assert r.status_code == 404


def test_a_department_key_records_and_repairs_only_its_own_departments_events(
    client: TestClient, keys, settings
) -> None:
    from dbsupport import PEPPER
    from parkcredit.store import keys as keystore
    from parkcredit.store.db import make_engine, make_sessionmaker, write_session

    engine = make_engine(settings.database_url)
    with write_session(make_sessionmaker(engine)) as session:
        heads = {}
        for dept in ("environment", "tax"):
            _, token = keystore.create_key(session, "department", PEPPER, department=dept)
            heads[dept] = {"Authorization": f"Bearer {token}"}
    engine.dispose()
    enterprise_with_decision(client, keys, 1)
    r = client.post("/v1/credit-events", json=_event(), headers=heads["environment"])
    assert r.status_code == 201, r.text
    event_id = r.json()["event"]["event_id"]
    assert client.post("/v1/credit-events", json=_event(), headers=heads["tax"]).status_code == 403
    r = client.post("/v1/credit-events", json=_event(kind="tax_penalty", reference="税罚〔2025〕1号"),
                    headers=heads["tax"])  # fmt: skip
    assert r.status_code == 201 and r.json()["event"]["department"] == "税务"
    repair = {"repaired_on": "2025-05-01", "evidence_ref": "修复决定"}
    assert client.post(f"/v1/credit-events/{event_id}/repair", json=repair, headers=heads["tax"]).status_code == 403
    r = client.post(f"/v1/credit-events/{event_id}/repair", json=repair, headers=heads["environment"])
    assert r.status_code == 200 and r.json()["derived"]["env_penalties_36m"] == 0


def test_the_committee_records_and_repairs_an_event_on_the_enterprises_page(client: TestClient, keys) -> None:
    from rightsupport import csrf_of, sign_in

    enterprise_with_decision(client, keys, 1)
    tc = sign_in(client, keys["committee"])
    html = tc.get(f"/web/enterprises/{U}/credit-events").text
    assert 'id="event-form"' in html and "环境行政处罚" in html
    form = {"csrf": csrf_of(html), "kind": "env_penalty", "occurred_on": "2025-01-10", "severity": "general",
            "amount_yuan": "30,000", "reference": "自环罚〔2025〕3号"}  # fmt: skip
    r = tc.post(f"/web/enterprises/{U}/credit-events", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    html = tc.get(f"/web/enterprises/{U}/credit-events").text
    assert "自环罚〔2025〕3号" in html and "2025-04-10" in html  # the earliest repair day
    (event,) = client.get(f"/v1/enterprises/{U}/credit-events", headers=keys["committee"]).json()
    early = tc.post(f"/web/credit-events/{event['event_id']}/repair",
                    data={"csrf": csrf_of(html), "repaired_on": "2025-03-01", "evidence_ref": "修复决定"})  # fmt: skip
    assert early.status_code == 422 and "2025-04-10" in early.text
    r = tc.post(f"/web/credit-events/{event['event_id']}/repair",
                data={"csrf": csrf_of(html), "repaired_on": "2025-05-01", "evidence_ref": "修复决定"},
                follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert client.get(f"/v1/enterprises/{U}/credit-events", headers=keys["committee"]).json()[0]["repaired_on"]
    auditor = sign_in(client, keys["auditor"]).get(f"/web/enterprises/{U}/credit-events?lang=en").text
    assert "Negative records and credit repair" in auditor and 'id="event-form"' not in auditor
