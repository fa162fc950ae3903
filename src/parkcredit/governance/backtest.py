"""Backtest / what-if: a candidate rule set against the current portfolio and recorded outcomes.

Both rule sets decide the same frame with the one decision function (`parkcredit.decision.decide`,
vectorised), in chunks so a million rows fit in memory. The report compares approvals and the
total limit before and after, lists the swap-in (approved only after) and swap-out (approved only
before) enterprises, breaks both down by industry and band, and — where outcomes are known —
measures how well each score separates defaults from goods (AUC, KS, default rate by band).

`bad` is aligned with the rows: 1 defaulted, 0 did not, NaN no outcome recorded (excluded from
the discrimination measures, counted in `with_outcome`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from parkcredit.decision import ScoringModel, decide
from parkcredit.governance.metrics import discrimination, rate_table
from parkcredit.rules.compile import RuleSet

__all__ = ["CHUNK_ROWS", "SECTIONS", "backtest", "decide_summary"]

CHUNK_ROWS = 200_000
_COLUMNS = ["uscc", "status", "eligible", "limit_yuan", "band", "total_score", "knockouts", "pd"]

# GB/T 4754-2017 sections (门类): the first letter of an industry code
SECTIONS: dict[str, tuple[str, str]] = {
    "A": ("农、林、牧、渔业", "Agriculture, forestry, animal husbandry and fishery"),
    "B": ("采矿业", "Mining"),
    "C": ("制造业", "Manufacturing"),
    "D": ("电力、热力、燃气及水生产和供应业", "Electricity, heat, gas and water"),
    "E": ("建筑业", "Construction"),
    "F": ("批发和零售业", "Wholesale and retail"),
    "G": ("交通运输、仓储和邮政业", "Transport, storage and post"),
    "H": ("住宿和餐饮业", "Accommodation and catering"),
    "I": ("信息传输、软件和信息技术服务业", "Information transmission, software and IT services"),
    "J": ("金融业", "Finance"),
    "K": ("房地产业", "Real estate"),
    "L": ("租赁和商务服务业", "Leasing and business services"),
    "M": ("科学研究和技术服务业", "Scientific research and technical services"),
    "N": ("水利、环境和公共设施管理业", "Water, environment and public facilities"),
    "O": ("居民服务、修理和其他服务业", "Household, repair and other services"),
    "P": ("教育", "Education"),
    "Q": ("卫生和社会工作", "Health and social work"),
    "R": ("文化、体育和娱乐业", "Culture, sports and entertainment"),
    "S": ("公共管理、社会保障和社会组织", "Public administration and social organisations"),
    "T": ("国际组织", "International organisations"),
}


def _needs_model(rs: RuleSet) -> bool:
    # an advisory model changes neither eligibility nor limit: skip its cost in a what-if
    return rs.spec.model.mode in ("pd_ceiling", "limit_scaling")


def decide_summary(
    profiles: pd.DataFrame, ruleset: RuleSet, model: ScoringModel | None = None, chunk_rows: int = CHUNK_ROWS
) -> pd.DataFrame:
    """The decision summary columns of every row (`decide` in chunks; the model only when it decides)."""
    use = model if model is not None and _needs_model(ruleset) else None
    parts = []
    for start in range(0, len(profiles), chunk_rows):
        chunk = profiles.iloc[start : start + chunk_rows]
        parts.append(decide(chunk, ruleset, use).summary[_COLUMNS])
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _COLUMNS})
    return pd.concat(parts, ignore_index=True)


def _totals(s: pd.DataFrame) -> dict[str, Any]:
    n = len(s)
    approved = int(s["eligible"].sum())
    return {
        "approved": approved,
        "approval_rate": round(approved / n, 6) if n else None,
        "total_limit_yuan": int(s["limit_yuan"].sum()),
        "not_applicable": int((s["status"] == "NOT_APPLICABLE").sum()),
        "knocked_out": int((s["knockouts"] != "").sum()),
    }


def _ident(rs: RuleSet) -> dict[str, Any]:
    return {"product": rs.product, "version": rs.version, "effective_from": rs.spec.effective_from.isoformat(),
            "hash": rs.content_hash}  # fmt: skip


def _band_order(rs: RuleSet) -> list[str]:
    return [b.id for b in rs.spec.bands]


def _by_band(s: pd.DataFrame, bad: np.ndarray, order: list[str]) -> list[dict[str, Any]]:
    band = s["band"].to_numpy(object)
    eligible = s["eligible"].to_numpy(bool)
    limit = s["limit_yuan"].to_numpy("int64")
    known = ~np.isnan(bad)
    out = []
    for b in order + sorted(set(band.tolist()) - set(order)):
        m = band == b
        k = m & known
        out.append({
            "band": b, "n": int(m.sum()), "approved": int(eligible[m].sum()), "total_limit_yuan": int(limit[m].sum()),
            "with_outcome": int(k.sum()), "bad": int(bad[k].sum()),
            "default_rate": round(float(bad[k].mean()), 6) if k.any() else None,
        })  # fmt: skip
    return out


def backtest(
    profiles: pd.DataFrame,
    baseline: RuleSet,
    candidate: RuleSet,
    *,
    bad: ArrayLike | None = None,
    model: ScoringModel | None = None,
    examples: int = 20,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, Any]:
    """Compare `candidate` with `baseline` on `profiles` (a canonical profile frame); a JSON-able report."""
    started = time.perf_counter()
    n = len(profiles)
    before = decide_summary(profiles, baseline, model, chunk_rows)
    after = decide_summary(profiles, candidate, model, chunk_rows)
    bad_arr = np.full(n, np.nan) if bad is None else np.asarray(bad, dtype="float64")
    if len(bad_arr) != n:
        raise ValueError(f"bad has {len(bad_arr)} values for {n} profiles")

    e0 = before["eligible"].to_numpy(bool)
    e1 = after["eligible"].to_numpy(bool)
    l0 = before["limit_yuan"].to_numpy("int64")
    l1 = after["limit_yuan"].to_numpy("int64")
    swap_in, swap_out, kept = e1 & ~e0, e0 & ~e1, e0 & e1
    uscc = profiles["uscc"].to_numpy(object)
    s0 = before["total_score"].to_numpy("float64")
    s1 = after["total_score"].to_numpy("float64")

    def bad_rate(mask: np.ndarray) -> float | None:
        known = bad_arr[mask & ~np.isnan(bad_arr)]
        return round(float(known.mean()), 6) if len(known) else None

    def top(mask: np.ndarray, limits: np.ndarray) -> list[dict[str, Any]]:
        idx = np.flatnonzero(mask)
        idx = idx[np.argsort(-limits[idx], kind="stable")][:examples]
        return [{"uscc": uscc[i], "limit_before": int(l0[i]), "limit_after": int(l1[i]),
                 "score_before": float(s0[i]), "score_after": float(s1[i])}
                for i in idx]  # fmt: skip

    t0, t1 = _totals(before), _totals(after)
    industry = profiles["industry_code"].astype(object).where(profiles["industry_code"].notna(), "UNKNOWN").to_numpy()
    ind = pd.DataFrame({"industry": industry, "e0": e0, "e1": e1, "l0": l0, "l1": l1, "in": swap_in, "out": swap_out})
    by_industry = []
    for code, g in ind.groupby("industry", sort=True):
        zh, en = SECTIONS.get(str(code)[:1], ("未知", "unknown"))
        by_industry.append({
            "industry": code, "section": str(code)[:1], "section_zh": zh, "section_en": en, "n": int(len(g)),
            "approved_before": int(g["e0"].sum()), "approved_after": int(g["e1"].sum()),
            "total_limit_before_yuan": int(g["l0"].sum()), "total_limit_after_yuan": int(g["l1"].sum()),
            "swap_in": int(g["in"].sum()), "swap_out": int(g["out"].sum()),
        })  # fmt: skip
    migration = (
        pd.DataFrame({"before": before["band"].to_numpy(), "after": after["band"].to_numpy()})
        .value_counts()
        .sort_index()
    )
    known = ~np.isnan(bad_arr)
    report: dict[str, Any] = {
        "n": n,
        "baseline": _ident(baseline),
        "candidate": _ident(candidate),
        "before": t0,
        "after": t1,
        "change": {
            "approved": t1["approved"] - t0["approved"],
            "total_limit_yuan": t1["total_limit_yuan"] - t0["total_limit_yuan"],
        },
        "swap": {
            "swap_in": int(swap_in.sum()),
            "swap_in_limit_yuan": int(l1[swap_in].sum()),
            "swap_out": int(swap_out.sum()),
            "swap_out_limit_yuan": int(l0[swap_out].sum()),
            "kept": int(kept.sum()),
            "kept_limit_change_yuan": int((l1[kept] - l0[kept]).sum()),
            "swap_in_bad_rate": bad_rate(swap_in),
            "swap_out_bad_rate": bad_rate(swap_out),
            "swap_in_examples": top(swap_in, l1),
            "swap_out_examples": top(swap_out, l0),
        },
        "by_industry": by_industry,
        "by_band": {
            "before": _by_band(before, bad_arr, _band_order(baseline)),
            "after": _by_band(after, bad_arr, _band_order(candidate)),
        },
        "band_migration": [
            {"before": b, "after": a, "n": int(c)} for (b, a), c in zip(migration.index, migration, strict=True)
        ],
        "discrimination": {
            "with_outcome": int(known.sum()),
            "bad": int(np.nansum(bad_arr)),
            "before": {
                **discrimination(bad_arr, -before["total_score"].to_numpy("float64")),
                "default_rate_by_band": rate_table(bad_arr, before["band"], _band_order(baseline)),
                "approved_default_rate": bad_rate(e0),
            },
            "after": {
                **discrimination(bad_arr, -after["total_score"].to_numpy("float64")),
                "default_rate_by_band": rate_table(bad_arr, after["band"], _band_order(candidate)),
                "approved_default_rate": bad_rate(e1),
            },
        },
    }
    report["elapsed_s"] = round(time.perf_counter() - started, 3)
    return report
