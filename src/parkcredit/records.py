"""Decision records of a whole batch at once: the canonical JSON bytes of every `Decisions.record(i)`.

`canonical_records(decisions)` returns, for every row, exactly the bytes of
`decision.canonical_json(record).encode()` for the record the per-row path builds — replay compares
them byte for byte — without building a Python dict per row. It works column by column:

- a *skeleton* of one record is built once per batch with a placeholder wherever a value varies by
  row, and serialised by `canonical_json` itself, so key order, constants and their formatting are
  the reference function's own; the text between placeholders becomes constant byte strings;
- every placeholder is filled by a *fragment column*: the JSON text of that value for every row,
  made by a vectorised formatter (floats rounded exactly as Python's `round` and printed as
  `float.__repr__`, through orjson with the few values it prints differently fixed; integers and
  strings through orjson; texts that depend on a bin or a reason gathered from per-bin tables;
  lists of gates from one text per distinct hit pattern);
- each row's fragments are joined by one `bytes.join` over the columns zipped (joining the whole grid
  and splitting it on NUL, as before, copied every record twice: 2.7x slower).

A self-check compares the first row with the per-row path on every call: should the record gain a
field this module does not know (the record is defined by `Decisions.record`), the batch falls back
to the per-row path with a warning instead of storing different bytes. `tests/test_records_vectorised.py`
compares both paths on thousands of rows of every product, with and without the model.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from parkcredit import decision as _decision
from parkcredit.decision import MAX_REASONS, Decisions, _case_names, _jsonable, _model_groups, canonical_json

__all__ = ["canonical_records", "float_texts", "per_row_records", "round_exact"]

log = logging.getLogger("parkcredit")

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_HOLE = re.compile(r'"\\u0000(\d+)\\u0000"')  # a placeholder as json.dumps writes "\x00<k>\x00"
_NULL, _TRUE, _FALSE, _EMPTY = b"null", b"true", b"false", b""


def round_exact(x: np.ndarray, digits: int) -> np.ndarray:
    """`round(float(v), digits)` of every element, vectorised, equal to Python's to the last bit.

    rint(x·10^d) / 10^d is Python's correctly rounded result whenever x·10^d is not within an ulp or
    two of a half-integer (the division of two exact doubles is correctly rounded; 10^d is exact for
    d ≤ 22); the few values that are (and non-finite or huge ones) are rounded by Python itself."""
    x = np.asarray(x, dtype="float64")
    p = 10.0**digits
    with np.errstate(all="ignore"):
        t = x * p
        y = np.rint(t) / p
        a = np.abs(t)
        unsure = ~(np.abs(t - (np.floor(t) + 0.5)) > 2.0 * np.spacing(a)) | ~(a < 2.0**52)
    if unsure.any():
        y = y.copy() if y.base is not None else y
        at = np.flatnonzero(unsure.ravel())
        flat = y.reshape(-1)
        flat[at] = [round(v, digits) for v in x.reshape(-1)[at].tolist()]
    return y


def float_texts(y: np.ndarray) -> np.ndarray:
    """JSON text of every float as `json.dumps` writes it (`float.__repr__`, NaN, Infinity), as bytes.

    orjson prints the same shortest round-trip digits as `repr`, but positionally where `repr`
    switches to an exponent (|v| < 1e-4); those, non-finite and very large values go through json."""
    flat = np.ascontiguousarray(y, dtype="float64").reshape(-1)
    out = np.empty(len(flat), dtype=object)
    if len(flat) == 0:
        return out
    out[:] = orjson.dumps(flat, option=_NUMPY)[1:-1].split(b",")
    a = np.abs(flat)
    with np.errstate(invalid="ignore"):
        odd = ~np.isfinite(flat) | ((a < 1e-4) & (flat != 0)) | (a >= 1e15)
    for i in np.flatnonzero(odd).tolist():
        out[i] = json.dumps(float(flat[i])).encode()
    return out


def _rounded(x: Any, digits: int) -> np.ndarray:
    return float_texts(round_exact(np.asarray(x, dtype="float64"), digits))


def _int_texts(x: np.ndarray) -> np.ndarray:
    flat = np.ascontiguousarray(x, dtype=np.int64).reshape(-1)
    out = np.empty(len(flat), dtype=object)
    if len(flat):
        out[:] = orjson.dumps(flat, option=_NUMPY)[1:-1].split(b",")
    return out


def _dumps(value: Any) -> bytes:
    """One value's canonical JSON bytes (orjson writes str, int, bool and None as json.dumps does)."""
    if isinstance(value, float):
        return json.dumps(value).encode()
    if isinstance(value, dict | list | tuple):
        return canonical_json(value).encode()  # type: ignore[arg-type]
    try:
        return orjson.dumps(value)
    except TypeError:  # an int beyond 64 bits, a lone surrogate: json decides (and refuses alike)
        return json.dumps(value, ensure_ascii=False).encode()


