"""Explanation reports of stored decisions: what they show (`ReportContext`), SVG charts, HTML and PDF."""

from parkcredit.reports.context import ReportContext
from parkcredit.reports.render import PdfUnavailable, render_html, render_pdf

__all__ = ["PdfUnavailable", "ReportContext", "render_html", "render_pdf"]
