"""The explaining pages in a real browser (Debian Chromium via Playwright), against a live server:

- a NOT_APPLICABLE, a knocked-out and a low-score enterprise each show their own reason first, with its
  kind and what would change it, in Chinese and in English (screenshots kept under artifacts/explain/);
- no page, report or API document requests anything outside 127.0.0.1 (every request is intercepted);
- the Chinese pages carry no English sentence and the English pages no Chinese one outside names and codes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

import serverproc
from dbsupport import good_profile
from parkcredit.app import Actor, AppContext
from parkcredit.app.decisions import decide_enterprise
from parkcredit.app.demo import seed_demo
from parkcredit.app.enterprises import create_snapshot
from parkcredit.app.rulesets import list_versions
from parkcredit.profile import Profile
from parkcredit.reports.render import CHROMIUM_ARGS, chromium_path
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store import testing

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(chromium_path() is None, reason="needs Debian chromium (installed by .ci/run)")

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "explain"
PEPPER = "browser-explain-pepper"
AS_OF = dt.date.fromisoformat(good_profile(1)["as_of"])
YOUNG = AS_OF - dt.timedelta(days=400)
CASES: dict[str, dict[str, Any]] = {
    "not_applicable": good_profile(901, name="自贡新设精工有限公司", established_on=YOUNG.isoformat(),
                                   in_park_since=YOUNG.isoformat()),
    "knocked_out": good_profile(902, name="自贡失信机械有限公司", dishonest_debtor_enterprise=True),
    "low_score": good_profile(903, name="自贡低分制造有限公司", tax_credit_grade="M", env_credit_level="YELLOW",
                              mu_efficiency_class="C", hnte_valid_until=None, srdi_level=None, safety_std_grade="L3",
                              admin_penalties_general_36m=2, safety_penalties_36m=2, env_penalties_36m=1,
                              revenue_yuan_y2=60_000_000, net_profit_yuan_y1=-100_000),
}  # fmt: skip
# what each case must show first: reason code, kind, a word of its Chinese and of its English text, the fix
EXPECTED = {
    "not_applicable": ("PRE_OPERATING", "precondition", "经营满24个月", "operated for 24 months", "time"),
    "knocked_out": ("KO_DISHONEST_DEBTOR", "knockout", "失信被执行人", "dishonest judgment debtor", "none"),
    "low_score": ("SCORE_BELOW_THRESHOLD", "threshold", "总分低于60分", "Total score below 60", "actions"),
}
COMMITTEE = Actor("browser-test", "committee")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("live-explain")
    url = testing.sqlite_copy(testing.prepare_sqlite_template(folder), folder)
    settings = Settings(database_url=url, api_key_pepper=PEPPER, model_enabled=True)
    ctx = AppContext.open(settings)
    tokens = seed_demo(ctx)
    decisions = {}
    for case, profile in CASES.items():
        create_snapshot(ctx, COMMITTEE, Profile.model_validate(profile).model_dump(mode="json"))
        decisions[case] = decide_enterprise(ctx, COMMITTEE, uscc=profile["uscc"], product="chengxindai")
    ruleset_id = list_versions(ctx)[0].ruleset_id
    ctx.close()
    app = create_app(settings)
    with serverproc.in_thread(app) as base:
        yield {"base": base, "tokens": tokens, "decisions": decisions, "ruleset_id": ruleset_id}


@pytest.fixture(scope="module")
def browser(live: dict[str, Any]) -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Requests:
    """Every request a browser context makes; anything not to 127.0.0.1 is recorded and aborted."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.count = 0

    def __call__(self, route: Any) -> None:
        self.count += 1
        url = route.request.url
        host = urlparse(url).hostname
        if url.startswith(("data:", "blob:", "about:")) or host == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()


def _sign_in(browser: Any, live: dict[str, Any], role: str, requests: Requests | None = None) -> Any:
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    if requests is not None:
        ctx.route("**/*", requests)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    # signed in through the form's POST with the page's origin; the browser context shares the cookie
    r = ctx.request.post(live["base"] + "/web/login", form={"key": live["tokens"][role], "next": "/web/"},
                         headers={"origin": live["base"]}, max_redirects=0)  # fmt: skip
    assert r.status == 303, r.text()
    return page


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_enterprise_shows_its_own_reason_first_in_both_languages(browser, live, case: str, lang: str) -> None:
    code, kind, zh, en, fix = EXPECTED[case]
    page = _sign_in(browser, live, "committee")
    page.goto(f"{live['base']}/web/enterprises/{CASES[case]['uscc']}?product=chengxindai&lang={lang}")
    status = page.locator("#status")
    assert status.get_attribute("data-status") == ("NOT_APPLICABLE" if case == "not_applicable" else "INELIGIBLE")
    first = page.locator("#reason-table tr.reason").first
    assert first.get_attribute("data-code") == code and first.get_attribute("data-kind") == kind
    text = first.inner_text()
    assert (zh if lang == "zh" else en) in text, text
    kind_label = {"zh": {"precondition": "准入条件", "knockout": "一票否决", "threshold": "总分门槛"},
                  "en": {"precondition": "precondition", "knockout": "knock-out", "threshold": "threshold"}}  # fmt: skip
    assert kind_label[lang][kind] in text
    fix_words = {"time": ("时间会解决", "Time will fix this"), "actions": ("可通过以下改变解决", "These changes would fix"),
                 "none": ("单项改变无法解决", "No single change fixes")}[fix]  # fmt: skip
    assert fix_words[0 if lang == "zh" else 1] in text
    if case == "not_applicable":  # the path box tells the date time brings
        assert page.locator("#path-time tr[data-code='PRE_OPERATING']").count() == 1
        assert page.locator("#path-eligible-on").count() == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"enterprise-{case}-{lang}.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 30_000
    page.context.close()


