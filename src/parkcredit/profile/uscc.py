"""统一社会信用代码 (Unified Social Credit Code, GB 32100-2015): normalise and validate.

Hard errors (the code is refused): length != 18, a character outside the 31-character
alphabet (no I, O, S, V, Z), positions 3-8 not digits, wrong check character (position 18).
Soft warning (recorded, never blocking): the inner GB 11714 organisation-code check of
positions 9-17 fails - legal early pilot codes exist that fail it (DOMAIN.md §1.4).
Positions 1-2 may be letters (GB 32100 allows it; python-stdnum wrongly rejects them).
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "ALPHABET",
    "ASCII_VALUE",
    "ORG_ASCII_VALUE",
    "Uscc",
    "UsccError",
    "check_char",
    "check_values",
    "org_check_ascii",
    "org_check_char",
    "parse_uscc",
    "uscc_warnings",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters, values 0..30
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
_ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # GB 11714 value table (full Latin alphabet)
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def _ascii_table(chars: str) -> np.ndarray:
    table = np.full(256, -1, dtype=np.int64)
    for value, ch in enumerate(chars):
        table[ord(ch)] = value
    return table


# The same tables for numpy arrays of ASCII bytes (a million codes at a time: the importer's
# validation in `profile.frame`, the generator in `synth`): byte -> value, -1 outside the alphabet.
ASCII_VALUE = _ascii_table(ALPHABET)
ORG_ASCII_VALUE = _ascii_table(_ORG_CHARS)
_WEIGHTS_NP = np.array(_WEIGHTS, dtype=np.int64)
_ORG_WEIGHTS_NP = np.array(_ORG_WEIGHTS, dtype=np.int64)


class UsccError(ValueError):
    """A code that is not a valid USCC; `rule` names the check that failed."""

    def __init__(self, rule: str, message_en: str, message_zh: str) -> None:
        super().__init__(f"{message_en} / {message_zh}")
        self.rule = rule
        self.message_en = message_en
        self.message_zh = message_zh


def check_char(body17: str) -> str:
    """The GB 32100 check character (position 18) for the first 17 characters."""
    total = sum(_VALUE[c] * w for c, w in zip(body17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_char(body8: str) -> str:
    """The GB 11714 check character for an 8-character organisation-code body."""
    total = sum(_ORG_CHARS.index(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def check_values(values: np.ndarray) -> np.ndarray:
    """`check_char` vectorised: (n, 17) alphabet values (0..30) -> (n,) values of the check characters."""
    total = (values * _WEIGHTS_NP).sum(axis=1)
    check: np.ndarray = (31 - total % 31) % 31
    return check


def org_check_ascii(values: np.ndarray) -> np.ndarray:
    """`org_check_char` vectorised: (n, 8) GB 11714 values (0..35) -> (n,) ASCII codes of the check characters."""
    c9 = 11 - (values * _ORG_WEIGHTS_NP).sum(axis=1) % 11  # 1..11; 10 -> 'X', 11 -> '0'
    return np.where(c9 == 10, ord("X"), np.where(c9 == 11, ord("0"), c9 + ord("0")))


def normalise(raw: str) -> str:
    """Full-width -> half-width (NFKC), drop spaces and hyphens, upper-case."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(ch for ch in text if ch not in " \t\r\n-").upper()


def parse_uscc(raw: str) -> Uscc:
    """Normalise and validate `raw`; raise `UsccError` naming the failed rule."""
    code = normalise(raw)
    if len(code) != 18:
        raise UsccError("length", f"must be 18 characters, got {len(code)}", f"长度应为18位，实际为{len(code)}位")
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        chars = "".join(bad)
        raise UsccError(
            "charset",
            f"illegal character(s) {chars!r} (allowed: 0-9 and A-Z except I, O, S, V, Z)",
            f"含非法字符 {chars}（不得使用 I、O、S、V、Z）",
        )
    if not code[2:8].isdigit():
        raise UsccError(
            "region",
            f"positions 3-8 (administrative division code) must be digits, got {code[2:8]!r}",
            f"第3-8位（登记管理机关行政区划码）应为数字，实际为 {code[2:8]}",
        )
    expected = check_char(code[:17])
    if code[17] != expected:
        raise UsccError(
            "check_char",
            f"check character should be {expected}, got {code[17]}",
            f"校验码应为 {expected}，实际为 {code[17]}",
        )
    return Uscc(code)


def uscc_warnings(code: str) -> list[str]:
    """Soft findings on an already valid code (never a reason to refuse it)."""
    body = code[8:16]
    if all(c in _ORG_CHARS for c in code[8:17]) and org_check_char(body) != code[16]:
        return [f"inner GB 11714 organisation-code check fails (expected {org_check_char(body)})"]
    return []


class Uscc(str):
    """统一社会信用代码 (GB 32100-2015), normalised and check-verified."""

    __slots__ = ()

    @property
    def entity_type(self) -> str:
        """Positions 1-2: registration authority + entity type (91 = 企业)."""
        return self[:2]

    @property
    def region(self) -> str:
        """Positions 3-8: GB/T 2260 code of the registering authority's area."""
        return self[2:8]

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        def validate(value: Any) -> Uscc:
            if isinstance(value, Uscc):
                return value
            if not isinstance(value, str):
                raise PydanticCustomError("uscc", "USCC must be a string / 统一社会信用代码应为字符串")
            try:
                return parse_uscc(value)
            except UsccError as exc:
                raise PydanticCustomError("uscc_" + exc.rule, str(exc)) from None

        return core_schema.no_info_plain_validator_function(
            validate,
            json_schema_input_schema=core_schema.str_schema(min_length=18, max_length=30, pattern=r"^[0-9A-Za-z\- ]+$"),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )
