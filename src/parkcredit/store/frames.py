"""Frames for the governance functions (monitoring, backtest, performance), read from the store.

Personal data is never read here: the rules do not use it, and monitoring must not.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from parkcredit.governance.performance import BAD_STATUSES, loans_from_reports
from parkcredit.profile import COLUMNS, coerce
from parkcredit.store import loans
from parkcredit.store.db import chunked
from parkcredit.store.tables import Decision, Override, Snapshot

__all__ = [
    "decision_columns", "decisions_frame", "default_windows", "linked_loans", "newest_snapshot_columns",
    "outcome_labels", "overrides_frame", "portfolio", "snapshot_window",
]  # fmt: skip

_PAGE = 5000


def _frame(profiles: list[dict[str, Any]]) -> pd.DataFrame:
    """The canonical frame of stored public profiles (stored snapshots passed validation once)."""
    frame, errors = coerce(pd.DataFrame(profiles, columns=COLUMNS))
    if errors:  # not expected: a snapshot is validated before it is stored
        raise ValueError(f"stored profiles do not coerce: {errors[:3]}")
    return frame


def _newest(session: Session, where: list[Any]) -> pd.DataFrame:
    newest = select(func.max(Snapshot.id)).where(*where).group_by(Snapshot.uscc)
    profiles: list[dict[str, Any]] = []
    after = 0
    while True:
        q = select(Snapshot.id, Snapshot.profile).where(Snapshot.id.in_(newest), Snapshot.id > after)
        rows = session.execute(q.order_by(Snapshot.id).limit(_PAGE)).all()
        if not rows:
            break
        profiles.extend(r.profile for r in rows)
        after = rows[-1].id
    return _frame(profiles)


def portfolio(session: Session, park_id: str | None = None) -> pd.DataFrame:
    """The latest snapshot of every enterprise (optionally of one park) as a canonical frame."""
    return _newest(session, [] if park_id is None else [Snapshot.park_id == park_id])


def snapshot_window(session: Session, date_from: dt.date, date_to: dt.date, park_id: str | None = None) -> pd.DataFrame:
    """Each enterprise's newest snapshot with as_of in [date_from, date_to]."""
    where = [Snapshot.as_of >= date_from, Snapshot.as_of <= date_to]
    if park_id is not None:
        where.append(Snapshot.park_id == park_id)
    return _newest(session, where)


def _reports(session: Session, product: str | None, usccs: list[str] | None = None) -> pd.DataFrame:
    # only checked loans and their events (issue 14): the unchecked `loan_outcomes` rows are kept, never counted
    frame = loans.reports_frame(session, product)
    if usccs is not None:
        frame = frame[frame["uscc"].isin(set(usccs))]
    # reported_at ties (same transaction) keep report order
    return frame.sort_values(["reported_at", "id"], kind="stable")


def outcome_labels(session: Session, product: str, usccs: Any) -> np.ndarray:
    """Per enterprise: 1 if any loan of `product` went bad, 0 if it has outcomes and none did, NaN if none."""
    reports = _reports(session, product)
    keys = pd.Series(np.asarray(usccs, dtype=object))
    if reports.empty:
        return np.full(len(keys), np.nan)
    bad = reports.assign(b=reports["status"].isin(BAD_STATUSES).astype(float)).groupby("uscc")["b"].max()
    return keys.map(bad).to_numpy("float64")


def linked_loans(session: Session, product: str | None = None) -> pd.DataFrame:
    """One row per loan (see `performance.loans_from_reports`) with the band, score and PD of its decision.

    The decision is the report's `decision_id`, else the enterprise's latest decision for the
    product made on or before the disbursement date.
    """
    loans = loans_from_reports(_reports(session, product))
    for col in ("band", "total_score", "pd", "linked_decision_id"):
        loans[col] = np.nan if col in ("total_score", "pd") else None
    if loans.empty:
        return loans
    usccs = sorted(set(loans["uscc"]))
    cols = (Decision.id, Decision.uscc, Decision.product, Decision.created_at, Decision.band,
            Decision.total_score, Decision.record)  # fmt: skip
    rows = [r for part in chunked(usccs) for r in session.execute(select(*cols).where(Decision.uscc.in_(part)))]
    decisions = pd.DataFrame(rows, columns=["id", "uscc", "product", "created_at", "band", "total_score", "record"])
    decisions = decisions.sort_values("created_at", kind="stable").reset_index(drop=True)
    if decisions.empty:
        return loans
    by_id = decisions.set_index("id")
    created = pd.to_datetime(decisions["created_at"], utc=True).dt.date
    chosen: list[Any] = []
    for row in loans.itertuples(index=False):  # per loan, not a hot path (hundreds to thousands of loans)
        if isinstance(row.decision_id, str) and row.decision_id in by_id.index:
            chosen.append(row.decision_id)
            continue
        on_or_before = created <= row.disbursed_on  # type: ignore[operator]  # itertuples fields are untyped
        ok = (decisions["uscc"] == row.uscc) & (decisions["product"] == row.product) & on_or_before
        chosen.append(decisions.loc[ok, "id"].iloc[-1] if ok.any() else None)
    loans["linked_decision_id"] = chosen
    hit = loans["linked_decision_id"].notna()
    ids = loans.loc[hit, "linked_decision_id"]
    loans.loc[hit, "band"] = by_id.loc[ids, "band"].to_numpy()
    loans.loc[hit, "total_score"] = by_id.loc[ids, "total_score"].to_numpy("float64")
    pds = [json.loads(t).get("pd") for t in by_id.loc[ids, "record"]]
    loans.loc[hit, "pd"] = pd.to_numeric(pd.Series(pds, dtype=object), errors="coerce").to_numpy("float64")
    return loans


