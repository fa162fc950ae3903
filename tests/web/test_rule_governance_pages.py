"""Rule governance as a person does it in the browser's forms (through the app over HTTP, both databases):
draft -> a refused file shown at its line -> the diff and the backtest read on the page -> approve and publish
the text on the page (its content hash travels with the form; a stale hash is refused) -> retire."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from dbsupport import PEPPER, good_profile
from govsupport import broken, variant
from parkcredit.store import keys as keystore
from parkcredit.store.db import write_session


def sign_in(tc: TestClient, headers: dict[str, str]) -> TestClient:
    """`tc` signed in through the form with the key of `headers` (its session is now the cookie)."""
    token = headers["Authorization"].removeprefix("Bearer ")
    r = tc.post("/web/login", data={"key": token, "next": "/web/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return tc


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def _second_approver(sessions) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with write_session(sessions) as session:
        _, token = keystore.create_key(session, "approver", PEPPER, holder="第二复核人")
    return {"Authorization": f"Bearer {token}"}


def test_draft_diff_backtest_approve_publish_retire(client: TestClient, keys, sessions) -> None:  # type: ignore[no-untyped-def]
    for i in range(1, 4):
        assert client.post("/v1/enterprises", json=good_profile(i), headers=keys["committee"]).status_code == 201
    committee = sign_in(TestClient(client.app), keys["committee"])
    history = committee.get("/web/rulesets")
    assert history.status_code == 200
    assert "企业诚信贷" in history.text and "bundled:" not in history.text and "/work/" not in history.text
    base_id = int(re.findall(r'href="/web/rulesets/(\d+)"', history.text)[0])

    form = committee.get(f"/web/rulesets/new?base={base_id}")
    assert form.status_code == 200 and "threshold: 60" in form.text  # the version's text, to edit

    bad = committee.post("/web/rulesets/new", data={"csrf": _csrf(form.text), "text": broken(), "note": "坏文件"})
    assert bad.status_code == 422
    line = int(re.search(r'<li id="L(\d+)" class="hit">', bad.text).group(1))  # type: ignore[union-attr]
    assert f"第 {line} 行" in bad.text and "DEV_DEBT_RATIO" in bad.text
    assert "ge: 0.45" in broken().splitlines()[line - 1]  # the highlighted line is the bad bin

    made = committee.post("/web/rulesets/new", data={"csrf": _csrf(form.text), "text": variant(threshold=58),
                                                      "note": "门槛 60 -> 58"}, follow_redirects=False)  # fmt: skip
    assert made.status_code == 303, made.text
    url = made.headers["location"]
    page = committee.get(url).text
    assert 'data-status="draft"' in page
    assert 'id="diff-table"' in page and "58" in page  # the threshold change, in words
    assert 'id="backtest"' in page and 'id="bt-swap-in"' in page
    assert 'id="approve-form"' not in page  # the committee drafts; only an approver approves

    approver = sign_in(TestClient(client.app), keys["approver"])
    page = approver.get(url).text
    shown_hash = re.search(r'name="content_hash" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert shown_hash in page and shown_hash.startswith("sha256:")
    stale = approver.post(url + "/approve", data={"csrf": _csrf(page), "content_hash": "sha256:" + "0" * 64},
                          follow_redirects=False)  # fmt: skip
    assert stale.status_code == 409
    ok = approver.post(url + "/approve", data={"csrf": _csrf(page), "content_hash": shown_hash, "note": "已复核"},
                       follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303
    assert 'data-status="approved"' in approver.get(url).text

    publisher = sign_in(TestClient(client.app), _second_approver(sessions))
    page = publisher.get(url).text
    assert 'id="publish-form"' in page
    pub = publisher.post(url + "/publish", data={"csrf": _csrf(page), "content_hash": shown_hash},
                         follow_redirects=False)  # fmt: skip
    assert pub.status_code == 303, pub.text
    assert 'data-status="published"' in publisher.get(url).text

    page = publisher.get(url).text
    out = publisher.post(url + "/retire", data={"csrf": _csrf(page), "reason": "测试停用"}, follow_redirects=False)
    assert out.status_code == 303
    assert 'data-status="retired"' in publisher.get(url).text


def test_governance_pages_refuse_a_bank_and_bad_input(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    bank = sign_in(TestClient(client.app), keys["bank"])
    assert bank.get("/web/rulesets").status_code == 403
    committee = sign_in(TestClient(client.app), keys["committee"])
    assert committee.get("/web/rulesets/999999").status_code == 404
    assert committee.get("/web/rulesets/abc").status_code == 422
    form = committee.get("/web/rulesets/new")
    r = committee.post("/web/rulesets/new", data={"csrf": "x" * 40, "text": variant()})
    assert r.status_code == 403  # a form without this session's CSRF token
    r = committee.post("/web/rulesets/new", data={"csrf": _csrf(form.text), "text": "a: [unclosed"})
    assert r.status_code == 422 and 'id="rule-error"' in r.text
