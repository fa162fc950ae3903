"""Profiles as a pandas DataFrame: the one input shape of the decision function.

Canonical column types (what the rule compiler and the model rely on):
  enum       -> pandas Categorical whose categories are the field's choices in declared order,
                NaN where missing: one byte a cell, and the rules read its codes without
                hashing a string (`rules.expr.Text`)
  str        -> object arrays of Python str, None where missing
  int, float -> float64, NaN where missing (integers are exact below 2**53)
  bool       -> float64 1.0 / 0.0, NaN where missing
  date       -> datetime64, NaT where missing

`coerce` checks a frame that did not come through the pydantic `Profile` (a parquet file of a
million rows, say) with vectorised versions of the same checks, and reports bad rows instead
of failing the whole batch: one bad row never hides the others.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from parkcredit.profile.schema import FIELDS, Profile
from parkcredit.profile.uscc import ASCII_VALUE, check_values, normalise

__all__ = [
    "COLUMNS", "Columns", "FrameColumns", "ProfileColumns", "RowError", "coerce", "dates_of", "day_numbers",
    "days_of", "dump_profiles", "encode_text", "enum_column", "frame_of_dumps", "frame_of_stored", "to_frame",
    "uscc_valid_mask",
]  # fmt: skip

COLUMNS: list[str] = list(FIELDS)
_NONNEG = {
    name for name, field in Profile.model_fields.items() if any(getattr(m, "ge", None) == 0 for m in field.metadata)
}
_BOUNDS = {"hazard_rectification_rate": (0.0, 1.0)}


@dataclass(frozen=True)
class RowError:
    """One refused value: 0-based row position in the input, the column, why."""

    row: int
    column: str
    reason: str


def to_frame(profiles: Iterable[Profile | Mapping[str, Any]]) -> pd.DataFrame:
    """A canonical frame from profiles (dicts are validated as `Profile` first).

    Validated profiles need no `coerce`: each column is built straight from the Python values
    with its canonical dtype, one numpy array per column — a few milliseconds for the one-row
    path of the API, where `coerce`'s per-column pandas checks cost ~100 ms (measured under load).
    `tests/profile/test_frame.py` checks both give the same frame.
    """
    return frame_of_dumps(dump_profiles(profiles))


def dump_profiles(profiles: Iterable[Profile | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each profile validated (a dict as `Profile`) and dumped to Python values: what `to_frame` builds from."""
    validated = [p if isinstance(p, Profile) else Profile.model_validate(dict(p)) for p in profiles]
    return [p.model_dump(mode="python") for p in validated]


def _floats(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")


def _datetimes(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.datetime64("NaT") if v is None else np.datetime64(v, "s") for v in values],
                    dtype="datetime64[s]")  # fmt: skip


