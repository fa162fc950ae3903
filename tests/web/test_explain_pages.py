"""The committee's explaining pages through the app over HTTP (both databases): a snapshot newer than the latest
decision is flagged on the page and in the list; the list filters by status and top reason."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from dbsupport import good_profile


def _sign_in(tc: TestClient, headers: dict[str, str]) -> TestClient:
    token = headers["Authorization"].removeprefix("Bearer ")
    assert tc.post("/web/login", data={"key": token, "next": "/web/"}, follow_redirects=False).status_code == 303
    return tc


def test_a_snapshot_newer_than_the_decision_is_flagged(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    p = good_profile(11)
    assert client.post("/v1/enterprises", json=p, headers=keys["committee"]).status_code == 201
    body = {"uscc": p["uscc"], "product": "chengxindai"}
    assert client.post("/v1/decisions", json=body, headers=keys["committee"]).status_code == 201
    c = _sign_in(TestClient(client.app), keys["committee"])
    assert 'id="stale-flag"' not in c.get(f"/web/enterprises/{p['uscc']}").text
    newer = {**p, "as_of": "2025-09-30", "tax_credit_grade": "C"}
    assert client.post("/v1/enterprises", json=newer, headers=keys["committee"]).status_code == 201
    page = c.get(f"/web/enterprises/{p['uscc']}").text
    assert 'id="stale-flag"' in page and "晚于最新决策" in page
    assert 'data-status="INELIGIBLE"' in page  # the status now is the newer snapshot's (C grade knocks out)
    assert 'data-code="KO_TAX_GRADE"' in page
    listing = c.get("/web/enterprises").text
    row = re.search(rf"{p['uscc']}.*?</tr>", listing, re.S)
    assert row and 'class="flag"' in row.group(0)


def test_the_list_filters_by_status_and_top_reason(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    ok, ko = good_profile(12), good_profile(13, dishonest_debtor_enterprise=True)
    for p in (ok, ko):
        assert client.post("/v1/enterprises", json=p, headers=keys["committee"]).status_code == 201
        body = {"uscc": p["uscc"], "product": "chengxindai"}
        assert client.post("/v1/decisions", json=body, headers=keys["committee"]).status_code == 201
    c = _sign_in(TestClient(client.app), keys["committee"])

    def listed(**params: str) -> list[str]:
        r = c.get("/web/enterprises", params=params)
        assert r.status_code == 200
        return re.findall(r'class="ent-link" href="/web/enterprises/(\w+)', r.text)

    assert listed(status="INELIGIBLE") == [ko["uscc"]]
    assert listed(status="ELIGIBLE") == [ok["uscc"]]
    assert listed(reason="KO_DISHONEST_DEBTOR") == [ko["uscc"]]
    page = c.get("/web/enterprises", params={"lang": "en"}).text
    assert "The enterprise or its legal representative is a dishonest judgment debtor" in page
    assert c.get("/web/enterprises", params={"status": "BOGUS"}).status_code == 422


def test_history_blocks_it_until_a_date_and_changes_are_listed_apart(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    # months_since counts 30.4375-day months: 36 of them after 2025-01-10 end on 2028-01-10 18:00, so the
    # knock-out stops holding on 2028-01-11
    accident = good_profile(14, accident_serious_last_on="2025-01-10")
    graded_c = good_profile(15, tax_credit_grade="C")
    for p in (accident, graded_c):
        assert client.post("/v1/enterprises", json=p, headers=keys["committee"]).status_code == 201
    c = _sign_in(TestClient(client.app), keys["committee"])
    page = c.get(f"/web/enterprises/{accident['uscc']}").text
    history = re.search(r'<table class="list" id="path-history">(.*?)</table>', page, re.S)
    assert history and "KO_SAFETY_SERIOUS" in history.group(1) and "2028-01-11" in history.group(1)
    assert "历史记录阻止，直到 2028-01-11" in page  # the reason's own fix says it too
    assert 'id="path-none"' in page  # nothing the enterprise can do about it
    page = c.get(f"/web/enterprises/{graded_c['uscc']}?lang=en").text
    assert 'id="path-table"' in page and "Raise the tax credit grade one step" in page
    assert 'id="path-history"' not in page and 'id="path-time"' not in page