def _by_value(values: Any, convert: Any = None) -> np.ndarray:
    """Texts of a column with few distinct values: each distinct value formatted once, gathered."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = [_dumps(convert(u) if convert else u) for u in uniques]
    table[-1] = _dumps(convert(None) if convert else None)  # code -1: missing
    out: np.ndarray = table[codes]
    return out


def _input_texts(col: pd.Series) -> np.ndarray:
    """`_dumps(_jsonable(v))` of every value of a derived-frame column, by dtype."""
    dtype = col.dtype
    if dtype == np.float64:
        x = col.to_numpy(dtype="float64")
        out = np.empty(len(x), dtype=object)
        nan = np.isnan(x)
        with np.errstate(invalid="ignore"):
            whole = ~nan & (x == np.floor(x)) & (np.abs(x) < 2.0**53)
        out[nan] = _NULL
        out[whole] = _int_texts(x[whole].astype(np.int64))
        rest = ~nan & ~whole
        out[rest] = _rounded(x[rest], 6)
        return out
    if isinstance(dtype, pd.Int64Dtype | pd.Int32Dtype | pd.Int16Dtype | pd.Int8Dtype):
        missing = col.isna().to_numpy()
        out = _int_texts(col.to_numpy(dtype=np.int64, na_value=0))
        out[missing] = _NULL
        return out
    if dtype in (np.dtype(object), np.dtype(bool)):  # mixed Python values: exactly the per-row conversion
        return np.array([_dumps(_jsonable(v)) for v in col.tolist()] or [], dtype=object)
    return _by_value(col, _jsonable)  # strings, categories, dates: few distinct values


@dataclass
class _Gather:
    """A fragment per row picked from a small table (a bin's or a reason's text) by `index`."""

    table: list[bytes]
    index: np.ndarray

    def column(self) -> np.ndarray:
        t = np.empty(len(self.table), dtype=object)
        t[:] = self.table
        out: np.ndarray = t[self.index]
        return out


Part = bytes | np.ndarray | _Gather  # a constant, one fragment per row (object array of bytes), or a gather


def _merge(parts: list[Part]) -> list[bytes | np.ndarray]:
    """Constants and gathers by the same index folded together: fewer, longer pieces to join per row."""
    merged: list[Part] = []
    for p in parts:
        last = merged[-1] if merged else None
        if isinstance(p, bytes):
            if isinstance(last, bytes):
                merged[-1] = last + p
            elif isinstance(last, _Gather):
                merged[-1] = _Gather([t + p for t in last.table], last.index)
            else:
                merged.append(p)
        elif isinstance(p, _Gather):
            if isinstance(last, _Gather) and last.index is p.index:
                merged[-1] = _Gather([a + b for a, b in zip(last.table, p.table, strict=True)], p.index)
            elif isinstance(last, bytes):
                merged[-1] = _Gather([last + t for t in p.table], p.index)
            else:
                merged.append(p)
        else:
            merged.append(p)
    return [p.column() if isinstance(p, _Gather) else p for p in merged]


class _Skeleton:
    """A record with placeholders, and the fragment parts that fill each placeholder."""

    def __init__(self, n: int):
        self.n = n
        self.holes: list[list[Part]] = []

    def hole(self, *parts: Part) -> str:
        self.holes.append(list(parts))
        return f"\x00{len(self.holes) - 1}\x00"

    def table(self, texts: Sequence[bytes], index: np.ndarray) -> _Gather:
        return _Gather(list(texts), index)

    def parts(self, record: dict[str, Any]) -> list[bytes | np.ndarray]:
        pieces = _HOLE.split(canonical_json(record))
        out: list[Part] = []
        for k, piece in enumerate(pieces):
            if k % 2 == 0:
                out.append(piece.encode())
            else:
                out.extend(self.holes[int(piece)])
        return _merge(out)


def _hit_lists(sk: _Skeleton, d: Decisions, kind: str) -> np.ndarray:
    """`[{"code","zh","en"}, …]` of each row's hit gates of `kind`: one text per distinct hit pattern."""
    cols = [j for j, g in enumerate(d.gates) if g.kind == kind]
    out = np.empty(sk.n, dtype=object)
    out[:] = b"[]"
    if not cols:
        return out
    hits = np.asarray(d.gate_hits[:, cols], dtype=bool)
    any_hit = hits.any(axis=1)
    if not any_hit.any():
        return out
    sub = hits[any_hit]
    bits = np.packbits(sub, axis=1, bitorder="little")
    keys = bits.view(np.dtype((np.void, bits.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    texts = np.empty(len(first), dtype=object)
    texts[:] = [
        _dumps([{"code": d.gates[cols[j]].code, "zh": d.gates[cols[j]].zh, "en": d.gates[cols[j]].en}
                for j in np.flatnonzero(sub[i]).tolist()])
        for i in first.tolist()
    ]  # fmt: skip
    out[any_hit] = texts[inverse.reshape(-1)]
    return out


def _entry_table(
    sk: _Skeleton, entries: list[dict[str, Any]], value_key: list[str | None]
) -> tuple[list[bytes], list[bytes]]:
    """Text before and after the value of each reason entry (all of it before when it has no value)."""
    pre, post = [], []
    for entry, key in zip(entries, value_key, strict=True):
        if key is None:
            pre.append(canonical_json(entry).encode())
            post.append(_EMPTY)
        else:
            a, b = canonical_json({**entry, key: "\x00V\x00"}).split('"\\u0000V\\u0000"')
            pre.append(a.encode())
            post.append(b.encode())
    return pre, post


def _list_of_entries(
    sk: _Skeleton, index: np.ndarray, valid: np.ndarray, values: np.ndarray, pre: list[bytes], post: list[bytes]
) -> list[Part]:
    """Parts of `[e0,e1,…]`: entry r of a row is pre[index] + value + post[index] where valid."""
    parts: list[Part] = [b"["]
    has_value = np.array([p != _EMPTY for p in post] + [False], dtype=bool)
    none = len(pre)  # the empty entry: a row with fewer entries
    for r in range(index.shape[1]):
        idx = np.where(valid[:, r], index[:, r], none)
        head = [b"," + p for p in pre] if r > 0 else list(pre)
        val = _rounded(values[:, r], 4)
        val[~has_value[idx]] = _EMPTY
        parts += [sk.table([*head, _EMPTY], idx), val, sk.table([*post, _EMPTY], idx)]
    parts.append(b"]")
    return parts


def _reasons(sk: _Skeleton, d: Decisions) -> list[Part]:
    """The reasons list, as `Decisions.record` builds it from reason_slots / reason_values."""
    n_gates, chars = len(d.gates), d.ruleset.characteristics
    entries: list[dict[str, Any]] = []
    keys: list[str | None] = []

    def add(code: str, kind: str, zh: str, en: str) -> None:
        entries.append({"code": code, "kind": kind, "zh": zh, "en": en})
        keys.append("points_lost" if kind == "score" else "logodds" if kind == "model" else None)

    for g in d.gates:
        add(g.code, g.kind, g.zh, g.en)
    offsets = []
    for c in chars:
        offsets.append(len(entries))
        n_bins = len(c.codes)
        for b in [*range(n_bins - 1), -1]:  # the missing bin is stored last
            zh, en = c.label(b)
            add(c.codes[b], "score", f"{c.spec.zh}：{zh}", f"{c.spec.en}: {en}")
    model_start = len(entries)
    if d.model is not None:
        for code in _model_groups(d.model):
            zh, en = d.model.group_text.get(code, (code, code))
            add(code, "model", zh, en)
    slots = np.asarray(d.reason_slots, dtype=np.int64)
    valid = np.cumprod(slots >= 0, axis=1).astype(bool)  # the per-row path stops at the first empty slot
    index = np.zeros(slots.shape, dtype=np.int64)
    is_gate = valid & (slots < n_gates)
    index[is_gate] = slots[is_gate]
    j = slots - n_gates
    is_char = valid & (j >= 0) & (j < len(chars))
    if is_char.any():
        rows, cols = np.nonzero(is_char)
        jj = j[rows, cols]
        n_codes = np.array([len(c.codes) for c in chars])
        b = d.bins[rows, jj].astype(np.int64) % n_codes[jj]
        index[rows, cols] = np.array(offsets)[jj] + b
    is_model = valid & (j >= len(chars))
    index[is_model] = model_start + j[is_model] - len(chars)
    pre, post = _entry_table(sk, entries, keys)
    return _list_of_entries(sk, index, valid, np.asarray(d.reason_values, dtype="float64"), pre, post)


def _model_view(sk: _Skeleton, d: Decisions) -> list[Part]:
    """`Decisions.model_view` of every row: the top reason groups of an advisory model's log-odds."""
    deciding = getattr(_decision, "MODEL_DECIDES", ())
    m = d.model
    if m is None or d.model_info.get("mode") in deciding:
        return [b"[]"]
    groups = _model_groups(m)
    by_group = np.zeros((sk.n, len(groups)))
    for f, g in enumerate(m.groups):  # feature order, as np.add.at sums them
        by_group[:, groups.index(g)] += m.contributions[:, f]
    k = min(MAX_REASONS, len(groups))
    order = np.argsort(np.where(by_group > 1e-9, -by_group, np.inf), axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(by_group, order, axis=1)
    valid = np.cumprod(top > 1e-9, axis=1).astype(bool)
    entries: list[dict[str, Any]] = []
    keys: list[str | None] = []
    for code in groups:
        zh, en = m.group_text.get(code, (code, code))
        entries.append({"code": code, "kind": "model", "zh": zh, "en": en})
        keys.append("logodds")
    pre, post = _entry_table(sk, entries, keys)
    return _list_of_entries(sk, order, valid, top, pre, post)


def _skeleton(
    d: Decisions, extra: Mapping[str, Sequence[Any]], model_info: Mapping[str, Any]
) -> tuple[_Skeleton, dict[str, Any]]:
    n, rs = len(d), d.ruleset
    sk = _Skeleton(n)
    summary, inputs = d.summary, d.inputs
    input_cache: dict[str, np.ndarray] = {}

    def input_hole(name: str) -> str | None:
        if name not in inputs.columns:
            return None  # `inputs.get(name)` of the per-row path
        if name not in input_cache:
            input_cache[name] = _input_texts(inputs[name])
        return sk.hole(input_cache[name])

    dim_scores = {dim.id: _rounded(summary[f"score_{dim.id}"], 4) for dim in rs.spec.dimensions}
    dims = []
    for di, dim in enumerate(rs.spec.dimensions):
        chars = []
        for c_idx, c in enumerate(rs.characteristics):
            if c.dimension != di:
                continue
            b = np.asarray(d.bins[:, c_idx], dtype=np.int64)  # -1 (missing) picks the last entry
            outcomes = c.spec.outcomes()
            n_bins = len(c.codes) - 1
            labels = [c.label(k) for k in [*range(n_bins), -1]]
            ids = [outcomes[k].id for k in range(n_bins)] + ["MISSING"]
            names = sorted((c.value.names if c.value else set()) | _case_names(c))
            if np.array_equal(d.points[:, c_idx], c.points[b]):  # points are the bin's: one text per bin
                points: Part = sk.table(list(_rounded(c.points, 4)), b)
            else:
                points = _rounded(d.points[:, c_idx], 4)
            chars.append(
                {
                    "id": c.spec.id,
                    "zh": c.spec.zh,
                    "en": c.spec.en,
                    "inputs": {nm: input_hole(nm) for nm in names if nm != "as_of"},
                    "bin": sk.hole(sk.table([_dumps(x) for x in ids], b)),
                    "bin_zh": sk.hole(sk.table([_dumps(zh) for zh, _ in labels], b)),
                    "bin_en": sk.hole(sk.table([_dumps(en) for _, en in labels], b)),
                    "points": sk.hole(points),
                    "max_points": round(float(c.max_points), 4),
                }
            )
        dims.append(
            {"id": dim.id, "zh": dim.zh, "en": dim.en, "weight": dim.weight, "floor": dim.floor,
             "score": sk.hole(dim_scores[dim.id]), "characteristics": chars}
        )  # fmt: skip
    eligible = np.asarray(summary["eligible"], dtype=bool)
    pd_ = summary["pd"].to_numpy(dtype="float64")
    pd_texts = _rounded(pd_, 6)
    pd_texts[np.isnan(pd_)] = _NULL
    record: dict[str, Any] = {
        "uscc": sk.hole(_by_value(summary["uscc"])),
        "product": rs.product,
        "as_of": sk.hole(_by_value(inputs["as_of"], _jsonable)),
        "ruleset": rs.describe(),
        "model": dict(model_info),
        "status": sk.hole(_by_value(summary["status"])),
        "eligible": sk.hole(np.where(eligible, _TRUE, _FALSE).astype(object)),
        "limit_yuan": sk.hole(_int_texts(summary["limit_yuan"].to_numpy(dtype=np.int64))),
        "band": sk.hole(_by_value(summary["band"])),
        "total_score": sk.hole(_rounded(summary["total_score"], 4)),
        "dimension_scores": {dim.id: sk.hole(dim_scores[dim.id]) for dim in rs.spec.dimensions},
        "preconditions_failed": sk.hole(_hit_lists(sk, d, "precondition")),
        "knockouts": sk.hole(_hit_lists(sk, d, "knockout")),
        "pd": sk.hole(pd_texts),
        "valid_until": sk.hole(_by_value(summary["valid_until"], _jsonable)),
        "reasons": sk.hole(*_reasons(sk, d)),
        "trace": dims,
        "contributions": None,
        "model_view": sk.hole(*_model_view(sk, d)),
    }
    if d.model is not None:
        m = d.model
        contrib = _rounded(m.contributions, 9).reshape(np.shape(m.contributions))
        record["contributions"] = {
            "base_value": round(float(m.base_value), 9),
            "raw_score": sk.hole(_rounded(m.raw, 9)),
            "features": {f: sk.hole(contrib[:, j]) for j, f in enumerate(m.features)},
        }
    for key, values in extra.items():
        record[key] = sk.hole(_extra_texts(values))
    return sk, record


def _extra_texts(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    if all(type(v) is int for v in values) and all(-(2**63) <= v < 2**63 for v in values):
        return _int_texts(np.asarray(values, dtype=np.int64))
    if all(type(v) is str for v in values):
        try:
            out[:] = list(map(orjson.dumps, values))
            return out
        except TypeError:  # a lone surrogate: json decides
            pass
    out[:] = [_dumps(v) for v in values]
    return out


def per_row_records(
    d: Decisions, *, extra: Mapping[str, Sequence[Any]] | None = None, model_info: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The records of the per-row path (`Decisions.record(i)`), with `extra` keys and `model_info` set."""
    return [_record(d, i, extra or {}, model_info) for i in range(len(d))]


def _record(
    d: Decisions, i: int, extra: Mapping[str, Sequence[Any]], model_info: Mapping[str, Any] | None
) -> dict[str, Any]:
    rec = d.record(i)
    if model_info is not None:
        rec["model"] = dict(model_info)
    return {**{k: v[i] for k, v in extra.items()}, **rec}


def canonical_records(
    d: Decisions, *, extra: Mapping[str, Sequence[Any]] | None = None, model_info: Mapping[str, Any] | None = None
) -> list[bytes]:
    """UTF-8 canonical JSON of every row's record, byte for byte `canonical_json(record).encode()` of
    `per_row_records(d, extra=extra, model_info=model_info)`, built column by column.

    `extra` adds top-level keys with one value per row (the store's `decision_id`, `snapshot_id`);
    `model_info` replaces the record's `model` (the service says why it has no model)."""
    n = len(d)
    if n == 0:
        return []
    extra = dict(extra or {})
    info = dict(model_info if model_info is not None else d.model_info)
    sk, skeleton = _skeleton(d, extra, info)
    sample = _record(d, 0, extra, model_info)
    if set(sample) != set(skeleton):  # the record changed shape: store what the per-row path builds
        skeleton = {k: v for k, v in skeleton.items() if k in sample}
    parts = sk.parts(skeleton)
    # one join per row over the columns zipped (2.7x faster than joining the whole grid and splitting it)
    columns = [[part] * n if isinstance(part, bytes) else part for part in parts]
    texts = [b"".join(row) for row in zip(*columns, strict=True)]
    if texts[0] != canonical_json(sample).encode():
        log.warning("vectorised decision records differ from Decisions.record; built row by row instead")
        return [canonical_json(r).encode() for r in per_row_records(d, extra=extra, model_info=model_info)]
    return texts
