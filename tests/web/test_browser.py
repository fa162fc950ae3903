"""The pages in a real browser: headless Debian Chromium driven by Playwright, against a live server.

One server (uvicorn in a thread, the demo park of `parkcredit serve --demo`, bundled model) and one
browser for the module; each role gets its own browser context (its own cookies).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import serverproc
from parkcredit.app import AppContext
from parkcredit.app.demo import seed_demo
from parkcredit.reports.render import CHROMIUM_ARGS, chromium_path
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store import testing

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(chromium_path() is None, reason="needs Debian chromium (installed by .ci/run)")

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PEPPER = "browser-test-pepper"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("live")
    url = testing.sqlite_copy(testing.prepare_sqlite_template(folder), folder)
    demo_ctx = AppContext.open(Settings(database_url=url, api_key_pepper=PEPPER, model_enabled=False), with_model=False)
    tokens = seed_demo(demo_ctx)
    demo_ctx.close()
    app = create_app(Settings(database_url=url, api_key_pepper=PEPPER, model_enabled=True))
    with serverproc.in_thread(app) as base:
        yield {"base": base, "tokens": tokens}


@pytest.fixture(scope="module")
def browser(live: dict[str, Any]) -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _sign_in(browser: Any, live: dict[str, Any], role: str) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(live["base"] + "/web/login")
    page.fill("#key", live["tokens"][role])
    page.click("#login-submit")
    return page


def _score(page: Any, live: dict[str, Any]) -> None:
    """Score the whole demo park from its page and wait for the job to end (what later tests read)."""
    page.goto(live["base"] + "/web/score")
    page.click("#score-start")
    page.wait_for_url(re.compile(r"/web/jobs/[0-9a-f-]+$"))
    page.wait_for_selector('#job[data-state="done"]', timeout=120_000)
    live["scored"] = True


def test_committee_scores_the_park_opens_portfolio_enterprise_and_report(browser, live) -> None:
    page = _sign_in(browser, live, "committee")
    assert page.url.endswith("/web/portfolio")
    assert page.locator("#who").inner_text().endswith("管委会")  # Chinese by default
    # score the whole demo park; the progress bar follows the job to the end
    _score(page, live)
    assert page.locator("#job-progress").evaluate("p => [p.value, p.max]") == [300, 300]
    # portfolio: figures and four server-side charts
    page.goto(live["base"] + "/web/portfolio")
    assert page.locator("#pf-decided").inner_text() == "300"
    assert int(page.locator("#pf-eligible").inner_text()) > 0
    assert page.locator("svg.chart").count() == 4
    assert page.locator("#chart-scores rect.bar").count() == 20
    # an eligible enterprise from the sorted list, then its report
    page.goto(live["base"] + "/web/enterprises?eligible=yes&sort=limit&dir=desc")
    first = page.locator("a.ent-link").first
    name = first.inner_text()
    first.click()
    assert page.locator("#enterprise-name").inner_text() == name
    assert page.locator("#snapshot-table tr").count() >= 2
    page.click("#report-link")
    page.wait_for_selector("#report-title")
    assert name in page.locator("#report-title").inner_text()
    assert "ok" in (page.locator("#replay-result").get_attribute("class") or "")
    assert page.locator("#waterfall svg polygon").count() >= 2
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    page.context.close()


def test_committee_sees_a_path_to_eligibility(browser, live) -> None:
    page = _sign_in(browser, live, "committee")
    if not live.get("scored"):  # run alone (-k): the park is scored here, as the first test does
        _score(page, live)
    page.goto(live["base"] + "/web/enterprises?eligible=no&knocked_out=no&sort=score&dir=desc")
    page.locator("a.ent-link").first.click()
    section = page.locator("#path")
    assert section.is_visible()
    assert page.locator("#path-table").count() + page.locator("#path-none").count() == 1
    page.context.close()


def test_auditor_sees_the_audit_status_in_both_languages(browser, live) -> None:
    page = _sign_in(browser, live, "auditor")
    assert page.url.endswith("/web/audit")
    assert "审计链完整" in page.locator("#chain-state").inner_text()
    assert int(page.locator("#chain-entries").inner_text()) > 0
    page.click("#lang-switch")
    page.wait_for_url(re.compile(r"/web/audit$"))
    assert "The audit chain is intact" in page.locator("#chain-state").inner_text()
    page.context.close()


def test_a_bank_key_is_refused_the_committee_pages(browser, live) -> None:
    page = _sign_in(browser, live, "bank")
    assert page.url.endswith("/web/bank-queries")
    for path in ("/web/portfolio", "/web/enterprises", "/web/score", "/web/decisions"):
        response = page.goto(live["base"] + path)
        assert response is not None and response.status == 403, path
        assert "403" in page.locator("#error-title").inner_text()
    links = sorted(page.locator("nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    assert links == ["/web/alerts", "/web/bank-queries"]  # only its own alerts (issue 14) and query log
    page.context.close()
