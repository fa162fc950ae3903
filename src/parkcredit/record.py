"""The decision record as one typed model (DESIGN.md §6): what `decide` produces for one enterprise
(`Decisions.record(i)` plus the store's `decision_id` and `snapshot_id`), what the API returns, and what
replay and the reports read. Its canonical JSON (`decision.canonical_json`) is what replay compares."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["DecisionRecord", "Reason", "ReasonDetail"]


class Reason(BaseModel):
    """A principal reason: stable code, Chinese and English text."""

    code: str
    zh: str
    en: str


class ReasonDetail(Reason):
    """A reason in the full record: `kind`, plus `points_lost` (score) or `logodds` (model) when they apply."""

    model_config = ConfigDict(extra="allow")
    kind: str


class DecisionRecord(BaseModel):
    """The full decision (DESIGN §6). The stored canonical JSON of this is what replay compares."""

    decision_id: str
    snapshot_id: int
    uscc: str
    product: str
    as_of: str
    ruleset: dict[str, Any]
    model: dict[str, Any]
    status: str
    eligible: bool
    limit_yuan: int
    band: str
    total_score: float
    dimension_scores: dict[str, float]
    preconditions_failed: list[Reason]
    knockouts: list[Reason]
    pd: float | None
    valid_until: str | None
    reasons: list[ReasonDetail]
    trace: list[dict[str, Any]]
    contributions: dict[str, Any] | None
    model_view: list[ReasonDetail] = []  # advisory model: what raises its PD, apart from the reasons
