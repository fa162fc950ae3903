"""Web sessions: the cookie is a random session token (never the API key), stored hashed, expiring and
revoked at sign-out; CSRF on every state-changing form; security headers; the pages work under the CSP.

TestClient over the app on SQLite and PostgreSQL; the last test drives the pages in Chromium (skipped
without it).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

import serverproc
from dbsupport import PEPPER, good_profile
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store.tables import WebSession
from parkcredit.web.auth import COOKIE

PAGES = ("/web/portfolio", "/web/enterprises", "/web/score", "/web/import", "/web/decisions", "/web/rulesets",
         "/web/monitoring")  # fmt: skip


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _sign_in(c: TestClient, headers: dict[str, str]) -> str:
    r = c.post("/web/login", data={"key": _token(headers), "next": "/web/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c.cookies[COOKIE]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def test_the_cookie_is_a_session_token_never_the_api_key_and_only_its_hash_is_stored(
    client: TestClient, keys, sessions
) -> None:
    cookie = _sign_in(client, keys["committee"])
    api_key = _token(keys["committee"])
    assert cookie != api_key and api_key not in cookie and cookie.startswith("pcs_") and len(cookie) > 40
    with sessions() as s:
        rows = s.scalars(select(WebSession)).all()
        assert [r.token_hash for r in rows] == [hashlib.sha256(cookie.encode()).hexdigest()]
        dump = " ".join(str(v) for r in s.execute(text("SELECT * FROM web_sessions")).all() for v in r)
        assert cookie not in dump and api_key not in dump
        hours = (rows[0].expires_at - rows[0].created_at).total_seconds() / 3600
        assert hours == pytest.approx(8)
    assert client.get("/web/portfolio", follow_redirects=False).status_code == 200


def test_after_logout_the_old_cookie_opens_nothing(client: TestClient, keys, settings: Settings) -> None:
    cookie = _sign_in(client, keys["committee"])
    page = client.get("/web/portfolio")
    r = client.post("/web/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/web/login"
    # a browser (or thief) that kept the cookie
    with TestClient(client.app) as other:
        other.cookies.set(COOKIE, cookie)
        for path in PAGES:
            r = other.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/web/login"), (path, r.status_code)
        r = other.post("/web/score", data={"product": "chengxindai", "csrf": _csrf(page.text)}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/web/login")


def test_logout_without_the_csrf_token_is_refused_and_the_session_stays(client: TestClient, keys) -> None:
    _sign_in(client, keys["committee"])
    assert client.post("/web/logout", data={"csrf": "0" * 40}, follow_redirects=False).status_code == 403
    assert client.post("/web/logout", follow_redirects=False).status_code == 403
    assert client.get("/web/portfolio", follow_redirects=False).status_code == 200


def test_a_session_expires(db_url: str, keys) -> None:
    s = Settings(database_url=db_url, model_enabled=False, api_key_pepper=PEPPER, web_session_hours=1 / 3600)
    with TestClient(create_app(s)) as c:
        cookie = _sign_in(c, keys["committee"])
        assert c.get("/web/portfolio", follow_redirects=False).status_code == 200
        time.sleep(1.2)
        c.cookies.set(COOKIE, cookie)  # the browser dropped it (max-age); a kept copy is refused too
        r = c.get("/web/portfolio", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/web/login")


def test_revoking_the_key_ends_its_sessions(client: TestClient, keys) -> None:
    _sign_in(client, keys["committee"])
    key_id = next(k["key_id"] for k in client.get("/v1/admin/keys", headers=keys["admin"]).json()
                  if k["role"] == "committee")  # fmt: skip
    assert client.delete(f"/v1/admin/keys/{key_id}", headers=keys["admin"]).status_code == 200
    assert client.get("/web/portfolio", follow_redirects=False).status_code == 303


def test_an_unknown_or_forged_cookie_opens_nothing(client: TestClient, keys) -> None:
    for forged in ("pcs_" + "A" * 43, _token(keys["committee"]), "x" * 5000):
        client.cookies.set(COOKIE, forged)
        assert client.get("/web/portfolio", follow_redirects=False).status_code == 303


def test_every_state_changing_form_carries_a_csrf_token(client: TestClient, keys) -> None:
    client.post("/v1/enterprises", json=good_profile(1), headers=keys["committee"])
    _sign_in(client, keys["committee"])
    uscc = good_profile(1)["uscc"]
    forms = 0
    for path in (*PAGES, f"/web/enterprises/{uscc}"):
        html = client.get(path).text
        for form in re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S):
            if 'method="post"' in form:
                forms += 1
                assert re.search(r'name="csrf" value="[0-9a-f]{40}"', form), (path, form[:200])
    assert forms >= 4  # logout on every page, score, import, decide


def test_csrf_tokens_are_compared_in_constant_time(client: TestClient, keys, monkeypatch) -> None:
    import hmac

    from parkcredit.web import auth

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    _sign_in(client, keys["committee"])
    client.post("/web/score", data={"product": "chengxindai", "csrf": "f" * 40})
    assert calls and calls[-1][0] == b"f" * 40


def test_a_sign_in_posted_from_another_site_is_refused(client: TestClient, keys) -> None:
    r = client.post("/web/login", data={"key": _token(keys["committee"])}, headers={"Origin": "https://evil.example"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 403 and COOKIE not in r.cookies
    r = client.post("/web/login", data={"key": _token(keys["committee"])}, headers={"Origin": "http://testserver"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303


def test_pages_carry_the_security_headers_and_no_inline_script(client: TestClient, keys) -> None:
    _sign_in(client, keys["committee"])
    for path in ("/web/login", *PAGES, "/web/nowhere"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Referrer-Policy"] == "same-origin"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), path  # every script is a file
        assert not re.search(r"\son[a-z]+=", r.text), path  # no inline event handler
        assert "<style" not in r.text and not re.search(r'\sstyle="', r.text), path


def test_the_sign_in_and_out_are_in_the_audit_chain(client: TestClient, keys) -> None:
    _sign_in(client, keys["committee"])
    page = client.get("/web/portfolio")
    client.post("/web/logout", data={"csrf": _csrf(page.text)})
    entries = client.get("/v1/audit/log", params={"limit": 1000}, headers=keys["auditor"]).json()["items"]
    actions = [e["action"] for e in entries]
    assert "web.sign_in" in actions and "web.sign_out" in actions
    assert client.get("/v1/audit/verify", headers=keys["auditor"]).json()["ok"] is True


def test_an_upload_over_the_limit_is_a_413_page(db_url: str, keys) -> None:
    s = Settings(database_url=db_url, model_enabled=False, api_key_pepper=PEPPER, max_upload_bytes=32 * 1024)
    with TestClient(create_app(s)) as c:
        _sign_in(c, keys["committee"])
        csrf = _csrf(c.get("/web/import").text)
        r = c.post("/web/import", data={"csrf": csrf}, files={"file": ("p.csv", b"x" * 100_000, "text/csv")})
        assert r.status_code == 413 and r.headers["content-type"].startswith("text/html"), r.text[:200]
        assert "413" in r.text and "Content-Security-Policy" in r.headers


# -- in a real browser ----------------------------------------------------------------------------------------------
@pytest.fixture
def live(settings: Settings, keys) -> Iterator[dict[str, Any]]:
    with serverproc.in_thread(create_app(settings)) as base:
        yield {"base": base, "keys": keys}


def test_in_chromium_the_pages_work_under_the_csp_and_logout_ends_the_session(
    live: dict[str, Any], db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("one browser run is enough (SQLite)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    from parkcredit.reports.render import CHROMIUM_ARGS, chromium_path

    if chromium_path() is None:
        pytest.skip("needs Debian chromium")
    import httpx

    httpx.post(live["base"] + "/v1/enterprises", json=good_profile(1), headers=live["keys"]["committee"])
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        ctx = browser.new_context()
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(live["base"] + "/web/login")
        page.fill("#key", _token(live["keys"]["committee"]))
        page.click("#login-submit")
        page.wait_for_url(re.compile(r"/web/portfolio"))
        # the product switch submits itself (script from a file: allowed by the CSP)
        page.select_option("select[data-autosubmit]", "xiaoweikuaidai")
        page.wait_for_url(re.compile(r"product=xiaoweikuaidai"))
        cookie = next(c["value"] for c in ctx.cookies() if c["name"] == COOKIE)
        assert cookie.startswith("pcs_") and next(c for c in ctx.cookies() if c["name"] == COOKIE)["httpOnly"]
        page.click("header form[action='/web/logout'] button")
        page.wait_for_url(re.compile(r"/web/login"))
        page.goto(live["base"] + "/web/portfolio")
        assert "/web/login" in page.url  # signed out for good
        assert violations == []
        browser.close()
    r = httpx.get(live["base"] + "/web/portfolio", cookies={COOKIE: cookie}, follow_redirects=False)
    assert r.status_code == 303  # the old cookie, replayed after logout, opens nothing
