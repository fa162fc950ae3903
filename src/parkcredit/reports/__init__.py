"""Explanation reports of stored decisions: context (what they show), SVG charts, HTML and PDF rendering."""

from parkcredit.reports.context import DecisionNotFound, ReportContext, report_context
from parkcredit.reports.render import PdfUnavailable, render_html, render_pdf

__all__ = ["DecisionNotFound", "PdfUnavailable", "ReportContext", "render_html", "render_pdf", "report_context"]
