"""Outcomes and performance: realised default rates from the banks' reported outcomes.

A loan is one (bank, uscc, product, disbursed_on); banks report its status over time. A loan is
**bad** when any report says `default`, `overdue_90` (90+ days past due, the usual default
definition) or `written_off`; otherwise it is good. The reports are the events of the loans banks
reported through `POST /v1/loans` — checked against an authorization, an eligible decision and the
limit shown (issue 14) — so an unchecked report is never counted. Each loan is scored by the
decision it was made on (the report's `decision_id`, else the latest decision of that enterprise
and product made on or before the disbursement date — linked by `store.frames`).

Discrimination is measured three ways on the same loans: the rules alone (total score), the
model alone (its PD, where the decision had one) and a blend — the mean of the two percentile
risk ranks, a fixed rule that needs no fitting (so it cannot flatter itself in-sample).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from parkcredit.governance.metrics import discrimination, rate_table

__all__ = ["BAD_STATUSES", "loans_from_reports", "performance_report"]

BAD_STATUSES = ("default", "overdue_90", "written_off")
_KEY = ["bank", "uscc", "product", "disbursed_on"]


def loans_from_reports(reports: pd.DataFrame) -> pd.DataFrame:
    """One row per loan from outcome reports (columns bank, uscc, product, disbursed_on, status, reported_at,
    decision_id, disbursed_yuan): `bad`, `last_status`, the latest non-null `decision_id`."""
    if reports.empty:
        return pd.DataFrame(columns=[*_KEY, "bad", "last_status", "decision_id", "disbursed_yuan", "reports"])
    r = reports.sort_values("reported_at", kind="stable")
    r = r.assign(is_bad=r["status"].isin(BAD_STATUSES))
    g = r.groupby(_KEY, sort=True, dropna=False)
    loans = g.agg(
        bad=("is_bad", "max"),
        last_status=("status", "last"),
        decision_id=("decision_id", "last"),  # groupby 'last' skips nulls: the latest linked decision
        disbursed_yuan=("disbursed_yuan", "max"),
        reports=("status", "size"),
    ).reset_index()
    loans["bad"] = loans["bad"].astype(int)
    return loans


def _period(dates: pd.Series, freq: str) -> pd.Series:
    d = pd.to_datetime(dates)
    if freq == "quarter":
        return d.dt.year.astype(str) + "Q" + d.dt.quarter.astype(str)
    return d.dt.strftime({"month": "%Y-%m", "year": "%Y"}[freq])


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank(pct=True).to_numpy("float64")


def performance_report(loans: pd.DataFrame, *, freq: str = "quarter", bands: list[str] | None = None) -> dict[str, Any]:
    """Realised default rates (overall, by band, by product, over time) and AUC/KS of rules, model, blend.

    `loans`: one row per loan with `product`, `disbursed_on`, `bad` (0/1) and, when linked to a
    decision, `band`, `total_score`, `pd` (NaN where unknown).
    """
    n = len(loans)
    bad = loans["bad"].to_numpy("float64") if n else np.array([])
    out: dict[str, Any] = {
        "definition": {
            "bad_statuses": list(BAD_STATUSES),
            "zh": "贷款任一报告为违约、逾期90天以上或核销即为坏账",
            "en": "a loan is bad when any report says default, 90+ days overdue or written off",
        },
        "loans": n,
        "bad": int(bad.sum()) if n else 0,
        "default_rate": round(float(bad.mean()), 6) if n else None,
        "linked_to_decision": int(loans["total_score"].notna().sum()) if n and "total_score" in loans else 0,
        "by_band": [],
        "by_product": [],
        "over_time": [],
        "discrimination": {},
    }
    if not n:
        return out
    linked = loans[loans["total_score"].notna()] if "total_score" in loans else loans.iloc[:0]
    out["by_band"] = rate_table(linked["bad"], linked["band"], bands)
    out["by_product"] = rate_table(loans["bad"], loans["product"])
    period = _period(loans["disbursed_on"], freq)
    frame = pd.DataFrame({"period": period, "product": loans["product"], "band": loans.get("band"), "bad": bad})
    rows = []
    for (p, prod), g in frame.groupby(["period", "product"], sort=True):
        rows.append({
            "period": p, "product": prod, "loans": int(len(g)), "bad": int(g["bad"].sum()),
            "default_rate": round(float(g["bad"].mean()), 6),
            "by_band": rate_table(g["bad"], g["band"].fillna("UNLINKED"), bands),
        })  # fmt: skip
    out["over_time"] = rows
    score = linked["total_score"].to_numpy("float64")
    pd_ = linked["pd"].to_numpy("float64") if "pd" in linked else np.full(len(linked), np.nan)
    lb = linked["bad"].to_numpy("float64")
    rules = discrimination(lb, -score)
    model = discrimination(lb, pd_)
    both = ~np.isnan(pd_) & ~np.isnan(score)
    blend_risk = np.full(len(linked), np.nan)
    if both.any():
        blend_risk[both] = (_ranks(-score[both]) + _ranks(pd_[both])) / 2
    blend = discrimination(lb, blend_risk)
    note = None if model["n"] else "no PD recorded on these decisions (model disabled or unavailable)"
    out["discrimination"] = {
        "rules": {"zh": "规则评分", "en": "rules alone (total score)", **rules},
        "model": {"zh": "模型违约概率", "en": "model alone (PD)", **model, "note": note},
        "blend": {
            "zh": "规则与模型综合（排序平均）",
            "en": "blend (mean of percentile risk ranks)",
            **blend,
            "note": note,
        },
    }
    return out
