"""Disputes (异议): due 20 days after receipt; while open the field is flagged in the decision, the bank's
answer and the report; a correction is a new snapshot and a new decision; overdue ones reach the auditor."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from dbsupport import authorization, make_uscc
from rightsupport import PRODUCT, enterprise_key, enterprise_with_decision, sign_in

U, V = make_uscc(1), make_uscc(2)
FIELD = "env_penalties_36m"


def _dispute(**kw: object) -> dict[str, object]:
    body: dict[str, object] = {"field": FIELD, "claimed_value": 0, "statement": "该处罚已于2025年被撤销，见附件",
                               "evidence_ref": "scan://disputes/0001.pdf", "evidence_sha256": "1" * 64}  # fmt: skip
    return body | kw


def _setup(client: TestClient, keys, settings) -> tuple[dict, dict[str, str]]:  # type: ignore[no-untyped-def]
    d = enterprise_with_decision(client, keys, 1, env_penalties_36m=2, env_penalty_max_yuan_36m=20_000)
    assert client.post("/v1/authorizations", json=authorization(U), headers=keys["committee"]).status_code == 201
    return d, enterprise_key(settings, U)


def test_a_dispute_filed_today_is_due_20_days_later_and_flagged_everywhere_while_open(client, keys, settings) -> None:
    d, me = _setup(client, keys, settings)
    before = dt.datetime.now(dt.UTC)
    r = client.post("/v1/disputes", json=_dispute(decision_id=d["decision_id"]), headers=me)
    assert r.status_code == 201, r.text
    x = r.json()
    received, due = dt.datetime.fromisoformat(x["received_at"]), dt.datetime.fromisoformat(x["due_at"])
    assert before - dt.timedelta(seconds=5) <= received <= dt.datetime.now(dt.UTC)
    assert due - received == dt.timedelta(days=20)
    assert (x["status"], x["overdue"], x["filed_as"], x["recorded_value"], x["snapshot_id"]) == (
        "open", False, "enterprise", 2, d["snapshot_id"])  # fmt: skip
    # the bank's answer flags the field
    bank = client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["bank"]).json()
    assert bank["disputed_fields"] == [FIELD]
    (flag,) = [f for f in bank["flags"] if f["code"] == "FIELD_DISPUTED"]
    assert flag["fields"] == [FIELD] and "环境处罚次数" in flag["zh"]
    # the decision, as the committee and the enterprise read it
    for who in (keys["committee"], me):
        rec = client.get(f"/v1/decisions/{d['decision_id']}", headers=who).json()
        assert [f["field"] for f in rec["disputed_fields"]] == [FIELD]
    own = client.get("/v1/me", headers=me).json()
    assert [f["field"] for f in own["decisions"][0]["disputed_fields"]] == [FIELD]
    assert next(i for i in own["inputs"] if i["name"] == FIELD)["disputed"] is True
    # the report
    html = client.get(f"/v1/decisions/{d['decision_id']}/report", headers=keys["auditor"]).text
    assert 'class="bad disputed-flag"' in html and FIELD in html
    # one open dispute per field
    assert client.post("/v1/disputes", json=_dispute(), headers=me).status_code == 409


def test_resolving_as_corrected_makes_a_new_snapshot_and_decision_and_closes_the_dispute(
    client, keys, settings, sessions
) -> None:
    d, me = _setup(client, keys, settings)
    x = client.post("/v1/disputes", json=_dispute(), headers=me).json()
    assert client.post(f"/v1/disputes/{x['dispute_id']}/resolve", json={"status": "corrected", "reply": "已核实"},
                       headers=me).status_code == 403  # the enterprise does not answer its own dispute  # fmt: skip
    r = client.post(f"/v1/disputes/{x['dispute_id']}/resolve",
                    json={"status": "corrected", "reply": "经核实，处罚已撤销，已更正为0次。"}, headers=keys["committee"])  # fmt: skip
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "corrected" and done["reply"].startswith("经核实") and done["corrected_value"] == 0
    new_snap = done["correction_snapshot_id"]
    assert new_snap and new_snap != d["snapshot_id"]
    (nd,) = done["new_decisions"]
    assert nd["snapshot_id"] == new_snap and nd["product"] == PRODUCT and nd["decision_id"] != d["decision_id"]
    rec = client.get(f"/v1/decisions/{nd['decision_id']}", headers=keys["committee"]).json()
    assert "disputed_fields" not in rec  # closed: no flag
    inputs = [c["inputs"] for dim in rec["trace"] for c in dim["characteristics"] if FIELD in c["inputs"]]
    assert inputs and all(i[FIELD] == 0 for i in inputs)
    snaps = client.get(f"/v1/enterprises/{U}/snapshots", headers=keys["committee"]).json()
    assert snaps[0]["snapshot_id"] == new_snap
    own = client.get("/v1/me", headers=me).json()
    sources = {i["name"]: i["source"] for i in own["inputs"]}
    assert sources[FIELD] == f"dispute {x['dispute_id']}" and sources["tax_credit_grade"] == "api"
    bank = client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["bank"]).json()
    assert bank["disputed_fields"] == [] and bank["decision_id"] == nd["decision_id"]
    # answered once; every step in the chain, rows bound
    again = client.post(f"/v1/disputes/{x['dispute_id']}/resolve", json={"status": "upheld", "reply": "再次答复：维持原记录"},
                        headers=keys["committee"])  # fmt: skip
    assert again.status_code == 409
    log = client.get("/v1/audit/log?limit=1000", headers=keys["auditor"]).json()["items"]
    entries = [e for e in log if e["object_type"] == "dispute"]
    assert [e["action"] for e in entries] == ["dispute.file", "dispute.resolve"]
    assert entries[1]["payload"]["provenance"] == f"dispute {x['dispute_id']}"
    assert all(e["payload"]["rows"][0]["table"] == "disputes" for e in entries)
    assert client.get("/v1/audit/verify", headers=keys["auditor"]).json()["ok"] is True


def test_upheld_and_cannot_verify_keep_the_record_with_a_written_reply(client, keys, settings) -> None:
    d, me = _setup(client, keys, settings)
    a = client.post("/v1/disputes", json=_dispute(), headers=me).json()
    b = client.post("/v1/disputes", json=_dispute(field="tax_credit_grade", claimed_value="B"), headers=me).json()
    for x, status in ((a, "upheld"), (b, "cannot_verify")):
        r = client.post(f"/v1/disputes/{x['dispute_id']}/resolve", json={"status": status, "reply": "经核实，记录无误。"},
                        headers=keys["committee"])  # fmt: skip
        assert r.status_code == 200 and r.json()["status"] == status and r.json()["new_decisions"] == []
    snaps = client.get(f"/v1/enterprises/{U}/snapshots", headers=keys["committee"]).json()
    assert len(snaps) == 1
    r = client.post(f"/v1/disputes/{a['dispute_id']}/resolve", json={"status": "upheld", "reply": "x"},
                    headers=keys["committee"])  # fmt: skip
    assert r.status_code == 409 or r.status_code == 422  # a reply needs 5 characters; answered already anyway


def test_a_dispute_past_its_due_date_is_overdue_for_the_auditor_and_in_monitoring(client, keys, settings) -> None:
    enterprise_with_decision(client, keys, 1, env_penalties_36m=1)
    enterprise_with_decision(client, keys, 2, env_penalties_36m=1)
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=25)).isoformat()
    late = client.post("/v1/disputes", json=_dispute(uscc=U, received_at=long_ago), headers=keys["committee"])
    assert late.status_code == 201, late.text
    late = late.json()
    assert late["filed_as"] == "committee_on_behalf" and late["overdue"] is True
    fresh = client.post("/v1/disputes", json=_dispute(uscc=V), headers=keys["committee"]).json()
    assert fresh["overdue"] is False
    items = client.get("/v1/disputes?overdue=true", headers=keys["auditor"]).json()["items"]
    assert [x["dispute_id"] for x in items] == [late["dispute_id"]]
    tc = sign_in(client, keys["auditor"])
    html = tc.get("/web/disputes/overdue").text
    assert 'id="overdue-disputes"' in html and U in html and V not in html and "已超期" in html
    assert "Disputes past their 20-day answer date" in tc.get("/web/disputes/overdue?lang=en").text
    mon = client.get(f"/v1/monitoring/psi?product={PRODUCT}", headers=keys["auditor"])
    assert mon.status_code == 200 and mon.json()["overdue_disputes"] == 1
    page = tc.get(f"/web/monitoring?product={PRODUCT}").text
    assert 'id="overdue-disputes"' in page and "超期未答复的异议" in page
    # answering late is recorded as late
    r = client.post(f"/v1/disputes/{late['dispute_id']}/resolve", json={"status": "upheld", "reply": "经核实，记录无误。"},
                    headers=keys["committee"]).json()  # fmt: skip
    assert r["overdue"] is False and r["answered_late"] is True
    assert client.get("/v1/disputes?overdue=true", headers=keys["auditor"]).json()["items"] == []


def test_bad_disputes_are_refused_with_the_field_named(client, keys, settings) -> None:
    enterprise_with_decision(client, keys, 1, env_penalties_36m=1)
    enterprise_with_decision(client, keys, 2, env_penalties_36m=1)
    me = enterprise_key(settings, U)
    cases = [
        (_dispute(field="nosuch"), "field"), (_dispute(field="uscc"), "field"),
        (_dispute(field="legal_rep_name", claimed_value="李四"), "field"),
        (_dispute(claimed_value="many"), "claimed_value"), (_dispute(claimed_value=-1), "claimed_value"),
        (_dispute(received_at=dt.datetime.now(dt.UTC).isoformat()), "received_at"),
        (_dispute(statement=""), "statement"), (_dispute(claimed_value=1), "claimed_value"),  # 1 is on record
    ]  # fmt: skip
    for body, loc in cases:
        r = client.post("/v1/disputes", json=body, headers=me)
        assert r.status_code == 422 and loc in r.text, (body, r.text)
    assert client.post("/v1/disputes", json=_dispute(uscc=V), headers=me).status_code == 403
    assert client.post("/v1/disputes", json=_dispute(), headers=keys["committee"]).status_code == 422  # no uscc
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    r = client.post("/v1/disputes", json=_dispute(uscc=U, received_at=future), headers=keys["committee"])
    assert r.status_code == 422 and "received_at" in r.text
    assert client.post("/v1/disputes", json=_dispute(snapshot_id=999999), headers=me).status_code == 404
    assert client.post("/v1/disputes", json=_dispute(), headers=keys["bank"]).status_code == 403
    assert client.post("/v1/disputes/999/resolve", json={"status": "upheld", "reply": "经核实无误"},
                       headers=keys["committee"]).status_code == 404  # fmt: skip
    # an enterprise lists its own only
    client.post("/v1/disputes", json=_dispute(uscc=V), headers=keys["committee"])
    client.post("/v1/disputes", json=_dispute(), headers=me)
    assert {x["uscc"] for x in client.get("/v1/disputes", headers=me).json()["items"]} == {U}
    assert len(client.get("/v1/disputes", headers=keys["committee"]).json()["items"]) == 2


def test_the_enterprise_files_a_dispute_by_form_and_the_committee_answers_by_form(client, keys, settings) -> None:
    from rightsupport import csrf_of

    enterprise_with_decision(client, keys, 1, env_penalties_36m=2)
    tc = sign_in(client, enterprise_key(settings, U))
    html = tc.get("/web/me").text
    r = tc.post("/web/me/disputes", data={"csrf": csrf_of(html), "field": FIELD, "claimed_value": "0",
                                         "statement": "处罚已撤销", "evidence_ref": "scan://x.pdf"},
                follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    assert "异议中" in tc.get("/web/me").text
    bad = tc.post("/web/me/disputes", data={"csrf": csrf_of(html), "field": "tax_credit_grade", "claimed_value": "Z",
                                           "statement": "等级有误", "evidence_ref": "scan://y.pdf"})  # fmt: skip
    assert bad.status_code == 422 and "tax_credit_grade" in bad.text
    tc = sign_in(client, keys["committee"])
    html = tc.get("/web/disputes").text
    assert 'id="open-disputes"' in html
    (did,) = [x["dispute_id"] for x in client.get("/v1/disputes", headers=keys["committee"]).json()["items"]]
    r = tc.post(f"/web/disputes/{did}/resolve", data={"csrf": csrf_of(html), "status": "corrected",
                                                     "reply": "经核实已更正"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert client.get("/v1/disputes", headers=keys["committee"]).json()["items"][0]["status"] == "corrected"


def test_the_database_keeps_one_open_dispute_per_field_under_a_race(client, keys, sessions) -> None:
    import pytest

    from parkcredit.errors import Conflict
    from parkcredit.store import disputes as store
    from parkcredit.store.db import write_session

    d = enterprise_with_decision(client, keys, 1, env_penalties_36m=1)
    fields = {"uscc": U, "snapshot_id": d["snapshot_id"], "decision_id": None, "field": FIELD, "recorded_value": 1,
              "claimed_value": 0, "statement": "竞争条件测试", "evidence_ref": "x", "evidence_sha256": None,
              "filed_as": "enterprise"}  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(Conflict), write_session(sessions) as session:  # two requests that both passed the check
        store.add(session, actor="a", received_at=now, **fields)
        store.add(session, actor="b", received_at=now, **fields)
    with write_session(sessions) as session:  # rolled back as a whole; a closed dispute does not block a new one
        first = store.add(session, actor="a", received_at=now, **fields)
        store.resolve(session, first, actor="c", status="upheld", reply="经核实无误", now=now)
        store.add(session, actor="b", received_at=now, **fields)


def test_a_banks_batch_flags_only_the_disputed_enterprise(client, keys, settings) -> None:
    _setup(client, keys, settings)
    enterprise_with_decision(client, keys, 2)
    assert client.post("/v1/authorizations", json=authorization(V), headers=keys["committee"]).status_code == 201
    assert client.post("/v1/disputes", json=_dispute(), headers=enterprise_key(settings, U)).status_code == 201
    r = client.post("/v1/eligibility/batch", json={"product": PRODUCT, "usccs": [U, V]}, headers=keys["bank"])
    assert r.status_code == 200, r.text
    by = {item["summary"]["uscc"]: item["summary"] for item in r.json()["results"] if item.get("summary")}
    assert by[U]["disputed_fields"] == [FIELD] and by[V]["disputed_fields"] == []
