"""Render reports: Jinja2 HTML (one self-contained file: inline CSS and SVG) and PDF.

PDF is the HTML printed by headless Chromium (Debian's `chromium`, driven by Playwright's
`page.pdf()`), not WeasyPrint: the browser tests already need Chromium, so the printed report is
laid out by the same engine that shows it on screen (SVG, CSS, fonts), and no second layout
stack (pango, cairo) has to be installed and kept in step. Chinese needs a CJK font on the
machine (Debian `fonts-noto-cjk`, installed by `.ci/run`); Chromium embeds the glyphs it uses.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import threading
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from parkcredit.reports import charts
from parkcredit.reports.context import ReportContext
from parkcredit.reports.i18n import DEPT_EN, industry_label, product_label, translator

__all__ = [
    "PdfUnavailable", "chromium_path", "environment", "fmt_value", "render_html", "render_pdf", "report_csp",
    "unit_label",
]  # fmt: skip

TEMPLATES = Path(__file__).parent / "templates"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",  # a closed network: no calls home
    "--disable-component-update",
    "--disable-sync",
]
_PDF_SLOTS = threading.BoundedSemaphore(2)  # each print starts a browser (~150 MB): at most two at once


class PdfUnavailable(RuntimeError):
    """PDF output needs Playwright for Python and a Chromium executable."""


def chromium_path() -> str | None:
    """The first Chromium-family executable on PATH (Debian: /usr/bin/chromium), or None."""
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def unit_label(unit: str | None, lang: str = "zh") -> str:
    """A unit in `lang`: 人 / persons, 个月 / months, 元/亩 / yuan per mu (the unit itself when unknown)."""
    if not unit:
        return ""
    key = f"unit.{unit}"
    text = translator(lang)(key)
    return unit if text == key else text


def fmt_value(value: Any, unit: str | None = None, lang: str = "zh", name: str | None = None) -> str:
    """A profile value as a person reads it: 1,234,567 元, 12.5%, 是/否, 58 人, a year as 2025; — for missing.

    `name` (the field) tells a year (`*_year`), printed without a thousands separator."""
    t = translator(lang)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t("yes") if value else t("no")
    if isinstance(value, int | float):
        if (name or "").endswith("_year") or unit == "year":
            return str(int(value))
        if unit == "ratio":
            return f"{float(value) * 100:.1f}%"
        if unit == "yuan":
            return f"{value:,.0f} {t('yuan')}"
        if isinstance(value, float) and not float(value).is_integer():
            text = f"{value:,.4f}".rstrip("0").rstrip(".")
        else:
            text = f"{value:,.0f}"
        if not unit:
            return text
        label = unit_label(unit, lang)
        return f"{text}{label}" if lang == "zh" and not label.isascii() else f"{text} {label}"
    return str(value)


def _yuan(value: Any, lang: str = "zh") -> str:
    if value is None:
        return "—"
    return f"{int(value):,} {translator(lang)('yuan')}"


def template_environment(folder: Path) -> Environment:
    """A Jinja2 environment over `folder` as reports and web pages share it: autoescaped, strict
    about undefined names, with the input-value filter and the industry and department labels."""
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(industry_label=industry_label, dept_en=DEPT_EN, product_label=product_label,
                       unit_label=unit_label)  # fmt: skip
    env.filters.update(value=fmt_value)
    return env


def environment() -> Environment:
    """The Jinja2 environment of the report templates."""
    env = template_environment(TEMPLATES)
    env.filters.update(yuan=_yuan)
    return env


_ENV = environment()


def _css() -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


def report_csp() -> str:
    """The Content-Security-Policy of an HTML report: no script at all, only its own inline stylesheet (by hash)."""
    digest = base64.b64encode(hashlib.sha256(_css().encode("utf-8")).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'self' data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")  # fmt: skip


def render_html(ctx: ReportContext, lang: str = "zh") -> str:
    """The report of `ctx` as one HTML document (CSS and charts inline)."""
    lang = "en" if lang == "en" else "zh"
    chart = ""
    contrib = ctx.decision.get("contributions")
    if contrib and ctx.contributions:
        title = "模型贡献瀑布图" if lang == "zh" else "Model contributions (waterfall)"
        chart = charts.waterfall(ctx.contributions, contrib["base_value"], contrib["raw_score"], lang=lang, title=title)
    return _ENV.get_template("report.html").render(
        ctx=ctx, d=ctx.decision, lang=lang, t=translator(lang), css=_css(), waterfall_svg=chart,
        contrib_sum=sum(c["logodds"] for c in ctx.contributions),
    )  # fmt: skip


def render_pdf(html: str, *, timeout_s: float = 60.0) -> bytes:
    """Print `html` to an A4 PDF with headless Chromium; PdfUnavailable when it cannot run."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise PdfUnavailable(f"PDF needs Playwright for Python (pip install playwright): {exc}") from None
    exe = chromium_path()
    if exe is None:
        raise PdfUnavailable("PDF needs Chromium on PATH (Debian: apt-get install chromium fonts-noto-cjk)")
    footer = (
        '<div style="font-size:7pt;width:100%;text-align:center;color:#555">'
        '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
    )
    with _PDF_SLOTS:
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, timeout=timeout_s * 1000)
                try:
                    page = browser.new_page()
                    page.set_content(html, wait_until="load", timeout=timeout_s * 1000)
                    return page.pdf(
                        format="A4", print_background=True, display_header_footer=True,
                        header_template="<span></span>", footer_template=footer,
                        margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
                    )  # fmt: skip
                finally:
                    browser.close()
        except PlaywrightError as exc:
            raise PdfUnavailable(f"Chromium could not print the report: {str(exc).splitlines()[0]}") from None
