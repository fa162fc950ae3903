"""The canonical JSON that the audit chain and row bindings hash, fast and byte for byte the same.

The reference form is `json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
default=str)`. orjson writes the same bytes for plain data — dicts with str keys, lists, str, int,
bool, None, and finite floats between 1e-4 and 1e16 in magnitude (there both print the shortest
round-tripping digits positionally; outside it `repr` switches to an exponent, orjson differently;
checked on 100,000 floats and every code point in tests/store/test_canonjson.py) — a profile in
~10 µs against ~21-29 µs, the check that the data is plain included. Anything else (tuples, dates,
enums, float subclasses such as numpy's, non-finite or extreme floats, int keys, ints beyond 64 bits,
lone surrogates) takes the reference path, so the output never depends on which path was taken.

`column_text` and `loads` are the engine's JSON-column serialiser and parser (store/db.py): orjson
where it gives the same values, json otherwise.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any

import orjson

__all__ = ["column_text", "dumps", "loads", "reference", "text", "text_plain"]

_OPTIONS = orjson.OPT_SORT_KEYS
_SCALARS = frozenset({str, int, bool, type(None)})
_KNOWN = _SCALARS | {float, dict, list}


def reference(obj: Any) -> str:
    """The reference canonical text (`json.dumps`)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _plain_values(values: Any) -> bool:
    kinds = set(map(type, values))
    if kinds <= _SCALARS:  # the common case, checked at C speed
        return True
    if not kinds <= _KNOWN:
        return False
    # only the floats, dicts and lists are looked at one by one (`filter` picks them at C speed; the kinds are
    # exactly float / dict / list here, no subclass, so `isinstance` picks exactly those)
    if float in kinds:
        for v in filter(_IS_FLOAT, values):
            if not (v == 0.0 or 1e-4 <= abs(v) < 1e16):  # NaN and ±inf fail both comparisons
                return False
    if dict in kinds and not _plain_dicts(list(filter(_IS_DICT, values))):
        return False
    return list not in kinds or all(map(_plain, filter(_IS_LIST, values)))


def _plain_dicts(dicts: list[dict[Any, Any]]) -> bool:
    """`all(map(_plain, dicts))`; for many small dicts of str keys and scalar values (an audit entry's row
    bindings) every key and value is looked at in one pass at C speed."""
    if (
        set(map(type, chain.from_iterable(dicts))) <= _STR
        and set(map(type, chain.from_iterable(map(dict.values, dicts)))) <= _SCALARS
    ):
        return True
    return all(map(_plain, dicts))


_STR = frozenset({str})
_IS_FLOAT = float.__instancecheck__
_IS_DICT = dict.__instancecheck__
_IS_LIST = list.__instancecheck__


def _plain(obj: Any) -> bool:
    """Whether orjson writes `obj` exactly as the reference does (see the module docstring)."""
    kind = type(obj)
    if kind is dict:
        return set(map(type, obj)) <= _STR and _plain_values(obj.values())
    if kind is list:
        return _plain_values(obj)
    return _plain_values((obj,))


def dumps(obj: Any) -> bytes:
    """The canonical JSON of `obj` as UTF-8 bytes."""
    if _plain(obj):
        try:
            return orjson.dumps(obj, option=_OPTIONS)
        except orjson.JSONEncodeError:  # ints beyond 64 bits, lone surrogates, deep nesting
            pass
    return reference(obj).encode("utf-8")


def text(obj: Any) -> str:
    """The canonical JSON of `obj` as text."""
    return text_plain(obj)[0]


def text_plain(obj: Any) -> tuple[str, bool]:
    """(the canonical JSON of `obj`, whether `obj` is plain data). For plain data the text is a fixed point:
    parsing it and writing it again gives the same text (no int keys to re-sort, no value that changes)."""
    if _plain(obj):
        try:
            return orjson.dumps(obj, option=_OPTIONS).decode("utf-8"), True
        except orjson.JSONEncodeError:
            pass
    return reference(obj), False


def column_text(obj: Any) -> str:
    """The text a JSON column stores (the engine's `json_serializer`): orjson for plain data, else `json.dumps`
    (so NaN stays NaN rather than becoming null). Key order is kept; only the whitespace differs from
    `json.dumps`, and every reader parses the text."""
    if _plain(obj):
        try:
            return orjson.dumps(obj).decode("utf-8")
        except orjson.JSONEncodeError:
            pass
    return json.dumps(obj)


def loads(data: str | bytes) -> Any:
    """JSON text parsed by orjson; by `json.loads` what orjson refuses (NaN, Infinity) or may have read
    differently: orjson reads an integer beyond 64 bits as a float, so a value with any float outside
    `_plain`'s range (rare: 1e16 and more in magnitude, or below 1e-4) is read again by json."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
    if _plain(value):
        return value
    return json.loads(data)
