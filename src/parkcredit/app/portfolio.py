"""The committee's portfolio: the park's enterprises with their latest decision, and portfolio figures.

Two queries, whatever the park's size (`store.frames`): the newest snapshot of every enterprise and
the decisions of one product without their record text.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parkcredit.app.context import AppContext
from parkcredit.decision import reason_texts
from parkcredit.store import frames

__all__ = ["EnterpriseRow", "Portfolio", "enterprise_rows", "filter_sort", "portfolio"]


@dataclass
class EnterpriseRow:
    """One enterprise as the committee's list shows it (decision fields None when not yet scored)."""

    uscc: str
    name: str
    park_id: str | None
    industry: str | None
    as_of: dt.date
    snapshot_id: int
    decision_id: str | None = None
    eligible: bool | None = None
    limit_yuan: int | None = None
    band: str | None = None
    total_score: float | None = None
    knocked_out: bool | None = None
    decided_at: dt.datetime | None = None
    on_latest_snapshot: bool | None = None
    status: str | None = None  # ELIGIBLE | INELIGIBLE | NOT_APPLICABLE of the latest decision
    top_reason: str | None = None  # the code of its first principal reason
    top_reason_kind: str | None = None
    top_reason_zh: str | None = None
    top_reason_en: str | None = None


def enterprise_rows(ctx: AppContext, product: str, park_id: str | None = None) -> list[EnterpriseRow]:
    """Every enterprise's newest snapshot with its newest decision for `product`."""
    with ctx.read() as session:
        snaps = frames.newest_snapshot_columns(session, park_id)
        decided = frames.decision_columns(session, product)
        newest = {d[1]: d[0] for d in decided}  # oldest first: the newest decision of each enterprise wins
        reasons = frames.first_reason_codes(session, list(newest.values()))
    rows = {
        r[1]: EnterpriseRow(uscc=r[1], name=r[2], park_id=r[3], industry=r[5], as_of=r[4], snapshot_id=r[0])
        for r in snaps
    }
    for d in decided:  # oldest first: the newest decision wins
        row = rows.get(d[1])
        if row is None:
            continue
        row.decision_id, row.eligible, row.limit_yuan, row.band, row.total_score = d[0], d[2], d[3], d[4], d[5]
        row.knocked_out, row.decided_at, row.on_latest_snapshot = bool(d[6]), d[7], d[8] == row.snapshot_id
        row.status = d[9]
        row.top_reason = reasons.get(d[0])
    texts = reason_texts(ctx.product(product))
    for row in rows.values():
        if row.top_reason:
            kind, zh, en = texts.get(row.top_reason, ("", row.top_reason, row.top_reason))
            row.top_reason_kind, row.top_reason_zh, row.top_reason_en = kind, zh, en
    return list(rows.values())


SORT_KEYS = ("name", "industry", "score", "band", "limit", "eligible", "as_of", "status", "reason")


def filter_sort(
    rows: list[EnterpriseRow],
    *,
    industry: str | None = None,
    band: str | None = None,
    knocked_out: bool | None = None,
    eligible: bool | None = None,
    q: str | None = None,
    sort: str = "score",
    descending: bool = True,
    status: str | None = None,
    reason: str | None = None,
) -> list[EnterpriseRow]:
    """Rows filtered by industry, band, knock-out, eligibility, status, top reason and name/USCC text, then
    sorted (unscored last)."""
    out = [
        r for r in rows
        if (not industry or r.industry == industry)
        and (not band or r.band == band)
        and (knocked_out is None or r.knocked_out is knocked_out)
        and (eligible is None or r.eligible is eligible)
        and (not status or r.status == status)
        and (not reason or r.top_reason == reason)
        and (not q or q.lower() in r.name.lower() or q.upper() in r.uscc)
    ]  # fmt: skip
    keys: dict[str, Callable[[EnterpriseRow], Any]] = {
        "name": lambda r: r.name, "industry": lambda r: r.industry or "", "score": lambda r: r.total_score,
        "band": lambda r: r.band, "limit": lambda r: r.limit_yuan, "eligible": lambda r: r.eligible,
        "as_of": lambda r: r.as_of, "status": lambda r: r.status, "reason": lambda r: r.top_reason,
    }  # fmt: skip
    key = keys.get(sort, keys["score"])
    scored = [r for r in out if key(r) is not None]
    unscored = [r for r in out if key(r) is None]
    scored.sort(key=lambda r: (key(r), r.uscc), reverse=descending)
    return scored + sorted(unscored, key=lambda r: r.uscc)


@dataclass
class Portfolio:
    """Portfolio figures of one product over the latest decisions."""

    enterprises: int
    decided: int
    eligible: int
    total_limit_yuan: int
    scores: list[float]
    bands: Counter[str]
    by_industry: dict[str, dict[str, Any]]


def portfolio(rows: list[EnterpriseRow]) -> Portfolio:
    """Distribution of scores and bands, eligible count and total limit by industry."""
    decided = [r for r in rows if r.decision_id is not None]
    by_industry: dict[str, dict[str, Any]] = defaultdict(lambda: {"decided": 0, "eligible": 0, "limit_yuan": 0})
    for r in decided:
        agg = by_industry[r.industry or "—"]
        agg["decided"] += 1
        agg["eligible"] += int(bool(r.eligible))
        agg["limit_yuan"] += int(r.limit_yuan or 0)
    return Portfolio(
        enterprises=len(rows),
        decided=len(decided),
        eligible=sum(1 for r in decided if r.eligible),
        total_limit_yuan=sum(int(r.limit_yuan or 0) for r in decided),
        scores=[float(r.total_score) for r in decided if r.total_score is not None],
        bands=Counter(r.band for r in decided if r.band),
        by_industry=dict(by_industry),
    )
