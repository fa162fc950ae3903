"""GET /v1/enterprises/{uscc}/path, /policies and /v1/policies/{id}/push-list through real HTTP; /docs and /redoc
served with the service's own assets."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from dbsupport import good_profile


def _store(client: TestClient, headers: dict[str, str], profile: dict) -> str:  # type: ignore[type-arg]
    assert client.post("/v1/enterprises", json=profile, headers=headers).status_code == 201
    return str(profile["uscc"])


def test_a_too_young_enterprise_is_told_the_date_time_fixes_it(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    as_of = dt.date.fromisoformat(good_profile(1)["as_of"])
    founded = as_of - dt.timedelta(days=400)
    uscc = _store(client, keys["committee"], good_profile(1, established_on=founded.isoformat(),
                                                          in_park_since=founded.isoformat()))  # fmt: skip
    r = client.get(f"/v1/enterprises/{uscc}/path?product=chengxindai", headers=keys["committee"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "NOT_APPLICABLE"
    first = body["reasons"][0]
    assert first["code"] == "PRE_OPERATING" and first["kind"] == "precondition"
    assert first["fix"]["type"] == "time" and first["fix"]["date"] > as_of.isoformat()
    assert body["waiting"]["eligible_on"] == first["fix"]["date"]
    assert body["options"] == []  # no action makes it older


def test_a_c_grade_enterprise_is_told_to_reach_b(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    uscc = _store(client, keys["committee"], good_profile(2, tax_credit_grade="C"))
    body = client.get(f"/v1/enterprises/{uscc}/path?product=chengxindai", headers=keys["auditor"]).json()
    assert body["status"] == "INELIGIBLE" and body["reasons"][0]["code"] == "KO_TAX_GRADE"
    assert body["reasons"][0]["fix"]["type"] == "actions"
    grades = {c["fields"]["tax_credit_grade"] for o in body["options"] for c in o["changes"]
              if "tax_credit_grade" in c["fields"]}  # fmt: skip
    assert grades == {"B"}


def test_the_path_is_refused_to_a_bank_and_unknown_input_named(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    uscc = _store(client, keys["committee"], good_profile(3))
    assert client.get(f"/v1/enterprises/{uscc}/path", headers=keys["bank"]).status_code == 403
    r = client.get(f"/v1/enterprises/{uscc}/path?product=nosuch", headers=keys["committee"])
    assert r.status_code == 422 and "product" in r.text
    other = good_profile(4)["uscc"]
    assert client.get(f"/v1/enterprises/{other}/path", headers=keys["committee"]).status_code == 404


def test_policies_of_an_enterprise_and_the_push_list(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    srdi = _store(client, keys["committee"], good_profile(5, srdi_level="LITTLE_GIANT", srdi_valid_until="2029-12-31"))
    plain = _store(client, keys["committee"], good_profile(6, srdi_level=None, srdi_valid_until=None))
    r = client.get(f"/v1/enterprises/{srdi}/policies", headers=keys["committee"])
    assert r.status_code == 200, r.text
    got = {p["policy_id"]: p for p in r.json()["policies"]}
    assert got["srdi_support"]["matched"] and all(c["met"] for c in got["srdi_support"]["criteria"])
    assert got["srdi_support"]["name_zh"] and got["srdi_support"]["offer_en"]
    assert not {p["policy_id"]: p for p in client.get(f"/v1/enterprises/{plain}/policies",
                headers=keys["committee"]).json()["policies"]}["srdi_support"]["matched"]  # fmt: skip

    push = client.get("/v1/policies/srdi_support/push-list", headers=keys["committee"])
    assert push.status_code == 200, push.text
    usccs = [row["uscc"] for row in push.json()["rows"]]
    assert srdi in usccs and plain not in usccs and push.json()["total"] == len(usccs)
    assert client.get("/v1/policies/nosuch/push-list", headers=keys["committee"]).status_code == 404
    assert client.get("/v1/policies/srdi_support/push-list", headers=keys["bank"]).status_code == 403
    assert {p["policy_id"] for p in client.get("/v1/policies", headers=keys["auditor"]).json()} >= {
        "srdi_support", "mu_a_reward", "strategic_industry", "chengxindai_prequalification"}  # fmt: skip


def test_docs_and_redoc_load_nothing_from_outside(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        urls = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert urls and all(u.startswith("/") for u in urls), urls
        for u in urls:
            assert client.get(u).status_code == 200, u
        assert "<script>" not in html  # only script files: a CSP of script-src 'self' holds
    assert "SwaggerUIBundle" in client.get("/api-docs/assets/swagger-ui-bundle.js").text[:100_000]


def test_an_enterprise_key_reads_its_own_path_and_policies_only(client: TestClient, keys, sessions) -> None:  # type: ignore[no-untyped-def]
    from dbsupport import PEPPER
    from parkcredit.store import keys as keystore
    from parkcredit.store.db import write_session

    own = _store(client, keys["committee"], good_profile(7))
    other = _store(client, keys["committee"], good_profile(8))
    with write_session(sessions) as session:
        _, token = keystore.create_key(session, "enterprise", PEPPER, uscc=own)
    mine = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/v1/enterprises/{own}/path", headers=mine).status_code == 200
    assert client.get(f"/v1/enterprises/{own}/policies", headers=mine).status_code == 200
    assert client.get(f"/v1/enterprises/{other}/path", headers=mine).status_code == 403
    assert client.get(f"/v1/enterprises/{other}/policies", headers=mine).status_code == 403
    assert client.get("/v1/policies/srdi_support/push-list", headers=mine).status_code == 403
