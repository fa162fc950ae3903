"""Train a PD model: stratified k-fold CV, calibration chosen on out-of-fold scores, metrics.

Two modes, one function:
- a **profile** table (a park file with a label column): features come from the model spec
  (`models/spec.yaml`) over the derived profile frame, with monotone constraints;
- **any numeric table** (CSV, parquet, ARFF such as the Polish bankruptcy data): every numeric
  column but the target is a feature, no spec needed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from parkcredit.model.calibrate import Calibrator, choose_calibration
from parkcredit.model.features import categorical_indices, encode, fit_categories
from parkcredit.model.spec import ModelSpec, generic_spec

if TYPE_CHECKING:
    import lightgbm as lgb

    from parkcredit.rules.compile import RuleSet

__all__ = [
    "GENERIC_PARAMS",
    "TrainResult",
    "calibration_table",
    "load_table",
    "prepare",
    "train",
]

logger = logging.getLogger(__name__)

# Generic-table mode: at least as strong as the published plain-LightGBM baseline
# (shared/data/polish-bankruptcy/SOURCE.md): 500 trees, lr 0.03, 31 leaves, no depth limit.
# These deep trees are explained by LightGBM's own pred_contrib, not by the fast tables.
GENERIC_PARAMS: dict[str, Any] = {
    "n_estimators": 500,
    "learning_rate": 0.03,
    "num_leaves": 31,
    "max_depth": -1,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.7,
    "reg_lambda": 1.0,
}


@dataclass
class TrainResult:
    """A fitted model and its evidence: booster, calibrator, out-of-fold scores, metrics."""

    spec: ModelSpec
    booster: lgb.Booster
    calibrator: Calibrator
    metrics: dict[str, Any]
    X: np.ndarray
    y: np.ndarray
    oof_raw: np.ndarray
    oof_pd: np.ndarray
    frame: pd.DataFrame | None = None  # derived profile frame (profile mode)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def load_table(path: str | Path) -> pd.DataFrame:
    """A table by extension; `.arff` through scipy (byte strings decoded, e.g. class b'1' -> '1')."""
    path = Path(path)
    if path.suffix.lower() == ".arff":
        from scipy.io import arff

        data, _ = arff.loadarff(str(path))
        frame = pd.DataFrame(data)
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = frame[col].map(lambda v: v.decode() if isinstance(v, bytes) else v)
        return frame
    from parkcredit.tableio import read_table

    return read_table(path)


def _label(col: pd.Series, target: str) -> np.ndarray:
    y = pd.to_numeric(col.map(lambda v: v.decode() if isinstance(v, bytes) else v), errors="coerce")
    if y.isna().any() or not set(np.unique(y)) <= {0, 1}:
        raise ValueError(f"target column {target!r} must be 0/1 without missing values")
    return y.to_numpy(dtype=np.int64)


def prepare(
    table: pd.DataFrame, target: str, spec: ModelSpec | None
) -> tuple[np.ndarray, np.ndarray, ModelSpec, pd.DataFrame | None]:
    """(X, y, spec with fitted categories, derived profile frame or None) from a labelled table."""
    if target not in table.columns:
        raise ValueError(f"no target column {target!r}; columns: {', '.join(map(str, table.columns[:10]))}…")
    y = _label(table[target], target)
    if spec is not None and spec.profile:
        from parkcredit.profile import COLUMNS, coerce, derive

        raw = table[[c for c in table.columns if c in COLUMNS]]
        frame, errors = coerce(raw)
        if errors:
            bad = sorted({e.row for e in errors})
            logger.warning(
                "%d rows refused by the profile schema (first: %s); training on the rest", len(bad), errors[0]
            )
            keep = np.setdiff1d(np.arange(len(table)), bad)
            y = y[keep]
        frame = derive(frame)
        spec = fit_categories(frame, spec)
        return encode(frame, spec), y, spec, frame
    numeric = table.drop(columns=[target]).apply(pd.to_numeric, errors="coerce")
    numeric = numeric.loc[:, numeric.notna().any()]
    if spec is None:
        spec = generic_spec(list(numeric.columns) + [target], target, GENERIC_PARAMS)
    return encode(numeric, spec), y, spec, None


def _fit(X: np.ndarray, y: np.ndarray, spec: ModelSpec, seed: int) -> lgb.Booster:
    import lightgbm as lgb

    params = {**spec.lgb_params(), "random_state": seed, "deterministic": True, "force_col_wise": True}
    model = lgb.LGBMClassifier(**params)
    cats = categorical_indices(spec)
    model.fit(X, y, feature_name=spec.feature_names, categorical_feature=cats if cats else "auto")
    return model.booster_


def calibration_table(y: np.ndarray, pd_: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Deciles of predicted PD: rows, mean predicted PD, observed default rate."""
    q = pd.qcut(pd.Series(pd_).rank(method="first"), bins, labels=False)
    df = pd.DataFrame({"bin": q + 1, "pd": pd_, "y": y})
    out = df.groupby("bin").agg(n=("y", "size"), pd_min=("pd", "min"), pd_max=("pd", "max"),
                                mean_pd=("pd", "mean"), default_rate=("y", "mean"))  # fmt: skip
    return out.reset_index()


