"""Human review of an automated refusal (个人信息保护法 art. 24): the enterprise asks, the request waits in the
committee's queue, the outcome (an override with its reason, or upheld with a written reason) is recorded,
audited and visible to the enterprise."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dbsupport import authorization, make_uscc
from rightsupport import PRODUCT, csrf_of, enterprise_key, enterprise_with_decision, sign_in

U, V = make_uscc(1), make_uscc(2)


def _refused(client: TestClient, keys, i: int = 1) -> dict:  # type: ignore[no-untyped-def]
    d = enterprise_with_decision(client, keys, i, tax_credit_grade="C")
    assert d["eligible"] is False
    return d


def test_a_refusal_reviewed_into_an_override_is_what_the_bank_and_the_enterprise_see(client, keys, settings) -> None:
    d = _refused(client, keys)
    me = enterprise_key(settings, U)
    r = client.post("/v1/reviews", json={"decision_id": d["decision_id"], "reason": "我司纳税信用等级已恢复为B级"},
                    headers=me)  # fmt: skip
    assert r.status_code == 201, r.text
    review = r.json()
    assert (review["status"], review["requested_as"], review["uscc"]) == ("pending", "enterprise", U)
    queue = client.get("/v1/reviews?status=pending", headers=keys["committee"]).json()["items"]
    assert [q["review_id"] for q in queue] == [review["review_id"]]
    body = {"outcome": "override", "reason": "复核：纳税信用等级已恢复为B级，有税务证明", "eligible": True,
            "limit_yuan": 800_000, "reason_code": "NEW_INFORMATION"}  # fmt: skip
    r = client.post(f"/v1/reviews/{review['review_id']}/decide", json=body, headers=keys["committee"])
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "overridden" and done["override"]["limit_yuan"] == 800_000
    assert done["override"]["reason"] == body["reason"] and done["override"]["decision_id"] == d["decision_id"]
    mine = client.get("/v1/reviews", headers=me).json()["items"]
    assert [(x["status"], x["outcome_reason"]) for x in mine] == [("overridden", body["reason"])]
    assert client.get("/v1/me", headers=me).json()["decisions"][0]["override"]["limit_yuan"] == 800_000
    client.post("/v1/authorizations", json=authorization(U), headers=keys["committee"])
    bank = client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["bank"]).json()
    assert bank["eligible"] is True and any(f["code"] == "OVERRIDE" for f in bank["flags"])
    assert (
        client.post(f"/v1/reviews/{review['review_id']}/decide", json=body, headers=keys["committee"]).status_code
        == 409
    )
    log = client.get("/v1/audit/log?limit=1000", headers=keys["auditor"]).json()["items"]
    assert [e["action"] for e in log if e["object_type"] == "review"] == ["review.request", "review.decide"]
    assert any(e["action"] == "decision.override" for e in log)
    assert client.get("/v1/audit/verify", headers=keys["auditor"]).json()["ok"] is True


def test_an_upheld_refusal_carries_a_written_reason(client, keys, settings) -> None:
    d = _refused(client, keys)
    me = enterprise_key(settings, U)
    review = client.post("/v1/reviews", json={"decision_id": d["decision_id"], "reason": "请人工复核本次结论"},
                         headers=me).json()  # fmt: skip
    assert client.post("/v1/reviews", json={"decision_id": d["decision_id"], "reason": "再次申请复核"},
                       headers=me).status_code == 409  # one pending review per decision  # fmt: skip
    r = client.post(f"/v1/reviews/{review['review_id']}/decide",
                    json={"outcome": "upheld", "reason": "维持：纳税信用等级C级属于准入条件"}, headers=keys["committee"])  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "upheld" and r.json()["override"] is None
    assert client.get("/v1/reviews", headers=me).json()["items"][0]["outcome_reason"].startswith("维持")


def test_only_the_enterprises_own_refusals_can_be_reviewed(client, keys, settings) -> None:
    d = _refused(client, keys)
    ok = enterprise_with_decision(client, keys, 2)
    me = enterprise_key(settings, U)
    assert client.post("/v1/reviews", json={"decision_id": ok["decision_id"], "reason": "请复核这个决定"},
                       headers=me).status_code == 403  # another enterprise's decision  # fmt: skip
    r = client.post("/v1/reviews", json={"decision_id": ok["decision_id"], "reason": "请复核这个决定"},
                    headers=enterprise_key(settings, V))  # fmt: skip
    assert r.status_code == 422 and "decision_id" in r.text  # not a refusal
    assert client.post("/v1/reviews", json={"decision_id": "00000000-0000-0000-0000-000000000000",
                                            "reason": "请复核这个决定"}, headers=me).status_code == 404  # fmt: skip
    review = client.post("/v1/reviews", json={"decision_id": d["decision_id"], "reason": "请复核这个决定"},
                         headers=me).json()  # fmt: skip
    assert client.post(f"/v1/reviews/{review['review_id']}/decide", json={"outcome": "upheld", "reason": "自己维持"},
                       headers=me).status_code == 403  # fmt: skip
    bad = {
        "outcome": "override",
        "reason": "复核后调整额度",
        "eligible": False,
        "limit_yuan": 5,
        "reason_code": "OTHER",
    }
    r = client.post(f"/v1/reviews/{review['review_id']}/decide", json=bad, headers=keys["committee"])
    assert r.status_code == 422 and "limit_yuan" in r.text
    r = client.post(f"/v1/reviews/{review['review_id']}/decide", json={"outcome": "override", "reason": "缺少字段的调整"},
                    headers=keys["committee"])  # fmt: skip
    assert r.status_code == 422
    assert client.get("/v1/reviews", headers=enterprise_key(settings, V)).json()["items"] == []


def test_review_by_the_enterprises_page_and_the_committees_queue_page(client, keys, settings) -> None:
    d = _refused(client, keys)
    tc = sign_in(client, enterprise_key(settings, U))
    html = tc.get("/web/me").text
    assert 'id="review-form"' in html and d["decision_id"] in html
    r = tc.post("/web/me/reviews", data={"csrf": csrf_of(html), "decision_id": d["decision_id"],
                                        "reason": "纳税信用等级已恢复"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert "待复核" in tc.get("/web/me").text
    tc = sign_in(client, keys["committee"])
    html = tc.get("/web/reviews").text
    assert 'id="review-queue"' in html and "纳税信用等级已恢复" in html
    (rid,) = [x["review_id"] for x in client.get("/v1/reviews", headers=keys["committee"]).json()["items"]]
    r = tc.post(f"/web/reviews/{rid}/decide", data={"csrf": csrf_of(html), "outcome": "override",
                                                   "reason": "复核后予以调整", "limit_yuan": "500,000",
                                                   "reason_code": "NEW_INFORMATION"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    assert client.get("/v1/reviews", headers=keys["committee"]).json()["items"][0]["override"]["limit_yuan"] == 500_000
    assert "Human review queue" in tc.get("/web/reviews?lang=en").text