def decisions_frame(session: Session, product: str | None = None) -> pd.DataFrame:
    """Decision rows for approval-rate series: created_at, product, eligible, limit_yuan."""
    q = select(Decision.created_at, Decision.product, Decision.eligible, Decision.limit_yuan)
    if product is not None:
        q = q.where(Decision.product == product)
    return pd.DataFrame(session.execute(q).all(), columns=["created_at", "product", "eligible", "limit_yuan"])


def overrides_frame(session: Session) -> pd.DataFrame:
    """Every override: created_by, direction, reason_code, product, limit_yuan, original_limit_yuan."""
    q = select(Override.created_by, Override.direction, Override.reason_code, Override.product, Override.limit_yuan,
               Override.original_limit_yuan)  # fmt: skip
    return pd.DataFrame(session.execute(q).all(),
                        columns=["created_by", "direction", "reason_code", "product", "limit_yuan",
                                 "original_limit_yuan"])  # fmt: skip


def default_windows(
    session: Session,
    park_id: str | None = None,
    ref_from: dt.date | None = None,
    ref_to: dt.date | None = None,
    cur_from: dt.date | None = None,
    cur_to: dt.date | None = None,
) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """(ref_from, ref_to, cur_from, cur_to), filling what is not given: current = the 90 days up to
    the newest snapshot as_of, reference = the 365 days before it. ValueError if a window ends before
    it starts."""
    q = select(func.max(Snapshot.as_of))
    if park_id is not None:
        q = q.where(Snapshot.park_id == park_id)
    newest = session.scalar(q) or dt.date.today()
    cur_to = cur_to or newest
    cur_from = cur_from or cur_to - dt.timedelta(days=89)
    ref_to = ref_to or cur_from - dt.timedelta(days=1)
    ref_from = ref_from or ref_to - dt.timedelta(days=364)
    for name, lo, hi in (("ref_from", ref_from, ref_to), ("cur_from", cur_from, cur_to)):
        if lo > hi:
            raise ValueError(f"{name}: {lo} is after the window's end {hi}")
    return ref_from, ref_to, cur_from, cur_to


NO_KNOCKOUT = '"knockouts":[]'


def newest_snapshot_columns(session: Session, park_id: str | None = None) -> list[Any]:
    """(id, uscc, name, park_id, as_of, industry_code) of every enterprise's newest snapshot."""
    newest = select(func.max(Snapshot.id)).group_by(Snapshot.uscc)
    if park_id:
        newest = newest.where(Snapshot.park_id == park_id)
    q = select(
        Snapshot.id, Snapshot.uscc, Snapshot.name, Snapshot.park_id, Snapshot.as_of,
        Snapshot.profile["industry_code"].as_string(),
    ).where(Snapshot.id.in_(newest))  # fmt: skip
    return list(session.execute(q).all())


_REASONS_AT = '"reasons":[{"code":"'  # canonical record: sorted keys, so a reason's first key is its code


def first_reason_codes(session: Session, decision_ids: list[str]) -> dict[str, str]:
    """decision id -> the code of its first principal reason (decisions without a reason are left out),
    read from the canonical record text in SQL: 80 characters of each record, not the record."""
    if session.get_bind().dialect.name == "postgresql":
        at = func.strpos(Decision.record, _REASONS_AT)
    else:
        at = func.instr(Decision.record, _REASONS_AT)
    out: dict[str, str] = {}
    for start in range(0, len(decision_ids), 500):
        ids = decision_ids[start : start + 500]
        q = select(Decision.id, at, func.substr(Decision.record, at + len(_REASONS_AT), 80)).where(Decision.id.in_(ids))
        for did, pos, text in session.execute(q).all():
            if pos and text and '"' in text:
                out[did] = text.split('"', 1)[0]
    return out


def decision_columns(session: Session, product: str) -> list[Any]:
    """(id, uscc, eligible, limit_yuan, band, total_score, knocked_out, created_at, snapshot_id, status) of every
    decision of `product`, oldest first, without the record text.

    "knocked out" and the status are read in SQL from the canonical record, where no knock-out is
    exactly the substring `"knockouts":[]` (sorted keys, no spaces: the canonical form).
    """
    knocked = case((Decision.record.contains(NO_KNOCKOUT), False), else_=True)
    status = case(
        (Decision.record.contains('"status":"NOT_APPLICABLE"'), "NOT_APPLICABLE"),
        (Decision.record.contains('"status":"INELIGIBLE"'), "INELIGIBLE"),
        (Decision.record.contains('"status":"ELIGIBLE"'), "ELIGIBLE"),
        else_=None,
    )
    q = (
        select(Decision.id, Decision.uscc, Decision.eligible, Decision.limit_yuan, Decision.band,
               Decision.total_score, knocked, Decision.created_at, Decision.snapshot_id, status)
        .where(Decision.product == product)
        .order_by(Decision.created_at, Decision.id)
    )  # fmt: skip
    return list(session.execute(q).all())