def _band_table(y: np.ndarray, band: np.ndarray, order: list[str]) -> pd.DataFrame:
    df = pd.DataFrame({"band": band, "y": y})
    out = df.groupby("band").agg(n=("y", "size"), defaults=("y", "sum"), default_rate=("y", "mean"))
    return out.reindex([b for b in order if b in out.index]).reset_index()


def train(
    table: pd.DataFrame,
    *,
    target: str = "default_12m",
    spec: ModelSpec | None = None,
    folds: int = 5,
    seed: int = 7,
    repeats: int = 1,
    ruleset: RuleSet | None = None,
) -> TrainResult:
    """Cross-validate, calibrate on out-of-fold scores, fit the final booster on all rows."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from parkcredit.governance.metrics import ks

    X, y, spec, frame = prepare(table, target, spec)
    if y.sum() < folds or (1 - y).sum() < folds:
        raise ValueError(f"too few defaults ({int(y.sum())}) or non-defaults for {folds}-fold CV")
    aucs: list[float] = []
    oof_raw = np.zeros(len(y))
    for r in range(repeats):
        skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + r)
        raw_r = np.zeros(len(y))
        for fit_idx, held in skf.split(X, y):
            booster = _fit(X[fit_idx], y[fit_idx], spec, seed + r)
            raw_r[held] = booster.predict(X[held], raw_score=True)
            aucs.append(float(roc_auc_score(y[held], raw_r[held])))
        if r == 0:
            oof_raw = raw_r
    calibrator, cal_scores = choose_calibration(oof_raw, y, method=spec.calibration, folds=folds, seed=seed)
    oof_pd = calibrator.predict(oof_raw)
    booster = _fit(X, y, spec, seed)
    metrics: dict[str, Any] = {
        "n_rows": int(len(y)),
        "n_defaults": int(y.sum()),
        "default_rate": float(y.mean()),
        "n_features": len(spec.features),
        "folds": folds,
        "repeats": repeats,
        "cv_auc": float(np.mean(aucs)),
        "cv_auc_std": float(np.std(aucs)),
        "oof_auc": float(roc_auc_score(y, oof_raw)),
        "ks": ks(y, oof_pd),  # both classes are present: checked above
        "brier": float(brier_score_loss(y, oof_pd)),
        "logloss": float(log_loss(y, np.clip(oof_pd, 1e-9, 1 - 1e-9))),
        "calibration": calibrator.method,
        "calibration_brier": cal_scores,
        "n_trees": int(booster.num_trees()),
        "max_depth": int(spec.lgb_params().get("max_depth", -1)),
    }
    tables = {"calibration": calibration_table(y, oof_pd)}
    deciles = pd.qcut(pd.Series(oof_pd).rank(method="first"), 10, labels=[f"D{i}" for i in range(1, 11)])
    tables["pd_decile"] = _band_table(y, deciles.astype(str).to_numpy(), [f"D{i}" for i in range(1, 11)])
    if frame is not None and ruleset is not None:
        from parkcredit.decision import decide

        summary = decide(frame, ruleset).summary
        bands = [b.id for b in ruleset.spec.bands]
        tables["rule_band"] = _band_table(y, summary["band"].to_numpy(), bands)
        eligible = summary["eligible"].to_numpy()
        metrics["rules_eligible_share"] = float(eligible.mean())
        metrics["rules_eligible_default_rate"] = float(y[eligible].mean()) if eligible.any() else None
        metrics["rules_auc"] = float(roc_auc_score(y, -summary["total_score"].to_numpy()))
    metrics["tables"] = {k: v.to_dict(orient="records") for k, v in tables.items()}
    return TrainResult(spec=spec, booster=booster, calibrator=calibrator, metrics=metrics, X=X, y=y,
                       oof_raw=oof_raw, oof_pd=oof_pd, frame=frame, tables=tables)  # fmt: skip
