"""Raw log-odds -> calibrated probability of default: isotonic or Platt, chosen on held-out data.

The choice is made on out-of-fold raw scores (never the training fit): each method is fitted on
k-1 folds of the OOF scores and scored (Brier) on the remaining fold; the lower mean Brier wins
and is refitted on all OOF scores. Isotonic needs more data than Platt to beat it; on small or
very imbalanced sets Platt usually wins. Fitted calibrators are plain arrays (JSON-serialisable)
and predict with numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Calibrator", "choose_calibration"]

_EPS = 1e-6


@dataclass
class Calibrator:
    """`method` is isotonic | platt | none; learned parameters end in `_`."""

    method: str = "platt"
    a_: float = 1.0
    b_: float = 0.0
    x_: list[float] = field(default_factory=list)
    y_: list[float] = field(default_factory=list)

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        raw = np.asarray(raw, dtype="float64")
        y = np.asarray(y, dtype="float64")
        if self.method == "platt":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e6, solver="lbfgs", max_iter=1000).fit(raw[:, None], y)
            self.a_, self.b_ = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        elif self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(out_of_bounds="clip", y_min=_EPS, y_max=1 - _EPS).fit(raw, y)
            self.x_ = [float(v) for v in iso.X_thresholds_]
            self.y_ = [float(v) for v in iso.y_thresholds_]
        elif self.method != "none":
            raise ValueError(f"unknown calibration method {self.method!r}")
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype="float64")
        out: np.ndarray
        if self.method == "isotonic":
            out = np.interp(raw, self.x_, self.y_)
        elif self.method == "platt":
            out = 1.0 / (1.0 + np.exp(-(self.a_ * raw + self.b_)))
        else:
            out = 1.0 / (1.0 + np.exp(-raw))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "a": self.a_, "b": self.b_, "x": self.x_, "y": self.y_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        return cls(method=d["method"], a_=float(d["a"]), b_=float(d["b"]), x_=list(d["x"]), y_=list(d["y"]))


def choose_calibration(
    raw: np.ndarray, y: np.ndarray, *, method: str = "auto", folds: int = 5, seed: int = 0
) -> tuple[Calibrator, dict[str, float]]:
    """(calibrator fitted on all of `raw`, held-out Brier of each candidate)."""
    from sklearn.model_selection import StratifiedKFold

    candidates = ["isotonic", "platt"] if method == "auto" else [method]
    scores: dict[str, float] = {}
    if len(candidates) > 1:
        skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for m in candidates:
            errs = []
            for fit_idx, held in skf.split(raw, y):
                p = Calibrator(m).fit(raw[fit_idx], y[fit_idx]).predict(raw[held])
                errs.append(float(np.mean((p - y[held]) ** 2)))
            scores[m] = float(np.mean(errs))
        best = min(candidates, key=lambda m: (scores[m], m))
    else:
        best = candidates[0]
    return Calibrator(best).fit(raw, y), scores
