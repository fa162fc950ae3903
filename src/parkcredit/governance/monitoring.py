"""Population stability (PSI) of every input and of the score against a reference window.

PSI = Σ (c_i - r_i) · ln(c_i / r_i) over bins, where r_i and c_i are the shares of the reference
and current windows in bin i. Bins are fixed on the **reference** window (DESIGN §10):

- numbers: reference deciles (right-closed intervals, duplicate edges merged; a column with at
  most `bins` distinct values is treated as categories), plus an explicit MISSING bin;
- categories (enums, flags, score bands, a characteristic's bins): one bin per reference value,
  plus MISSING and NEW (values the reference never had — dropping them would read a shift into a
  new category as "no change");
- dates are measured as days before the snapshot's as_of.

An empty share is floored at `EPS` = 0.0001 so the logarithm is defined (the usual practice);
a bin empty in both windows contributes nothing. Alert levels: PSI < 0.1 stable, 0.1–0.25 watch,
≥ 0.25 alert. Window sizes are reported: PSI rises by chance on small windows, so a window below
`min_window` rows carries a warning.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from parkcredit.decision import ScoringModel, decide
from parkcredit.rules.compile import RuleSet

__all__ = ["ALERT", "EPS", "LEVELS", "WATCH", "approval_over_time", "level", "monitoring_report", "psi"]

EPS = 1e-4
WATCH, ALERT = 0.10, 0.25
LEVELS = {
    "stable": ("稳定", "stable"),
    "watch": ("轻微偏移，需关注", "minor shift, watch"),
    "alert": ("显著偏移，需复核", "major shift, review"),
}
MISSING, NEW = "MISSING", "NEW"


def level(value: float | None) -> str | None:
    """stable / watch / alert for a PSI value (None stays None)."""
    if value is None:
        return None
    return "alert" if value >= ALERT else "watch" if value >= WATCH else "stable"


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _labels_numeric(ref: np.ndarray, edges: np.ndarray) -> list[str]:
    out = []
    bounds = [-np.inf, *edges.tolist(), np.inf]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        out.append(f"({lo:.6g}, {hi:.6g}]" if np.isfinite(hi) else f"({lo:.6g}, +inf)")
    return out


def _bin(reference: pd.Series, current: pd.Series, bins: int) -> tuple[list[str], np.ndarray, np.ndarray, str]:
    """(bin labels, reference counts, current counts, kind) with bins fixed on the reference."""
    ref_missing = reference.isna().to_numpy()
    cur_missing = current.isna().to_numpy()
    if _is_numeric(reference) and _is_numeric(current):
        r = reference.to_numpy("float64")[~ref_missing]
        c = current.to_numpy("float64")[~cur_missing]
        if len(np.unique(r)) > bins:
            edges = np.unique(np.quantile(r, np.linspace(0, 1, bins + 1)[1:-1]))
            labels = _labels_numeric(r, edges)
            rc = np.bincount(np.searchsorted(edges, r, side="left"), minlength=len(labels))
            cc = np.bincount(np.searchsorted(edges, c, side="left"), minlength=len(labels))
            return [*labels, MISSING], np.append(rc, ref_missing.sum()), np.append(cc, cur_missing.sum()), "numeric"
    # categories: the reference's values, then NEW and MISSING
    r_keys = reference[~ref_missing].map(_key)
    c_keys = current[~cur_missing].map(_key)
    cats = sorted(set(r_keys))
    r_counts = r_keys.value_counts()
    c_counts = c_keys.value_counts()
    ref_counts = [int(r_counts.get(k, 0)) for k in cats] + [0, int(ref_missing.sum())]
    new = int(c_counts[~c_counts.index.isin(cats)].sum())
    cur_counts = [int(c_counts.get(k, 0)) for k in cats] + [new, int(cur_missing.sum())]
    return [*cats, NEW, MISSING], np.array(ref_counts), np.array(cur_counts), "categorical"


def _key(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def psi(reference: ArrayLike, current: ArrayLike, *, bins: int = 10) -> dict[str, Any]:
    """PSI of `current` against `reference` (1-d values), with the per-bin table."""
    ref = reference if isinstance(reference, pd.Series) else pd.Series(reference)
    cur = current if isinstance(current, pd.Series) else pd.Series(current)
    labels, rc, cc, kind = _bin(ref.reset_index(drop=True), cur.reset_index(drop=True), bins)
    n_ref, n_cur = int(rc.sum()), int(cc.sum())
    if n_ref == 0 or n_cur == 0:
        return {"psi": None, "level": None, "kind": kind, "ref_n": n_ref, "cur_n": n_cur, "bins": []}
    r = rc / n_ref
    c = cc / n_cur
    rf, cf = np.maximum(r, EPS), np.maximum(c, EPS)
    contrib = np.where((rc == 0) & (cc == 0), 0.0, (cf - rf) * np.log(cf / rf))
    value = float(contrib.sum())
    table = [
        {"bin": lab, "ref_n": int(a), "cur_n": int(b), "ref_share": round(float(x), 6), "cur_share": round(float(y), 6),
         "contribution": round(float(z), 6)}
        for lab, a, b, x, y, z in zip(labels, rc, cc, r, c, contrib, strict=True)
        if a or b
    ]  # fmt: skip
    return {"psi": round(value, 6), "level": level(value), "kind": kind, "ref_n": n_ref, "cur_n": n_cur, "bins": table}


def _rule_inputs(rs: RuleSet, columns: set[str]) -> list[str]:
    names: set[str] = set()
    for comp in [*rs.preconditions, *rs.knockouts, rs.limit_formula, *(e for _, e in rs.limit_lets)]:
        names |= comp.names
    for c in rs.characteristics:
        if c.value is not None:
            names |= c.value.names
        if c.missing is not None:
            names |= c.missing.names
        for comp in c.cases:
            names |= comp.names
    return sorted(n for n in names if n in columns and n not in ("as_of", "uscc"))


def _as_measure(frame: pd.DataFrame, name: str) -> pd.Series:
    s = frame[name]
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return (pd.to_datetime(frame["as_of"]) - s).dt.days.astype("float64")
    return s


def monitoring_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    ruleset: RuleSet,
    *,
    model: ScoringModel | None = None,
    bins: int = 10,
    min_window: int = 100,
) -> dict[str, Any]:
    """PSI of every input the rule set reads, of each characteristic's bins, of the scores, bands and PD.

    Both windows are decided with the same `ruleset`, so the report shows a shift of the
    population, not of the rules. Returns a JSON-able dict (for the API, the CLI and the web pages).
    """
    use_model = model if model is not None and ruleset.spec.model.mode != "off" else None
    d_ref = decide(reference, ruleset, use_model) if len(reference) else None
    d_cur = decide(current, ruleset, use_model) if len(current) else None
    warnings = []
    for name, frame in (("reference", reference), ("current", current)):
        if len(frame) < min_window:
            warnings.append({
                "zh": f"{'基准' if name == 'reference' else '当前'}窗口仅{len(frame)}户（少于{min_window}户），"
                "PSI可能因样本小而偏高",
                "en": f"the {name} window has {len(frame)} rows (< {min_window}); PSI rises by chance on small windows",
            })  # fmt: skip
    out: dict[str, Any] = {
        "ruleset": {"product": ruleset.product, "version": ruleset.version, "hash": ruleset.content_hash},
        "windows": {"reference_n": len(reference), "current_n": len(current)},
        "alert_levels": {
            "watch": WATCH,
            "alert": ALERT,
            "labels": {k: {"zh": z, "en": e} for k, (z, e) in LEVELS.items()},
        },
        "warnings": warnings,
        "scores": [],
        "characteristics": [],
        "inputs": [],
        "approval": {},
    }
    if d_ref is None or d_cur is None:
        out["warnings"].append({"zh": "窗口为空，无法计算PSI", "en": "a window is empty: no PSI"})
        return out
    sr, sc = d_ref.summary, d_cur.summary
    scores = [("total_score", "总分", "total score"), ("band", "评级档", "band")]
    scores += [(f"score_{dim.id}", f"{dim.zh}得分", f"{dim.en} score") for dim in ruleset.spec.dimensions]
    if use_model is not None:
        scores.append(("pd", "模型违约概率", "model PD"))
    for col, zh, en in scores:
        out["scores"].append({"name": col, "zh": zh, "en": en, **psi(sr[col], sc[col], bins=bins)})
    for j, c in enumerate(ruleset.characteristics):
        ids = np.array([b.id for b in c.spec.outcomes()] + ["MISSING"], dtype=object)
        ref_bins = pd.Series(ids[d_ref.bins[:, j]])
        cur_bins = pd.Series(ids[d_cur.bins[:, j]])
        out["characteristics"].append({"name": c.spec.id, "zh": c.spec.zh, "en": c.spec.en, **psi(ref_bins, cur_bins)})
    columns = set(d_ref.inputs.columns) & set(d_cur.inputs.columns)
    for name in _rule_inputs(ruleset, columns):
        out["inputs"].append({
            "name": name, **psi(_as_measure(d_ref.inputs, name), _as_measure(d_cur.inputs, name), bins=bins)
        })  # fmt: skip
    out["approval"] = {
        "reference_rate": round(float(sr["eligible"].mean()), 6),
        "current_rate": round(float(sc["eligible"].mean()), 6),
    }
    everything = out["scores"] + out["characteristics"] + out["inputs"]
    out["summary"] = {lv: sorted(x["name"] for x in everything if x["level"] == lv) for lv in ("alert", "watch")} | {
        "stable": sum(1 for x in everything if x["level"] == "stable")
    }
    return out


def approval_over_time(decisions: pd.DataFrame, freq: str = "month") -> list[dict[str, Any]]:
    """Approval rate per period from decision rows (`created_at`, `eligible`, `limit_yuan`; optional `product`)."""
    if decisions.empty:
        return []
    fmt = {"month": "%Y-%m", "day": "%Y-%m-%d", "year": "%Y"}[freq]
    when = pd.to_datetime(decisions["created_at"], utc=True)
    frame = pd.DataFrame({
        "period": when.dt.strftime(fmt),
        "product": decisions.get("product", ""),
        "eligible": decisions["eligible"].astype(bool),
        "limit": decisions["limit_yuan"].astype("int64"),
    })  # fmt: skip
    agg = frame.groupby(["period", "product"], sort=True).agg(
        n=("eligible", "size"), approved=("eligible", "sum"), limit=("limit", "sum")
    )
    out = []
    for key, r in agg.iterrows():
        p, prod = cast(tuple[str, str], key)  # the (period, product) group
        out.append({"period": p, "product": prod, "decisions": int(r["n"]), "approved": int(r["approved"]),
                    "approval_rate": round(float(r["approved"] / r["n"]), 6),
                    "total_limit_yuan": int(r["limit"])})  # fmt: skip
    return out
