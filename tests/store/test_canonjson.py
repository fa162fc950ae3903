"""`canonjson` writes exactly the reference canonical JSON (`json.dumps`, sorted keys, compact) for any value:
the chain's hashes and the row bindings must not depend on which encoder wrote them."""

from __future__ import annotations

import datetime as dt
import enum
import random
import struct
import uuid

import numpy as np
import pytest

from parkcredit.store import canonjson


class Colour(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 3


def _same(obj: object) -> None:
    try:
        want = canonjson.reference(obj).encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        with pytest.raises(type(exc)):
            canonjson.dumps(obj)
        return
    assert canonjson.dumps(obj) == want
    assert canonjson.text(obj) == want.decode("utf-8")


def test_floats_of_every_kind() -> None:
    rnd = random.Random(18)
    values = [0.0, -0.0, 1e-4, 9.999e-5, 1e15, 1e16, 9.999999999999998e15, 5e-324, 1.7976931348623157e308,
              float("nan"), float("inf"), -float("inf"), 0.1, 1 / 3, 2.0**53]  # fmt: skip
    for _ in range(100_000):
        r = rnd.random()
        if r < 0.4:
            values.append(struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0])
        elif r < 0.7:
            values.append(rnd.uniform(-1e6, 1e6))
        else:
            values.append(round(rnd.uniform(-1e5, 1e5), rnd.randint(0, 6)))
    for chunk in range(0, len(values), 1000):
        part = values[chunk : chunk + 1000]
        _same(part)
        _same({f"k{i}": v for i, v in enumerate(part)})
    for v in values[:3000]:
        _same(v)
        _same({"x": v, "y": [v, {"z": v}]})


def test_every_code_point_in_strings_and_keys() -> None:
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    for start in range(0, len(points), 4096):
        text = "".join(points[start : start + 4096])
        _same(text)
        _same({text[:50]: text[50:100], "a": text[100:]})
    _same({"\ud800": 1})  # a lone surrogate: both refuse to encode it as UTF-8
    _same("x\udfff")


def test_keys_sort_by_code_point() -> None:
    rnd = random.Random(7)
    keys = ["".join(chr(rnd.choice([rnd.randint(32, 126), rnd.randint(0x4E00, 0x9FFF), rnd.randint(0x10000, 0x10FFFF)]))
                    for _ in range(rnd.randint(0, 4))) for _ in range(2000)]  # fmt: skip
    _same(dict.fromkeys(keys, 1))


def test_values_orjson_would_write_otherwise() -> None:
    odd: list[object] = [
        (1, 2), dt.date(2026, 1, 2), dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), Colour.RED, Size.BIG,
        np.float64(1.5), np.int64(3), np.bool_(True), uuid.UUID(int=5), 2**64, -(2**63) - 1, 2**70, {1: "a"},
        {"a": {2: 3}}, b"bytes", {"s": {1, 2}}, True, None, 10**15, [[[[]]]], {"": ""},
    ]  # fmt: skip
    for v in odd:
        _same(v)
        _same({"v": v, "w": [v]})


def test_json_columns_keep_what_json_would() -> None:
    """The engine's JSON serialiser: the same value back after a round trip, NaN included (orjson alone
    would write null), and key order kept."""
    for value in [{"b": 1, "a": [1.5, None, "中文"]}, {"x": float("nan"), "y": float("inf")}, [1e-7, 1e300, 2**70],
                  {"d": "2026-01-02"}, None, "text"]:  # fmt: skip
        text = canonjson.column_text(value)
        back = canonjson.loads(text)
        assert canonjson.reference(back) == canonjson.reference(value)
    assert canonjson.column_text({"b": 1, "a": 2}) == '{"b":1,"a":2}'
    assert canonjson.loads(b'{"a":NaN}')["a"] != canonjson.loads(b'{"a":NaN}')["a"]  # NaN, not null


def test_big_integers_read_back_exact_and_plain_text_is_a_fixed_point() -> None:
    for text in ["12345678901234567890123", '{"a": 123456789012345678901}', "[1, -99999999999999999999]",
                 '{"h":"0123456789012345678901234","n":[5]}']:  # fmt: skip
        assert canonjson.loads(text) == __import__("json").loads(text)
        assert type(canonjson.loads(text)) is type(__import__("json").loads(text))
    rnd = random.Random(3)
    for _ in range(500):
        payload = {f"k{rnd.randint(0, 99)}": [rnd.choice([rnd.random() * 1000, rnd.randint(-(2**60), 2**60), "中",
                                                            None, True, {"x": rnd.random()}]) for _ in range(5)]
                   for _ in range(5)}  # fmt: skip
        body, plain = canonjson.text_plain(payload)
        assert body == canonjson.reference(payload)
        if plain:
            assert canonjson.text(canonjson.loads(body)) == body
    assert canonjson.text_plain({1: "a"}) == ('{"1":"a"}', False)  # int keys: not plain
