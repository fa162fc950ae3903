"""Post-loan early warning (issue 14): a new snapshot or decision that shows the enterprise turning worse
creates one alert per bank with a live loan or an authorization; webhooks get it signed, at least once."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dbsupport import BANK, OTHER_BANK, PEPPER
from lendingsupport import TODAY, ask, enrol, loan_body, strong_profile
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store import keys as keystore
from parkcredit.store.db import write_session
from parkcredit.store.tables import AuditEntry

THIRD_BANK = "沿滩村镇银行"
SECRET_A = "secret-of-bank-A-0123456789"
SECRET_B = "secret-of-bank-B-9876543210"


class Receiver:
    """A webhook receiver on 127.0.0.1 (a real HTTP server in a thread) that checks the HMAC signature,
    answers 500 to the first `fail` requests, then 204."""

    def __init__(self, secret: str, fail: int = 0) -> None:
        self.secret, self.fail = secret.encode(), fail
        self.requests: list[dict[str, Any]] = []  # every request: status answered, signature ok, body
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(receiver.secret, body, hashlib.sha256).hexdigest()
                good = hmac.compare_digest(expected, self.headers.get("X-Parkcredit-Signature", ""))
                status = 500 if len(receiver.requests) < receiver.fail else (204 if good else 401)
                receiver.requests.append({"status": status, "signed": good, "body": json.loads(body)})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/parkcredit"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] == 204]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fast(settings: Settings) -> Iterator[TestClient]:
    """The app with quick webhook retries (0.2 s, 0.4 s, …)."""
    # the receivers are threads on 127.0.0.1: allowed here, refused by default (SSRF)
    quick = settings.model_copy(update={"webhook_retry_base_seconds": 0.2, "webhook_poll_seconds": 0.1,
                                        "webhook_allow_loopback": True})  # fmt: skip
    with TestClient(create_app(quick)) as c:
        yield c


def _wait(predicate: Any, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _third_bank(fast: TestClient) -> dict[str, str]:
    with write_session(fast.app.state.sessions) as session:  # type: ignore[attr-defined]
        _, token = keystore.create_key(session, "bank", PEPPER, bank=THIRD_BANK)
    return {"Authorization": f"Bearer {token}"}


def _setup(fast: TestClient, keys: dict[str, dict[str, str]]) -> str:
    """Bank A (自贡银行) has a live loan, bank B (富顺农商银行) an authorization only; a third bank neither."""
    u = enrol(fast, keys, 1)
    d = ask(fast, keys, u)
    r = fast.post("/v1/loans", json=loan_body(u, d["decision_id"], 1_000_000), headers=keys["bank"])
    assert r.status_code == 201, r.text
    return u


def test_a_dishonest_debtor_listing_alerts_each_bank_concerned_and_the_webhooks_get_it_signed(
    fast: TestClient, keys
) -> None:  # type: ignore[no-untyped-def]
    a_hook, b_hook = Receiver(SECRET_A), Receiver(SECRET_B, fail=2)
    third = _third_bank(fast)
    try:
        u = _setup(fast, keys)
        for who, hook, secret in (("bank", a_hook, SECRET_A), ("other_bank", b_hook, SECRET_B)):
            r = fast.post("/v1/webhooks", json={"url": hook.url, "secret": secret}, headers=keys[who])
            assert r.status_code == 201 and "secret" not in r.json()
        as_of = str(TODAY - dt.timedelta(days=1))
        r = fast.post("/v1/enterprises", json=strong_profile(1, as_of=as_of, dishonest_debtor_enterprise=True),
                      headers=keys["committee"])  # fmt: skip
        assert r.status_code == 201, r.text

        every = fast.get("/v1/alerts", headers=keys["committee"]).json()["items"]
        assert sorted(a["bank"] for a in every) == sorted([BANK, OTHER_BANK])  # one per bank, none for the third
        alert = next(a for a in every if a["bank"] == BANK)
        assert (alert["kind"], alert["field"], alert["from_value"], alert["to_value"]) == (
            "DISHONEST_DEBTOR", "dishonest_debtor_enterprise", "False", "True")  # fmt: skip
        assert (alert["source_department"], alert["source_date"], alert["uscc"]) == ("法院", as_of, u)
        assert "失信被执行人" in alert["zh"] and "dishonest judgment debtor" in alert["en"]
        own = fast.get("/v1/alerts", headers=keys["bank"]).json()
        assert [a["bank"] for a in own["items"]] == [BANK]
        assert fast.get(f"/v1/alerts?after={own['cursor']}", headers=keys["bank"]).json()["items"] == []
        assert fast.get("/v1/alerts", headers=third).json()["items"] == []

        # bank A's receiver gets it at once, signed; bank B's fails twice and gets it on the third attempt
        assert _wait(lambda: a_hook.accepted() and len(b_hook.accepted()) == 1), (a_hook.requests, b_hook.requests)
        got = a_hook.accepted()[0]
        assert got["signed"] and got["body"]["alert"]["alert_id"] == alert["alert_id"]
        assert [(r["status"], r["signed"]) for r in b_hook.requests] == [(500, True), (500, True), (204, True)]
        assert [r["body"]["attempt"] for r in b_hook.requests] == [1, 2, 3]
        deliveries = fast.get("/v1/webhooks/deliveries", headers=keys["other_bank"]).json()
        assert len(deliveries) == 1 and deliveries[0]["status"] == "delivered" and deliveries[0]["attempts"] == 3
        assert [x["http_status"] for x in deliveries[0]["attempt_log"]] == [500, 500, 204]
        assert fast.get("/v1/webhooks/deliveries", headers=keys["bank"]).json()[0]["attempts"] == 1

        # the bank's next query decides again: the new knock-out alerts both banks
        before = own["cursor"]
        ask(fast, keys, u, "other_bank")
        new = fast.get(f"/v1/alerts?after={before}", headers=keys["bank"]).json()["items"]
        assert [(a["kind"], a["field"]) for a in new] == [("KNOCKOUT_NEW", "KO_DISHONEST_DEBTOR")]
        assert new[0]["product"] == "chengxindai" and new[0]["decision_id"] is not None
    finally:
        a_hook.close()
        b_hook.close()


def test_lower_grades_and_a_serious_accident_name_what_changed(fast: TestClient, keys) -> None:
    u = _setup(fast, keys)
    worse = strong_profile(1, as_of=str(TODAY - dt.timedelta(days=1)), tax_credit_grade="B", env_credit_level="YELLOW",
                           accident_serious_last_on=str(TODAY - dt.timedelta(days=20)))  # fmt: skip
    assert fast.post("/v1/enterprises", json=worse, headers=keys["committee"]).status_code == 201
    mine = fast.get("/v1/alerts", headers=keys["bank"]).json()["items"]
    got = {(a["kind"], a["from_value"], a["to_value"], a["source_department"]) for a in mine}
    assert got == {("TAX_GRADE_DOWN", "A", "B", "税务"), ("ENV_GRADE_DOWN", "GREEN", "YELLOW", "生态环境"),
                   ("SERIOUS_ACCIDENT", None, str(TODAY - dt.timedelta(days=20)), "应急管理")}  # fmt: skip
    assert all(u == a["uscc"] for a in mine)
    # an unchanged snapshot alerts nobody; an enterprise without a loan or authorization alerts nobody
    n = len(fast.get("/v1/alerts", headers=keys["committee"]).json()["items"])
    assert fast.post("/v1/enterprises", json=worse, headers=keys["committee"]).status_code == 201
    fast.post("/v1/enterprises", json=strong_profile(7), headers=keys["committee"])
    fast.post("/v1/enterprises", json=strong_profile(7, dishonest_debtor_enterprise=True), headers=keys["committee"])
    assert len(fast.get("/v1/alerts", headers=keys["committee"]).json()["items"]) == n
    # every alert is bound to the audit chain
    with fast.app.state.sessions() as s:  # type: ignore[attr-defined]
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "alert.create")).all()
        bound = {r["id"] for e in entries for r in e.payload["rows"] if r["table"] == "alerts"}
    assert bound == {str(a["alert_id"]) for a in fast.get("/v1/alerts", headers=keys["committee"]).json()["items"]}


def test_a_serious_delinquency_at_one_bank_alerts_the_other_banks(fast: TestClient, keys) -> None:
    u = _setup(fast, keys)
    loan = fast.get("/v1/loans", headers=keys["bank"]).json()["items"][0]
    body = {"status": "overdue_90", "principal_outstanding_yuan": 900_000, "event_on": str(TODAY)}
    assert fast.post(f"/v1/loans/{loan['loan_id']}/events", json=body, headers=keys["bank"]).status_code == 201
    assert fast.get("/v1/alerts", headers=keys["bank"]).json()["items"] == []  # the reporting bank knows
    (alert,) = fast.get("/v1/alerts", headers=keys["other_bank"]).json()["items"]
    assert (alert["kind"], alert["to_value"], alert["uscc"]) == ("LOAN_SERIOUS_DELINQUENCY", "overdue_90", u)
    assert BANK not in alert["zh"] + alert["en"]  # the other bank is not named


def test_webhooks_belong_to_one_bank(fast: TestClient, keys) -> None:
    hook = Receiver(SECRET_A)
    try:
        r = fast.post("/v1/webhooks", json={"url": hook.url, "secret": SECRET_A}, headers=keys["bank"])
        wid = r.json()["webhook_id"]
        assert fast.post("/v1/webhooks", json={"url": "ftp://x.example/hook", "secret": SECRET_A},
                         headers=keys["bank"]).status_code == 422  # fmt: skip
        assert (
            fast.post("/v1/webhooks", json={"url": hook.url, "secret": "short"}, headers=keys["bank"]).status_code
            == 422
        )
        assert fast.delete(f"/v1/webhooks/{wid}", headers=keys["other_bank"]).status_code == 403
        assert [w["webhook_id"] for w in fast.get("/v1/webhooks", headers=keys["bank"]).json()] == [wid]
        assert fast.delete(f"/v1/webhooks/{wid}", headers=keys["bank"]).json()["revoked_at"] is not None
        assert fast.get("/v1/webhooks", headers=keys["bank"]).json() == []
        _setup(fast, keys)
        fast.post(
            "/v1/enterprises", json=strong_profile(1, dishonest_debtor_enterprise=True), headers=keys["committee"]
        )
        time.sleep(0.5)
        assert hook.requests == []  # a revoked webhook gets nothing; the alert is still pollable
        assert len(fast.get("/v1/alerts", headers=keys["bank"]).json()["items"]) == 1
        verify = fast.get("/v1/audit/verify", headers=keys["auditor"]).json()  # webhooks and alerts are bound
        assert verify["ok"] is True, verify
    finally:
        hook.close()


def _csv(rows: list[dict[str, Any]]) -> bytes:
    cols = list(rows[0])
    return ("\n".join([",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]) + "\n").encode()


def test_an_import_and_a_batch_job_alert_for_many_enterprises_at_once(fast: TestClient, keys) -> None:
    usccs = [enrol(fast, keys, i) for i in (1, 2)]
    for u in usccs:
        ask(fast, keys, u)  # a first decision of each, made on the bank's query
    worse = [strong_profile(i, as_of=str(TODAY - dt.timedelta(days=1)), tax_credit_grade="C") for i in (1, 2)]
    r = fast.post("/v1/imports", files={"file": ("tax.csv", _csv(worse), "text/csv")}, headers=keys["committee"])
    assert r.status_code == 200 and r.json()["rows_stored"] == 2, r.text
    alerts = fast.get("/v1/alerts", headers=keys["committee"]).json()["items"]
    assert sorted((a["uscc"], a["bank"], a["kind"]) for a in alerts) == sorted(
        (u, bank, "TAX_GRADE_DOWN") for u in usccs for bank in (BANK, OTHER_BANK)
    )
    job = fast.post("/v1/decisions/batch", json={"product": "chengxindai"}, headers=keys["committee"]).json()
    assert _wait(lambda: fast.get(f"/v1/jobs/{job['job_id']}", headers=keys["committee"]).json()["status"] == "done")
    after = fast.get(f"/v1/alerts?after={alerts[-1]['alert_id']}", headers=keys["bank"]).json()["items"]
    assert sorted((a["uscc"], a["field"]) for a in after if a["kind"] == "KNOCKOUT_NEW") == sorted(
        (u, "KO_TAX_GRADE") for u in usccs
    )


def test_a_band_drop_on_the_next_decision_alerts_the_banks_concerned(fast: TestClient, keys) -> None:
    u = _setup(fast, keys)  # decided band A on the bank's query; bank A lent
    weaker = strong_profile(1, as_of=str(TODAY - dt.timedelta(days=1)), tax_credit_grade="B", safety_std_grade="L3",
                            env_credit_level="BLUE", mu_efficiency_class="B")  # fmt: skip
    assert fast.post("/v1/enterprises", json=weaker, headers=keys["committee"]).status_code == 201
    cursor = fast.get("/v1/alerts", headers=keys["committee"]).json()["cursor"]  # after the snapshot's alerts
    shown = ask(fast, keys, u, "other_bank")
    assert shown["band"] == "B" and shown["status"] == "ELIGIBLE"
    for who in ("bank", "other_bank"):
        new = fast.get(f"/v1/alerts?after={cursor}", headers=keys[who]).json()["items"]
        assert [(a["kind"], a["from_value"], a["to_value"]) for a in new] == [("BAND_DROP", "A", "B")], who


def test_a_pending_delivery_follows_the_bank_to_its_new_receiver(fast: TestClient, keys) -> None:
    down, new = Receiver(SECRET_A, fail=1000), Receiver(SECRET_B)
    try:
        fast.post("/v1/webhooks", json={"url": down.url, "secret": SECRET_A}, headers=keys["bank"])
        _setup(fast, keys)
        fast.post(
            "/v1/enterprises", json=strong_profile(1, dishonest_debtor_enterprise=True), headers=keys["committee"]
        )
        assert _wait(lambda: len(down.requests) >= 1)
        r = fast.post("/v1/webhooks", json={"url": new.url, "secret": SECRET_B}, headers=keys["bank"])
        assert _wait(lambda: len(new.accepted()) == 1), (down.requests, new.requests)
        assert new.accepted()[0]["signed"]  # signed with the new receiver's secret
        (d,) = fast.get("/v1/webhooks/deliveries", headers=keys["bank"]).json()
        assert (d["status"], d["webhook_id"]) == ("delivered", r.json()["webhook_id"])
        assert [a["http_status"] for a in d["attempt_log"]][-1] == 204 and d["attempts"] >= 2
    finally:
        down.close()
        new.close()
