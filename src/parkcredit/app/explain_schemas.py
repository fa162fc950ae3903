"""Result models of the explaining use cases: the path to eligibility and 政策找企业 (issue 17)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from parkcredit.record import ReasonDetail

__all__ = ["ActionOut", "CriterionOut", "ExplainedReason", "Fix", "PathOption", "PathOut", "PolicyMatch",
           "PolicyOut", "PoliciesOut", "PushListOut", "PushListRow", "WaitGate", "Waiting"]  # fmt: skip


class ActionOut(BaseModel):
    """An action the enterprise can take (code, Chinese and English text)."""

    code: str
    zh: str
    en: str


class Fix(BaseModel):
    """What would change a reason: `time` (met on `date`), `history` (lapses on `date`), `actions`, `data`, `none`."""

    type: str = Field(description="time | history | actions | data (a missing datum to supply) | none")
    date: dt.date | None = None
    actions: list[ActionOut] = Field(default_factory=list)


class ExplainedReason(ReasonDetail):
    """A principal reason of the decision with its kind and what would change it."""

    fix: Fix


class WaitGate(BaseModel):
    code: str
    kind: str
    zh: str
    en: str
    clears_on: dt.date | None = Field(None, description="the first day it no longer holds, all else unchanged")


class Waiting(BaseModel):
    """What waiting alone does: when each precondition or knock-out stops holding; when it would be eligible."""

    gates: list[WaitGate]
    eligible_on: dt.date | None
    then_also: list[ReasonDetail] = Field(
        default_factory=list, description="conditions that only arise by then (data gone stale), renewed data removes"
    )


class PathChange(ActionOut):
    fields: dict[str, Any]


class PathOption(BaseModel):
    """A minimal set of changes that makes the enterprise eligible, and the decision it would then get."""

    changes: list[PathChange]
    n_changes: int
    total_score: float
    limit_yuan: int
    band: str
    pd: float | None


class PathOut(BaseModel):
    """The enterprise's decision on its latest snapshot, explained: reasons and fixes, waiting, changes."""

    uscc: str
    product: str
    snapshot_id: int
    as_of: dt.date
    ruleset: dict[str, Any]
    status: str
    eligible: bool
    total_score: float
    band: str
    limit_yuan: int
    reasons: list[ExplainedReason]
    model_view: list[ReasonDetail]
    waiting: Waiting
    options: list[PathOption]


class CriterionOut(BaseModel):
    id: str
    met: bool
    zh: str
    en: str


class PolicyOut(BaseModel):
    """A policy (政策): what it offers, who issues it, the products it points to."""

    policy_id: str
    kind: str
    name_zh: str
    name_en: str
    issuer_zh: str
    issuer_en: str
    offer_zh: str
    offer_en: str
    products: list[str]
    basis: str | None


class PolicyMatch(PolicyOut):
    """A policy as it applies to one enterprise: matched or not, criterion by criterion."""

    matched: bool
    criteria: list[CriterionOut]


class PoliciesOut(BaseModel):
    uscc: str
    snapshot_id: int
    as_of: dt.date
    matched: int
    policies: list[PolicyMatch]


class PushListRow(BaseModel):
    uscc: str
    name: str | None
    industry_code: str | None
    as_of: dt.date


class PushListOut(BaseModel):
    """The enterprises a policy finds (their latest snapshots), for the committee to push the policy to."""

    policy: PolicyOut
    enterprises_checked: int
    total: int
    rows: list[PushListRow]
