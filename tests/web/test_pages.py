"""The web pages over the app (TestClient), on SQLite and PostgreSQL: sign-in, roles, lists, portfolio, import, jobs."""

from __future__ import annotations

import re
import time

import pytest

from dbsupport import BANK, OTHER_BANK, authorization, good_profile, make_uscc

PRODUCT = "chengxindai"


def _decide(client, keys, *profiles):  # type: ignore[no-untyped-def]
    out = []
    for p in profiles:
        assert client.post("/v1/enterprises", json=p, headers=keys["committee"]).status_code == 201
        r = client.post("/v1/decisions", json={"uscc": p["uscc"], "product": PRODUCT}, headers=keys["committee"])
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def test_sign_in_sets_an_httponly_strict_cookie_and_goes_to_the_role_home(client, keys) -> None:
    token = keys["committee"]["Authorization"].removeprefix("Bearer ")
    r = client.post("/web/login", data={"key": token, "next": "/web/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/web/portfolio"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("samesite", "SameSite")
    assert client.get("/web/portfolio").status_code == 200


def test_a_bad_key_is_refused_with_a_page_not_a_cookie(client) -> None:
    r = client.post("/web/login", data={"key": "pck_not_a_key", "next": "/web/"}, follow_redirects=False)
    assert r.status_code == 401 and "set-cookie" not in r.headers
    assert "密钥无效或已吊销" in r.text


def test_roles_without_pages_cannot_sign_in(client, keys) -> None:
    token = keys["admin"]["Authorization"].removeprefix("Bearer ")
    r = client.post("/web/login", data={"key": token}, follow_redirects=False)
    assert r.status_code == 403 and "set-cookie" not in r.headers


def test_pages_without_a_cookie_redirect_to_sign_in(client) -> None:
    r = client.get("/web/enterprises", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/web/login?next=/web/enterprises"


def test_sign_in_never_redirects_off_site(client, keys) -> None:
    token = keys["auditor"]["Authorization"].removeprefix("Bearer ")
    r = client.post("/web/login", data={"key": token, "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/web/audit"


def test_a_bank_sees_only_its_own_query_log_and_no_committee_page(client, keys, as_role) -> None:
    (d,) = _decide(client, keys, good_profile(1))
    uscc = d["uscc"]
    for bank in (BANK, OTHER_BANK):
        assert (
            client.post("/v1/authorizations", json=authorization(uscc, bank), headers=keys["committee"]).status_code
            == 201
        )
    assert client.get(f"/v1/eligibility/{uscc}", headers=keys["bank"]).status_code == 200
    assert client.get(f"/v1/eligibility/{uscc}", headers=keys["other_bank"]).status_code == 200
    c = as_role("bank")
    for path in ("/web/portfolio", "/web/enterprises", f"/web/enterprises/{uscc}", "/web/score", "/web/import",
                 "/web/audit", "/web/decisions", f"/web/decisions/{d['decision_id']}/report"):  # fmt: skip
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 403, path
        assert "当前角色无权查看此页面" in r.text
    page = c.get("/web/bank-queries")
    assert page.status_code == 200
    banks = re.findall(r'<td class="bank">([^<]+)</td>', page.text)
    assert banks == [BANK]
    auditor = as_role("auditor").get("/web/bank-queries").text
    assert sorted(re.findall(r'<td class="bank">([^<]+)</td>', auditor)) == sorted([BANK, OTHER_BANK])


def test_enterprise_list_filters_by_knockout_band_industry_and_sorts(client, keys, as_role) -> None:
    good = good_profile(1)
    ko = good_profile(2, tax_credit_grade="D", name="失信示例2有限公司")
    other = good_profile(3, industry_code="C26", revenue_yuan_y1=30_000_000)
    decisions = {d["uscc"]: d for d in _decide(client, keys, good, ko, other)}
    client.post("/v1/enterprises", json=good_profile(4), headers=keys["committee"])  # never scored
    c = as_role("committee")

    def names(**params: str) -> list[str]:
        r = c.get("/web/enterprises", params=params)
        assert r.status_code == 200
        return re.findall(r'class="ent-link" href="/web/enterprises/(\w+)', r.text)

    assert names(knocked_out="yes") == [ko["uscc"]]
    assert set(names(knocked_out="no")) == {good["uscc"], other["uscc"]}
    assert names(industry="C26") == [other["uscc"]]
    scores = {u: decisions[u]["total_score"] for u in decisions}
    assert names(sort="score", dir="desc")[:3] == sorted(scores, key=lambda u: (scores[u], u), reverse=True)
    assert names(sort="score", dir="desc")[3] == make_uscc(4)  # unscored last
    band = decisions[good["uscc"]]["band"]
    assert good["uscc"] in names(band=band)
    assert all(decisions[u]["band"] == band for u in names(band=band))


def test_portfolio_counts_and_charts_match_the_decisions(client, keys, as_role) -> None:
    ds = _decide(client, keys, good_profile(1), good_profile(2, tax_credit_grade="D"), good_profile(3))
    r = as_role("auditor").get("/web/portfolio")
    assert r.status_code == 200
    eligible = sum(d["eligible"] for d in ds)
    total = sum(d["limit_yuan"] for d in ds)
    assert re.search(r'id="pf-eligible">(\d+)<', r.text).group(1) == str(eligible)
    assert re.search(r'id="pf-limit">([\d,]+) ', r.text).group(1) == f"{total:,}"
    assert r.text.count("<svg") == 4
    assert r.text.count('class="bar"') >= 3  # histogram columns and bars are drawn


def test_enterprise_page_shows_history_decisions_and_path_to_eligibility(client, keys, as_role) -> None:
    weak = good_profile(5, hazard_rectification_rate=0.5, major_hazards_open=3, major_hazards_overdue=2,
                        utility_arrears_months=4, rent_arrears_months=3, ss_arrears_months=3, tax_credit_grade="M",
                        env_credit_level="YELLOW", admin_penalties_general_36m=3)  # fmt: skip
    (d,) = _decide(client, keys, weak)
    assert d["eligible"] is False
    client.post("/v1/enterprises", json={**weak, "as_of": "2025-09-30"}, headers=keys["committee"])
    r = as_role("committee").get(f"/web/enterprises/{weak['uscc']}")
    assert r.status_code == 200
    assert r.text.count("<tr><td>") >= 2  # two snapshots listed
    assert f"/web/decisions/{d['decision_id']}/report" in r.text
    assert 'id="path-table"' in r.text or 'id="path-none"' in r.text


def test_import_page_shows_rejected_rows(client, as_role) -> None:
    good, bad = good_profile(7), good_profile(8)
    csv = "统一社会信用代码,企业名称,数据日期,纳税信用等级\n"
    csv += f"{good['uscc']},{good['name']},2025-06-30,A\n"
    csv += f"{bad['uscc'][:-1]}0,坏数据有限公司,2025-06-30,Z\n"
    c = as_role("committee")
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/web/import").text).group(1)
    r = c.post("/web/import", data={"csrf": csrf}, files={"file": ("park.csv", csv.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    assert re.search(r'id="rows-stored"[^>]*>(\d+)<', r.text).group(1) == "1"
    assert re.search(r'id="rows-rejected"[^>]*>(\d+)<', r.text).group(1) == "1"
    rejected = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td>", r.text)
    assert rejected and all(row == "3" for row, _ in rejected)  # the header is row 1
    assert {col for _, col in rejected} >= {"统一社会信用代码"}


def test_forms_without_the_csrf_token_are_refused(client, as_role) -> None:
    c = as_role("committee")
    r = c.post("/web/score", data={"product": PRODUCT, "csrf": "forged"})
    assert r.status_code == 403


def test_scoring_the_park_runs_a_job_with_progress(client, keys, as_role) -> None:
    for i in range(1, 4):
        client.post("/v1/enterprises", json=good_profile(i), headers=keys["committee"])
    c = as_role("committee")
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/web/score").text).group(1)
    r = c.post("/web/score", data={"product": PRODUCT, "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/web/jobs/")
    for _ in range(200):  # the job runner of the app runs it in the background
        status = c.get(r.headers["location"] + "/status").json()
        if status["status"] not in ("queued", "running"):
            break
        time.sleep(0.05)
    assert status["status"] == "done" and status["done"] == status["total"] == 3
    assert "<progress" in c.get(r.headers["location"]).text


@pytest.mark.tampers
def test_auditor_sees_the_chain_status_and_a_tampered_chain(client, keys, as_role, sessions) -> None:
    from sqlalchemy import text

    _decide(client, keys, good_profile(1))
    c = as_role("auditor")
    assert "审计链完整" in c.get("/web/audit").text
    with sessions() as s:
        s.execute(text("UPDATE audit_log SET actor = 'someone' WHERE seq = 2"))
        s.commit()
    r = c.get("/web/audit")
    assert "审计链被破坏" in r.text and re.search(r'id="first-bad">2<', r.text)


def test_english_switch_sets_the_language(client, as_role) -> None:
    c = as_role("auditor")
    r = c.get("/web/lang/en", params={"next": "/web/audit"}, follow_redirects=True)
    assert "The audit chain is intact" in r.text and "Sign out" in r.text
    assert "审计链完整" not in r.text


def test_bad_input_gives_a_page_never_a_server_error(client, as_role) -> None:
    c = as_role("committee")
    assert c.get("/web/enterprises", params={"sort": "bogus"}).status_code == 422
    assert c.get("/web/enterprises", params={"product": "nope"}).status_code == 422
    assert c.get("/web/enterprises/NOTAUSCC").status_code == 404
    assert c.get("/web/decisions/nope/report").status_code == 404
    assert c.get("/web/jobs/nope").status_code == 404
    assert c.get("/web/lang/fr").status_code == 404


def test_monitoring_page_shows_psi_from_the_governance_package(client, keys, as_role) -> None:
    for i in range(1, 7):  # three enterprises in the reference window, three in the current one
        as_of = "2025-01-15" if i <= 3 else "2025-06-30"
        p = good_profile(i, as_of=as_of, tax_credit_grade="A" if i <= 3 else "B")
        assert client.post("/v1/enterprises", json=p, headers=keys["committee"]).status_code == 201
    r = as_role("auditor").get("/web/monitoring")
    assert r.status_code == 200
    assert 'id="psi-table"' in r.text, r.text[-2000:]
    assert "tax_credit_grade" in r.text and "PSI" in r.text
    assert "(n = 3)" in r.text  # window sizes are shown (and warned about: PSI rises on small windows)
