"""Discrimination and default-rate measures on outcomes (scikit-learn underneath).

Orientation: `risk` is higher for riskier enterprises (pass `-total_score`, or a PD). AUC is
the probability that a defaulted enterprise is ranked riskier than a good one (0.5 = no
better than chance); KS is the largest gap between the cumulative distributions of bads and
goods over the risk ranking (max |TPR - FPR|). Both are None when there is no bad or no good.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import roc_auc_score, roc_curve

__all__ = ["auc", "discrimination", "ks", "rate_table"]


def _clean(bad: ArrayLike, risk: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(bad, dtype="float64")
    r = np.asarray(risk, dtype="float64")
    keep = ~(np.isnan(b) | np.isnan(r))
    return b[keep].astype(int), r[keep]


def auc(bad: ArrayLike, risk: ArrayLike) -> float | None:
    """ROC AUC of `risk` for `bad` (1 = defaulted); None without both classes."""
    b, r = _clean(bad, risk)
    if len(np.unique(b)) < 2:
        return None
    return round(float(roc_auc_score(b, r)), 6)


def ks(bad: ArrayLike, risk: ArrayLike) -> float | None:
    """Kolmogorov-Smirnov statistic: max |TPR - FPR| over the risk ranking; None without both classes."""
    b, r = _clean(bad, risk)
    if len(np.unique(b)) < 2:
        return None
    fpr, tpr, _ = roc_curve(b, r)
    return round(float(np.max(np.abs(tpr - fpr))), 6)


def discrimination(bad: ArrayLike, risk: ArrayLike) -> dict[str, Any]:
    """{n, bad, auc, ks} over the rows where both `bad` and `risk` are known."""
    b, r = _clean(bad, risk)
    return {"n": int(len(b)), "bad": int(b.sum()), "auc": auc(b, r), "ks": ks(b, r)}


def rate_table(bad: ArrayLike, groups: ArrayLike, order: list[str] | None = None) -> list[dict[str, Any]]:
    """Default rate per group: [{group, n, bad, default_rate}] over rows with a known outcome."""
    frame = pd.DataFrame({"bad": np.asarray(bad, dtype="float64"), "group": np.asarray(groups, dtype=object)})
    frame = frame[frame["bad"].notna()]
    agg = frame.groupby("group", sort=True)["bad"].agg(["count", "sum"])
    keys = [k for k in (order or []) if k in agg.index] + [k for k in agg.index if k not in (order or [])]
    count, total = agg["count"], agg["sum"]
    return [
        {"group": k, "n": int(count.loc[k]), "bad": int(total.loc[k]),
         "default_rate": round(float(total.loc[k] / count.loc[k]), 6)}
        for k in keys
    ]  # fmt: skip