def test_the_list_shows_status_and_top_reason_and_filters_by_them(browser, live) -> None:
    page = _sign_in(browser, live, "committee")
    page.goto(live["base"] + "/web/enterprises?status=NOT_APPLICABLE&reason=PRE_OPERATING")
    rows = page.locator("#enterprise-table tbody tr")
    assert rows.count() >= 1
    usccs = [a.get_attribute("href").split("/")[-1].split("?")[0] for a in page.locator("a.ent-link").all()]
    assert CASES["not_applicable"]["uscc"] in usccs and CASES["knocked_out"]["uscc"] not in usccs
    assert {c.get_attribute("data-code") for c in page.locator("td.reason").all()} == {"PRE_OPERATING"}
    assert "不适用" in rows.first.locator("td.status").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the list is {width}px wide at 1,366"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "enterprise-list.png"), full_page=True)
    page.context.close()


def _pages(live: dict[str, Any]) -> list[str]:
    d = live["decisions"]["low_score"]
    uscc = CASES["low_score"]["uscc"]
    return ["/web/portfolio", "/web/enterprises", f"/web/enterprises/{uscc}", "/web/score", "/web/import",
            "/web/decisions", "/web/rulesets", f"/web/rulesets/{live['ruleset_id']}", "/web/rulesets/new",
            "/web/monitoring", "/web/policies", "/web/loans", "/web/pools", "/web/alerts", "/web/data-quality",
            "/web/disputes", "/web/reviews",
            f"/web/decisions/{d.decision_id}/report"]  # fmt: skip


def test_no_page_requests_anything_outside_the_machine(browser, live) -> None:
    requests = Requests()
    page = _sign_in(browser, live, "committee", requests)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path in [*_pages(live), "/docs", "/redoc"]:
        response = page.goto(live["base"] + path)
        assert response is not None and response.status < 400, path
        page.wait_for_load_state("networkidle")
        if path.startswith("/web/") and "/report" not in path:  # every page fits 1,366 px (no sideways scroll)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1366, f"{path} is {width}px wide at 1,366"
        name = re.sub(r"[^a-z0-9]+", "-", path.strip("/").lower())[:60] or "root"
        page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"), full_page=True)
    assert requests.count > 20
    assert requests.outside == [], requests.outside
    page.context.close()
    auditor = Requests()
    page = _sign_in(browser, live, "auditor", auditor)
    for path in ("/web/audit", "/web/overrides", "/web/bank-queries"):
        page.goto(live["base"] + path)
        page.wait_for_load_state("networkidle")
    assert auditor.outside == []
    page.context.close()


# names and codes are marked translate="no" in the templates (enterprise names, USCCs, rule ids) and skipped
LATIN_WORDS = re.compile(r"\b[A-Za-z][a-z]{2,}(?:[ '-][A-Za-z][a-z]+){2,}\b")  # an English phrase of 3+ words
HAN = re.compile(r"[\u4e00-\u9fff]")


def _visible_text(page: Any) -> str:
    return page.evaluate(
        """() => { const out = []; const walk = (n) => {
             if (n.nodeType === 3) { out.push(n.textContent); return; }
             if (n.nodeType !== 1) return;
             const tag = n.tagName;
             if (tag === 'SCRIPT' || tag === 'STYLE' || n.classList.contains('mono')) return;
             if (n.getAttribute('translate') === 'no') return;  // names and codes: the same in every language
             for (const c of n.childNodes) walk(c);
           }; walk(document.body); return out.join('\\n'); }"""
    )


def test_chinese_pages_have_no_english_sentence(browser, live) -> None:
    page = _sign_in(browser, live, "committee")
    found = {}
    for path in _pages(live):
        page.goto(live["base"] + path + ("&" if "?" in path else "?") + "lang=zh")
        text = _visible_text(page)
        phrases = [m.group(0) for m in LATIN_WORDS.finditer(text)]
        if phrases:
            found[path] = phrases[:5]
    assert found == {}, found
    page.context.close()


def test_english_pages_have_no_chinese_outside_names(browser, live) -> None:
    page = _sign_in(browser, live, "committee")
    found = {}
    for path in _pages(live):
        page.goto(live["base"] + path + ("&" if "?" in path else "?") + "lang=en")
        lines = [ln.strip() for ln in _visible_text(page).splitlines() if HAN.search(ln)]
        if lines:
            found[path] = lines[:5]
    assert found == {}, found
    page.context.close()
