"""Read models of the web pages: the park's enterprises with their latest decision, portfolio figures.

Two queries, whatever the park's size: the newest snapshot of every enterprise (industry read
from the profile JSON in SQL) and the decisions of one product (without their record text;
"knocked out" is read in SQL from the canonical record, where no knock-out is exactly the
substring `"knockouts":[]`, sorted keys and no spaces being the canonical form).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from parkcredit.store.tables import Decision, Snapshot

__all__ = ["EnterpriseRow", "Portfolio", "enterprise_rows", "filter_sort", "portfolio"]

NO_KNOCKOUT = '"knockouts":[]'


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


def enterprise_rows(session: Session, product: str, park_id: str | None = None) -> list[EnterpriseRow]:
    """Every enterprise's newest snapshot with its newest decision for `product`."""
    newest = select(func.max(Snapshot.id)).group_by(Snapshot.uscc)
    if park_id:
        newest = newest.where(Snapshot.park_id == park_id)
    q = select(
        Snapshot.id, Snapshot.uscc, Snapshot.name, Snapshot.park_id, Snapshot.as_of,
        Snapshot.profile["industry_code"].as_string(),
    ).where(Snapshot.id.in_(newest))  # fmt: skip
    rows = {
        r[1]: EnterpriseRow(uscc=r[1], name=r[2], park_id=r[3], industry=r[5], as_of=r[4], snapshot_id=r[0])
        for r in session.execute(q)
    }
    knocked = case((Decision.record.contains(NO_KNOCKOUT), False), else_=True)
    dq = (
        select(Decision.id, Decision.uscc, Decision.eligible, Decision.limit_yuan, Decision.band,
               Decision.total_score, knocked, Decision.created_at, Decision.snapshot_id)
        .where(Decision.product == product)
        .order_by(Decision.created_at, Decision.id)
    )  # fmt: skip
    for d in session.execute(dq):
        row = rows.get(d[1])
        if row is None:
            continue
        row.decision_id, row.eligible, row.limit_yuan, row.band, row.total_score = d[0], d[2], d[3], d[4], d[5]
        row.knocked_out, row.decided_at, row.on_latest_snapshot = bool(d[6]), d[7], d[8] == row.snapshot_id
    return list(rows.values())


SORT_KEYS = ("name", "industry", "score", "band", "limit", "eligible", "as_of")


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
) -> list[EnterpriseRow]:
    """Rows filtered by industry, band, knock-out, eligibility and name/USCC text, then sorted (unscored last)."""
    out = [
        r for r in rows
        if (not industry or r.industry == industry)
        and (not band or r.band == band)
        and (knocked_out is None or r.knocked_out is knocked_out)
        and (eligible is None or r.eligible is eligible)
        and (not q or q.lower() in r.name.lower() or q.upper() in r.uscc)
    ]  # fmt: skip
    key = {
        "name": lambda r: r.name, "industry": lambda r: r.industry or "", "score": lambda r: r.total_score,
        "band": lambda r: r.band, "limit": lambda r: r.limit_yuan, "eligible": lambda r: r.eligible,
        "as_of": lambda r: r.as_of,
    }.get(sort, lambda r: r.total_score)  # fmt: skip
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
