"""The enterprise's own key: it sees its own record (inputs with department and date, decisions and
reasons, path, bank queries, authorizations) and nothing of another enterprise; it grants and revokes
a bank's authorization itself."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from dbsupport import BANK, OTHER_BANK, authorization, make_uscc
from rightsupport import PRODUCT, csrf_of, enterprise_key, enterprise_with_decision, sign_in

U, V = make_uscc(1), make_uscc(2)


def _grant(bank: str = BANK, **kw: object) -> dict[str, object]:
    today = dt.date.today()
    body: dict[str, object] = {"bank": bank, "products": [PRODUCT], "valid_from": str(today),
                               "valid_to": str(today + dt.timedelta(days=90)), "purpose": "企业诚信贷申请"}  # fmt: skip
    return body | kw


def test_an_enterprise_key_reads_its_own_decisions_and_reasons_and_gets_403_on_another(
    client: TestClient, keys, settings
) -> None:
    mine = enterprise_with_decision(client, keys, 1, tax_credit_grade="C")  # a refusal, with reasons
    other = enterprise_with_decision(client, keys, 2)
    me = enterprise_key(settings, U)
    r = client.get(f"/v1/decisions/{mine['decision_id']}", headers=me)
    assert r.status_code == 200 and r.json()["uscc"] == U and r.json()["reasons"]
    assert client.get(f"/v1/enterprises/{U}", headers=me).status_code == 200
    assert client.get(f"/v1/enterprises/{U}/snapshots", headers=me).status_code == 200
    for path in (f"/v1/decisions/{other['decision_id']}", f"/v1/enterprises/{V}", f"/v1/enterprises/{V}/snapshots",
                 f"/v1/enterprises/{V}/credit-events", f"/v1/disputes?uscc={V}"):  # fmt: skip
        assert client.get(path, headers=me).status_code == 403, path
    # and none of the committee's writes
    assert client.post("/v1/decisions", json={"uscc": U, "product": PRODUCT}, headers=me).status_code == 403
    assert client.post("/v1/authorizations", json=authorization(U), headers=me).status_code == 403


def test_the_self_view_has_inputs_with_department_decisions_path_and_bank_queries(client, keys, settings) -> None:
    enterprise_with_decision(client, keys, 1, tax_credit_grade="C")
    client.post("/v1/authorizations", json=authorization(U), headers=keys["committee"])
    assert client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["bank"]).status_code == 200
    assert client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["other_bank"]).status_code == 403
    body = client.get("/v1/me", headers=enterprise_key(settings, U)).json()
    assert body["uscc"] == U
    grade = next(i for i in body["inputs"] if i["name"] == "tax_credit_grade")
    assert (grade["value"], grade["dept"], grade["dept_en"]) == ("C", "税务", "tax")
    assert grade["as_of"] in ("2024", "2025-06-30") and grade["source"] in ("api", None)  # per-field provenance
    assert not any(i["name"] == "legal_rep_name" for i in body["inputs"])  # personal data stays apart
    (d,) = body["decisions"]
    assert d["eligible"] is False and d["reasons"] and d["reasons"][0]["zh"]
    assert body["eligible_now"] is False and body["path_to_eligibility"]
    assert [(q["bank"], q["allowed"]) for q in body["bank_queries"]] == [(OTHER_BANK, False), (BANK, True)]
    assert [a["granted_by"] for a in body["authorizations"]] == ["committee_on_paper"]
    assert client.get("/v1/me", headers=keys["committee"]).status_code == 403


def test_the_enterprise_grants_a_bank_which_then_queries_and_after_revoking_gets_403(client, keys, settings) -> None:
    enterprise_with_decision(client, keys, 1)
    me = enterprise_key(settings, U)
    assert client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["bank"]).status_code == 403
    r = client.post("/v1/me/authorizations", json=_grant(), headers=me)
    assert r.status_code == 201, r.text
    auth = r.json()
    assert (auth["uscc"], auth["bank"], auth["granted_by"]) == (U, BANK, "enterprise")
    assert client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["bank"]).status_code == 200
    assert client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["other_bank"]).status_code == 403
    r = client.delete(f"/v1/me/authorizations/{auth['authorization_id']}", headers=me)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["bank"]).status_code == 403
    # the audit chain says who granted and who revoked
    log = client.get("/v1/audit/log?limit=1000", headers=keys["auditor"]).json()["items"]
    acts = [(e["action"], e["object_id"]) for e in log if e["object_id"] == auth["authorization_id"]]
    assert acts == [
        ("authorization.create", auth["authorization_id"]),
        ("authorization.revoke", auth["authorization_id"]),
    ]


def test_an_enterprise_cannot_revoke_or_see_another_enterprises_authorization(client, keys, settings) -> None:
    enterprise_with_decision(client, keys, 2)
    theirs = client.post("/v1/me/authorizations", json=_grant(), headers=enterprise_key(settings, V)).json()
    me = enterprise_key(settings, U)
    assert client.delete(f"/v1/me/authorizations/{theirs['authorization_id']}", headers=me).status_code == 404
    assert client.get("/v1/me/authorizations", headers=me).json() == []
    assert client.get(f"/v1/eligibility/{V}?product={PRODUCT}", headers=keys["bank"]).status_code == 200


def test_a_bad_grant_is_422_naming_the_field(client, keys, settings) -> None:
    enterprise_with_decision(client, keys, 1)
    me = enterprise_key(settings, U)
    r = client.post("/v1/me/authorizations", json=_grant(products=["nosuch"]), headers=me)
    assert r.status_code == 422 and "products" in r.text
    r = client.post("/v1/me/authorizations", json=_grant(valid_to="2000-01-01"), headers=me)
    assert r.status_code == 422 and "valid_to" in r.text
    r = client.post("/v1/me/authorizations", json=_grant(uscc=V), headers=me)  # no uscc: it is the key's
    assert r.status_code == 422


def test_the_enterprise_pages_in_chinese_and_english_and_grant_revoke_by_form(client, keys, settings) -> None:
    enterprise_with_decision(client, keys, 1, tax_credit_grade="C")
    tc = sign_in(client, enterprise_key(settings, U))
    r = tc.get("/web/", follow_redirects=False)
    assert r.headers["location"] == "/web/me"
    html = tc.get("/web/me").text
    assert "本企业的信用信息" in html or "全部输入数据" in html
    assert U in html and "税务" in html and "纳税信用等级" in html
    r = tc.post("/web/me/authorizations", data={"csrf": csrf_of(html), "bank": BANK, "product": PRODUCT,
                                               "valid_from": str(dt.date.today()), "valid_to": str(dt.date.today() + dt.timedelta(days=180)),
                                               "purpose": "企业诚信贷"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["bank"]).status_code == 200
    html = tc.get("/web/me").text
    assert "企业在线授权" in html
    import re

    (auth_id,) = re.findall(r"/web/me/authorizations/([0-9a-f-]{36})/revoke", html)
    r = tc.post(f"/web/me/authorizations/{auth_id}/revoke", data={"csrf": csrf_of(html)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/v1/eligibility/{U}?product={PRODUCT}", headers=keys["bank"]).status_code == 403
    en = tc.get("/web/me?lang=en").text
    assert "All inputs (supplying department and date)" in en and "the enterprise, online" in en
    assert tc.get("/web/portfolio").status_code == 403  # no committee page
    assert tc.get("/web/disputes").status_code == 403


def test_fuzzing_the_rights_routes_with_an_enterprise_key_finds_no_server_error(client, keys, settings) -> None:
    import pytest

    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings
    from schemathesis.specs.openapi import checks

    enterprise_with_decision(client, keys, 1, tax_credit_grade="C")
    headers = {"enterprise": enterprise_key(settings, U), "committee": keys["committee"]}
    mine = ("/v1/me", "/v1/disputes", "/v1/reviews", "/v1/credit-events", "/v1/enterprises/{uscc}",
            "/v1/decisions/{decision_id}")  # fmt: skip
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[tuple[str, str, str, int, str]] = []
    ops = 0
    for op_result in schema.get_all_operations():
        op = op_result.ok()
        if not op.path.startswith(mine) or op.path.endswith(("/report", "/replay", "/overrides", "/path")):
            continue
        ops += 1
        for who, h in headers.items():

            @hsettings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(op.as_strategy())
            def check(case) -> None:  # type: ignore[no-untyped-def]
                case.headers = {**(case.headers or {}), **h}  # noqa: B023
                response = case.call()
                try:
                    assert response.status_code < 500
                    case.validate_response(response, checks=[checks.response_schema_conformance])
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append((who, case.method, case.path, response.status_code, str(exc)[:300]))  # noqa: B023

            check()
    assert ops >= 12
    assert failures == [], "\n".join(map(str, failures))
