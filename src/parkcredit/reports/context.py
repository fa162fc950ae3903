"""`ReportContext`: everything an explanation report shows (gathered by `app.reports.report_context`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReportContext"]


@dataclass
class ReportContext:
    """The data of one explanation report (templates read these attributes)."""

    decision: dict[str, Any]  # the stored canonical record, parsed
    row: dict[str, Any]  # decision columns: id, created_by, created_at, record_sha256 …
    enterprise: dict[str, Any]
    inputs: list[dict[str, Any]]  # every profile field: label, dept, unit, value, as_of
    derived: list[dict[str, Any]]  # derived values the rule trace used
    ruleset: dict[str, Any]
    model: dict[str, Any]
    contributions: list[dict[str, Any]]  # sorted by |log-odds|, labelled
    audit_entry: dict[str, Any] | None
    audit_check: dict[str, Any]
    replay: dict[str, Any]
    actor: dict[str, Any]
    overrides: list[dict[str, Any]]
    override_columns: list[str]
    generated_at: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    # issue 15: disputes open or about this snapshot; the credit events its snapshot was derived from
    disputes: list[dict[str, Any]] = field(default_factory=list)
    credit_events: list[dict[str, Any]] = field(default_factory=list)