def frame_of_dumps(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The canonical frame of dumped profiles (`dump_profiles`)."""
    columns: dict[str, Any] = {}
    for name, info in FIELDS.items():
        values = [r.get(name) for r in rows]
        if info.kind in ("int", "float", "bool"):
            columns[name] = _floats(values)
        elif info.kind == "date":
            columns[name] = _datetimes(values)
        elif info.kind == "enum":
            columns[name] = enum_column(values, info.choices)
        else:
            columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


def _stored_defaults() -> dict[str, Any]:
    """The value `Profile` gives a field absent from a stored profile (None when it has no default)."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        f = Profile.model_fields[name]
        out[name] = None if f.is_required() or f.default_factory is not None else f.default
    return out


_DEFAULTS = _stored_defaults()


def frame_of_stored(profiles: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The canonical frame of profiles that were validated when stored (snapshots, in their JSON form).

    The same frame as `to_frame` (tests/profile/test_frame.py checks it on thousands of rows), without
    validating every profile again through pydantic — a stored profile is the `model_dump(mode="json")`
    of a validated one, so validating it again changes nothing but costs ~50 µs a row on a batch."""
    names = list(FIELDS)
    try:  # every field present (what `model_dump` stores): one C call a row, transposed by zip
        by_field: list[Sequence[Any]] = list(zip(*map(operator.itemgetter(*names), profiles), strict=True))
    except KeyError:
        by_field = [[p.get(name, _DEFAULTS[name]) for p in profiles] for name in names]
    if not profiles:
        by_field = [[] for _ in names]
    columns: dict[str, Any] = {}
    for (name, info), values in zip(FIELDS.items(), by_field, strict=True):
        if info.kind in ("int", "float", "bool"):
            columns[name] = np.array(values, dtype="float64")  # None -> NaN, True -> 1.0, in C
        elif info.kind == "date":
            columns[name] = np.array(values, dtype="datetime64[s]")  # ISO text -> date, None -> NaT
        elif info.kind == "enum":
            columns[name] = enum_column(values, info.choices)
        else:
            columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


def day_numbers(col: pd.Series | np.ndarray) -> np.ndarray:
    """A date column as float days since 1970-01-01, NaN where missing (differences are whole days)."""
    return days_of(dates_of(col))


def dates_of(col: pd.Series | np.ndarray) -> np.ndarray:
    """A date column as datetime64[D], NaT where missing."""
    dtype = col.dtype  # a datetime64 column (the canonical frame's) needs no parsing: 1 row costs ~0.1 ms less
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        values = col if isinstance(col, np.ndarray) else col.to_numpy()
    else:
        values = pd.to_datetime(col).to_numpy()
    out: np.ndarray = values.astype("datetime64[D]")
    return out


def days_of(dates: np.ndarray) -> np.ndarray:
    """datetime64[D] as float days since 1970-01-01, NaN where NaT."""
    out = dates.astype("int64").astype("float64")
    out[np.isnat(dates)] = np.nan
    return out


def encode_text(
    values: pd.Series | np.ndarray, choices: tuple[str, ...] | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """(int32 codes, vocabulary) of text values (a Series or array; None/NaN missing -> -1). An enum's
    codes index its `choices`, so a literal's code is known from the choices; values outside them
    (never after `coerce`) get codes of their own after the choices."""
    codes: np.ndarray
    uniques: pd.Index | np.ndarray | list[str]
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories  # already coded: no hashing
    elif isinstance(values, np.ndarray) and len(values) <= 16 and all(type(v) is str or v is None for v in values):
        # a few texts (one enterprise): `pd.factorize`'s codes (order of appearance, None -1), by a dict
        first: dict[str, int] = {}
        codes = np.array([-1 if v is None else first.setdefault(v, len(first)) for v in values], dtype=np.int64)
        uniques = list(first)
    else:
        codes, uniques = pd.factorize(values)
    return _recode(codes, [str(u) for u in uniques], choices)


def _recode(
    codes: np.ndarray, labels: Sequence[str], choices: tuple[str, ...] | None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes into `labels` (-1 missing) as codes into choices + the labels not among them."""
    vocab = tuple(choices or ()) + tuple(u for u in labels if u not in (choices or ()))
    index = {v: i for i, v in enumerate(vocab)}
    remap = np.array([index[u] for u in labels] + [-1], dtype=np.int32)
    return remap[codes], vocab  # -1 (missing) picks the trailing -1


class Columns:
    """The columns of a batch of profiles in the forms the decision reads, each converted once (issue 18):
    numbers and bools as float64 (NaN missing), dates as datetime64[D] (NaT missing) or float day
    numbers, text as int32 codes into a vocabulary (-1 missing, `encode_text`) or as objects (None
    missing). Derived fields are `put` in those forms. Subclasses read a column from their source
    (a frame, or dumped profiles) the first time it is asked for; the two sources give the same arrays
    for the same profiles (tests/test_decide_profiles.py)."""

    def __init__(self, n: int):
        self.n = n
        self._num: dict[str, np.ndarray] = {}
        self._dates: dict[str, np.ndarray] = {}
        self._days: dict[str, np.ndarray] = {}
        self._codes: dict[tuple[str, tuple[str, ...] | None], tuple[np.ndarray, tuple[str, ...]]] = {}
        self._objects: dict[str, np.ndarray] = {}
        self._put: set[str] = set()
        self._lazy: dict[str, Callable[[], None]] = {}

    # -- the source
    def _read_num(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def _read_dates(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def _read_codes(self, name: str, choices: tuple[str, ...] | None) -> tuple[np.ndarray, tuple[str, ...]]:
        raise NotImplementedError

    def _read_objects(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def has(self, name: str) -> bool:
        return name in self._put or name in self._lazy

    def _force(self, name: str) -> None:
        fn = self._lazy.pop(name, None)
        if fn is not None:
            fn()

    # -- reading
    def _cached(self, cache: dict[str, np.ndarray], name: str, read: Callable[[str], np.ndarray]) -> np.ndarray:
        """`cache[name]`: put there by a derived field computed when first read, or else read now."""
        hit = cache.get(name)
        if hit is None:
            self._force(name)
            hit = cache.get(name)
            if hit is None:
                hit = cache[name] = read(name)
        return hit

    def num(self, name: str) -> np.ndarray:
        return self._cached(self._num, name, self._read_num)

    def dates(self, name: str) -> np.ndarray:
        return self._cached(self._dates, name, self._read_dates)

    def days(self, name: str) -> np.ndarray:
        hit = self._days.get(name)
        if hit is None:
            hit = self._days[name] = days_of(self.dates(name))
        return hit

    def codes(self, name: str, choices: tuple[str, ...] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
        key = (name, tuple(choices) if choices else None)
        hit = self._codes.get(key)
        if hit is None and name in self._lazy:
            self._force(name)
            hit = self._codes.get(key)
        if hit is None:
            if name in self._objects and name in self._put:
                hit = encode_text(self._objects[name], key[1])
            else:
                hit = self._read_codes(name, key[1])
            self._codes[key] = hit
        return hit

    def prefixes(self, name: str, start: int, stop: int) -> np.ndarray:
        """`value[start:stop]` of a text column's values (objects; None where a value is not text)."""
        return np.array([u[start:stop] if isinstance(u, str) else None for u in self.objects(name)], dtype=object)

    def objects(self, name: str) -> np.ndarray:
        return self._cached(self._objects, name, self._read_objects)

    # -- derived fields
    def put_num(self, name: str, values: np.ndarray) -> None:
        self._num[name] = values
        self._put.add(name)

    def put_dates(self, name: str, values: np.ndarray) -> None:
        self._dates[name] = values
        self._put.add(name)

    def put_codes(self, name: str, codes: np.ndarray, choices: tuple[str, ...]) -> None:
        self._codes[(name, choices)] = (codes, choices)
        self._put.add(name)

    def put_objects(self, name: str, values: np.ndarray) -> None:
        self._objects[name] = values
        self._put.add(name)

    def put_later(self, name: str, compute: Callable[[], None]) -> None:
        """`compute()` puts `name` (a derived field few rule sets read) the first time it is read."""
        self._lazy[name] = compute


_NAT_AS_FLOAT = float(np.iinfo(np.int64).min)  # what float64 makes of a datetime64 / timedelta64 NaT object


def _object_floats(values: np.ndarray) -> np.ndarray:
    """`Series.to_numpy(dtype="float64", na_value=np.nan)` of an object column: NaN where `pd.isna`, the
    rest through float64. The usual column (bools and None, a raw frame's flags) takes a shorter way: None
    -> NaN, the rest converted; every other missing kind pd.isna knows converts to NaN (NaN, Decimal NaN)
    or is refused (pd.NA, pd.NaT) — except a datetime64 / timedelta64 NaT, which becomes int64's minimum:
    seeing that value (or any refusal) takes pandas' way."""
    try:
        none = np.asarray(values == None, dtype=bool)  # noqa: E711 (elementwise)
        out = np.full(len(values), np.nan)
        out[~none] = np.asarray(values[~none], dtype="float64")
        if not (out == _NAT_AS_FLOAT).any():
            return out
    except (TypeError, ValueError):
        pass
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = np.nan
    return np.asarray(values, dtype="float64")


class FrameColumns(Columns):
    """The columns of a profile frame (canonical or not), converted as the decision always has."""

    def __init__(self, frame: pd.DataFrame):
        super().__init__(len(frame))
        self.frame = frame

    def _read_num(self, name: str) -> np.ndarray:
        col = self.frame[name]
        if isinstance(col.dtype, np.dtype) and col.dtype == object:
            return _object_floats(col.to_numpy())
        out: np.ndarray = col.to_numpy(dtype="float64", na_value=np.nan)
        return out

    def prefixes(self, name: str, start: int, stop: int) -> np.ndarray:
        col = self.frame[name]
        if name not in self._objects and isinstance(col.array, pd.arrays.ArrowStringArray):
            # sliced by pyarrow, by code points as Python slices (checked on non-BMP and combining
            # characters), nulls None: ~4x faster than the values as objects and a Python loop
            sliced = pc.utf8_slice_codeunits(pa.array(col.array), start, stop)
            out: np.ndarray = sliced.to_numpy(zero_copy_only=False)
            return out
        return super().prefixes(name, start, stop)

    def _read_dates(self, name: str) -> np.ndarray:
        return dates_of(self.frame[name])

    def _read_codes(self, name: str, choices: tuple[str, ...] | None) -> tuple[np.ndarray, tuple[str, ...]]:
        return encode_text(self.frame[name], choices)

    def _read_objects(self, name: str) -> np.ndarray:
        values: np.ndarray = self.frame[name].to_numpy(dtype=object, copy=True)
        values[pd.isna(values)] = None
        return values


_NUMBERS = [name for name, info in FIELDS.items() if info.kind in ("int", "float", "bool")]
_DATES = [name for name, info in FIELDS.items() if info.kind == "date"]


class ProfileColumns(Columns):
    """The columns of dumped profiles (`dump_profiles`): the arrays `FrameColumns(to_frame(...))` gives,
    built from the Python values without a frame (one enterprise's decision: no pandas per column)."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]):
        super().__init__(len(rows))
        self.rows = rows

    @classmethod
    def of(cls, profiles: Iterable[Profile | Mapping[str, Any]]) -> ProfileColumns:
        """Profiles validated (`dump_profiles`) and their numbers and dates converted now, so a profile
        `to_frame` refuses (ValueError, OverflowError) is refused here, not later in the decision."""
        rows = dump_profiles(profiles)
        out = cls(rows)
        # every number and date converted now, in one array each (`_floats` / `_datetimes` per value)
        floats = np.array([[np.nan if (v := r.get(name)) is None else float(v) for r in rows] for name in _NUMBERS],
                          dtype="float64").reshape(len(_NUMBERS), len(rows))  # fmt: skip
        dates = np.array([[np.datetime64("NaT") if (v := r.get(name)) is None else np.datetime64(v, "s") for r in rows]
                          for name in _DATES], dtype="datetime64[s]").reshape(len(_DATES), len(rows))  # fmt: skip
        days = dates.astype("datetime64[D]")
        out._num.update(zip(_NUMBERS, floats, strict=True))
        out._dates.update(zip(_DATES, days, strict=True))
        return out

    def _values(self, name: str) -> list[Any]:
        return [r.get(name) for r in self.rows]

    def _read_num(self, name: str) -> np.ndarray:
        if FIELDS[name].kind not in ("int", "float", "bool"):
            raise TypeError(f"{name} is not a number")
        return _floats(self._values(name))

    def _read_dates(self, name: str) -> np.ndarray:
        if FIELDS[name].kind != "date":
            raise TypeError(f"{name} is not a date")
        out: np.ndarray = _datetimes(self._values(name)).astype("datetime64[D]")
        return out

    def _read_codes(self, name: str, choices: tuple[str, ...] | None) -> tuple[np.ndarray, tuple[str, ...]]:
        info = FIELDS[name]
        if info.kind == "enum":  # the canonical frame's Categorical: codes into the field's choices
            _, index = _enum_dtype(tuple(info.choices))
            codes = np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in self._values(name)],
                             dtype=np.int64)  # fmt: skip
            return _recode(codes, info.choices, choices)
        return encode_text(self.objects(name), choices)

    def _read_objects(self, name: str) -> np.ndarray:
        if FIELDS[name].kind != "str":
            raise TypeError(f"{name} is not free text")
        return np.array(self._values(name) + [None], dtype=object)[:-1]  # str or None; never split into characters


def uscc_valid_mask(codes: pd.Series) -> np.ndarray:
    """Vectorised GB 32100 check: True where a code is 18 valid chars with the right check char."""
    text = codes.fillna("").astype(str)
    ok = (text.str.len() == 18).to_numpy().copy()  # measured before the U18 cast, which would truncate longer codes
    arr = text.to_numpy().astype("U18")
    raw = np.frombuffer(np.char.encode(np.where(ok, arr, "0" * 18), "ascii", "replace"), dtype=np.uint8)
    raw = raw.reshape(len(arr), 18) if len(arr) else raw.reshape(0, 18)
    vals = ASCII_VALUE[raw]
    ok &= (vals >= 0).all(axis=1)
    ok &= ((raw[:, 2:8] >= ord("0")) & (raw[:, 2:8] <= ord("9"))).all(axis=1)
    ok &= vals[:, 17] == check_values(np.clip(vals[:, :17], 0, None))
    return ok


_FLAGS = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "是": 1.0, "否": 0.0}


def _per_value(col: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """`fn` of each value, called once per distinct value (an object column, None missing).

    Enums and flags repeat a handful of values a million times: calling `fn` per row was
    most of the cost of reading a large file."""
    codes, uniques = pd.factorize(col)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=col.index, dtype=object)  # code -1 (missing) picks None


def _as_float(col: pd.Series) -> pd.Series:
    if col.dtype == bool or pd.api.types.is_numeric_dtype(col.dtype):
        return col.astype("float64")
    mapped = _per_value(col, lambda v: _FLAGS.get(v.strip().lower(), v) if isinstance(v, str) else v)
    return pd.to_numeric(mapped, errors="coerce").astype("float64")


def _normalise_codes(col: pd.Series) -> pd.Series:
    """USCCs normalised (`uscc.normalise`); the usual already-clean code skips the Python call."""
    text = col.astype(object)
    clean = text.astype("string").str.fullmatch(r"[0-9A-Z]{18}").fillna(False).to_numpy(dtype=bool)
    out = text.where(text.notna(), None)
    messy = ~clean & out.notna().to_numpy()
    if messy.any():
        out[messy] = [normalise(v) if isinstance(v, str) else v for v in out[messy]]
    return out


@functools.cache
def _enum_dtype(choices: tuple[str, ...]) -> tuple[pd.CategoricalDtype, dict[str, int]]:
    return pd.CategoricalDtype(list(choices)), {v: i for i, v in enumerate(choices)}


def enum_column(values: Any, choices: tuple[str, ...]) -> pd.Series:
    """An enum column in its canonical form (values outside `choices` become missing).

    A few values (the API's one profile) are coded with a dict: building a Categorical from
    values costs ~0.2 ms a column however short it is, 2-3 ms over the enums of one profile."""
    dtype, index = _enum_dtype(tuple(choices))
    if len(values) <= 256:
        codes = np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in values], dtype=np.int64)
    else:
        # -1: missing or not a choice; pandas takes any list-like target, pandas-stubs narrow it to Index
        codes = dtype.categories.get_indexer(np.asarray(values, dtype=object))  # type: ignore[arg-type]
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False))


def _as_object(col: pd.Series) -> pd.Series:
    obj = col.astype(object)
    return obj.where(obj.notna(), None)


def coerce(df: pd.DataFrame) -> tuple[pd.DataFrame, list[RowError]]:
    """Return (canonical frame of the good rows, errors of the bad ones).

    Unknown columns are an error of the whole input (a typo must not pass silently).
    """
    unknown = [c for c in df.columns if c not in FIELDS]
    if unknown:
        raise ValueError(f"unknown profile columns: {', '.join(map(str, unknown))}")
    n = len(df)
    errors: list[RowError] = []
    bad = np.zeros(n, dtype=bool)
    out: dict[str, pd.Series] = {}

    def flag(mask: np.ndarray, column: str, reason: str) -> None:
        nonlocal bad
        for i in np.flatnonzero(mask):  # every refused row is reported, never only the first few
            errors.append(RowError(int(i), column, reason))
        bad |= mask

    for name, info in FIELDS.items():
        col = df[name].reset_index(drop=True) if name in df.columns else pd.Series([None] * n, dtype=object)
        if info.kind in ("int", "float", "bool"):
            raw_missing = col.isna().to_numpy()
            val = _as_float(col)
            flag(val.isna().to_numpy() & ~raw_missing, name, f"not a number: {info.kind} expected")
            if name in _NONNEG:
                flag((val < 0).to_numpy(), name, "must not be negative")
            if name in _BOUNDS:
                lo, hi = _BOUNDS[name]
                flag(((val < lo) | (val > hi)).to_numpy(), name, f"must be between {lo} and {hi}")
            if info.kind == "bool":
                flag((val.notna() & ~val.isin([0.0, 1.0])).to_numpy(), name, "must be true or false")
            out[name] = val
        elif info.kind == "date":
            raw_missing = col.isna().to_numpy()
            val = pd.to_datetime(col, errors="coerce")
            flag(val.isna().to_numpy() & ~raw_missing, name, "not a date (YYYY-MM-DD)")
            out[name] = val.astype("datetime64[s]")
        elif info.kind == "enum":
            val = _per_value(col, lambda v: v.strip().upper() if isinstance(v, str) else v)
            flag((val.notna() & ~val.isin(info.choices)).to_numpy(), name, f"must be one of {', '.join(info.choices)}")
            out[name] = enum_column(val, info.choices)
        else:
            out[name] = _as_object(col)

    out["uscc"] = _normalise_codes(out["uscc"])
    flag(~uscc_valid_mask(out["uscc"]), "uscc", "not a valid unified social credit code (GB 32100)")
    for req in ("name", "as_of"):
        flag(out[req].isna().to_numpy(), req, "required")

    frame = pd.DataFrame(out)
    if bad.any():
        frame = frame.loc[~bad].reset_index(drop=True)
    return frame, errors
