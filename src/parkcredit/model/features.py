"""Profile frame -> the model's numeric feature matrix (float64, NaN where missing).

Ordered enums become ordinal codes (so a monotone constraint can say "a better grade never
raises risk"); only enums without an order become LightGBM native categoricals (integer codes).
The matrix is a plain numpy array: the booster's DataFrame path costs ~4 ms a call (DESIGN §10).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from parkcredit.model.spec import FeatureSpec, ModelSpec
from parkcredit.profile.derive import DERIVED
from parkcredit.profile.frame import Columns
from parkcredit.profile.schema import FIELDS

__all__ = ["categorical_indices", "encode", "encode_columns", "fit_categories"]
_INFO = {**FIELDS, **DERIVED}


def _text(frame: pd.DataFrame, f: FeatureSpec) -> pd.Series:
    col = frame[f.source]
    if f.prefix:
        col = col.astype(object).map(lambda v: v[: f.prefix] if isinstance(v, str) else None)
    return col


def fit_categories(frame: pd.DataFrame, spec: ModelSpec) -> ModelSpec:
    """The spec with every `category` feature's categories learned from `frame` (sorted, stable)."""
    feats = []
    for f in spec.features:
        if f.encoding == "category" and f.categories is None:
            values = sorted({v for v in _text(frame, f) if isinstance(v, str)})
            f = f.model_copy(update={"categories": values})
        feats.append(f)
    return spec.model_copy(update={"features": feats})


def categorical_indices(spec: ModelSpec) -> list[int]:
    return [i for i, f in enumerate(spec.features) if f.encoding == "category"]


@functools.lru_cache(maxsize=256)
def _levels(levels: tuple[str, ...]) -> pd.Index:
    """The levels as an Index, built once per feature (its hash table too), not once per call (issue 18)."""
    return pd.Index(list(levels), dtype=object)


def _column(frame: pd.DataFrame, f: FeatureSpec) -> np.ndarray:
    if f.encoding == "numeric":
        col = frame[f.source]
        if col.dtype == object:
            col = pd.to_numeric(col, errors="coerce")
        return col.to_numpy(dtype="float64", na_value=np.nan)
    if f.encoding == "indicator":
        col = frame[f.source].astype(object)
        out = (col == f.value).to_numpy(dtype="float64")
        out[col.isna().to_numpy()] = np.nan
        return out
    if f.encoding == "ordinal":
        levels = list(f.order or ())
    else:
        if f.categories is None:
            raise ValueError(f"feature {f.name}: categories not fitted (call fit_categories on training data)")
        levels = list(f.categories)
    # position in `levels` (one hash lookup per row), NaN for missing or unknown values (-1)
    # pandas takes any list-like target (its docstring passes a list); pandas-stubs narrow it to Index
    codes = _levels(tuple(levels)).get_indexer(_text(frame, f).astype(object))  # type: ignore[arg-type]
    codes = codes.astype("float64")
    codes[codes < 0] = np.nan
    return codes


def encode(frame: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    """(n, n_features) float64 matrix in spec order; missing profile columns raise KeyError."""
    missing = sorted({f.source for f in spec.features} - set(frame.columns))
    if missing:
        raise KeyError(f"frame lacks model input columns: {', '.join(missing)}")
    out = np.empty((len(frame), len(spec.features)), dtype="float64")
    for j, f in enumerate(spec.features):
        out[:, j] = _column(frame, f)
    return out


def _positions(f: FeatureSpec) -> dict[str, int] | None:
    levels = list(f.order or ()) if f.encoding == "ordinal" else f.categories
    if levels is None or len(set(levels)) != len(levels):
        return None
    return {v: i for i, v in enumerate(levels)}


def _column_of(cols: Columns, f: FeatureSpec) -> np.ndarray | None:
    """`_column` of the canonical frame, read off `cols`; None where only the frame path knows how."""
    info = _INFO.get(f.source)
    if info is None:
        return None
    kind = info.kind
    if f.encoding == "numeric":
        return cols.num(f.source) if kind in ("int", "float", "bool") else None
    if kind not in ("enum", "str"):
        return None
    if f.encoding == "indicator":
        if kind == "enum":
            codes, vocab = cols.codes(f.source, info.choices)
            hit: np.ndarray = np.array([v == f.value for v in vocab] + [False], dtype="float64")[codes]
            missing = codes < 0
        else:
            values = cols.objects(f.source)
            hit = np.array([v == f.value for v in values], dtype="float64")
            missing = np.array([v is None for v in values], dtype=bool)
        hit[missing] = np.nan
        return hit
    pos = _positions(f)
    if pos is None:
        return None
    p = f.prefix
    if kind == "enum":  # a position per code, gathered
        codes, vocab = cols.codes(f.source, info.choices)
        table = np.array([pos.get(v[:p] if p else v, -1) for v in vocab] + [-1], dtype="float64")
        out: np.ndarray = table[codes]
    else:
        out = np.array([pos.get(v[:p] if p else v, -1) if isinstance(v, str) else -1 for v in cols.objects(f.source)],
                       dtype="float64")  # fmt: skip
    out[out < 0] = np.nan
    return out


def encode_columns(cols: Columns, spec: ModelSpec) -> np.ndarray | None:
    """`encode` of the canonical derived frame of the profiles in `cols`, without the frame (one enterprise:
    no pandas per feature); None when a feature reads a column only the frame path encodes."""
    out = np.empty((cols.n, len(spec.features)), dtype="float64")
    for j, f in enumerate(spec.features):
        column = _column_of(cols, f)
        if column is None:
            return None
        out[:, j] = column
    return out
