"""Import enterprise profiles from the spreadsheets departments and the committee make (CSV / XLSX) — 企业画像导入.

`import_table(source)` (a path, a frame of cells, or `Upload(data, filename)`) finds the header row,
maps its headers to profile fields through the header registry (`profile.headers`), parses every
cell, validates every value against the `Profile` schema, and returns an `ImportResult`:

- `file_errors`: problems of the file as a whole (a header that cannot be used, a required column
  missing, too many rows, a damaged file): with any of them **no row is imported**;
- `errors`: problems of one row (row-level), each naming the spreadsheet row a person sees, the
  header as written, the field, and the reason in English and Chinese::

      row 17, column 统一社会信用代码: check character should be 8, got 6

  a row with any error is left out, the others are imported (`strict=True`: all or nothing);
- `warnings`: what was skipped or noted without refusing anything — unknown columns (each with the
  nearest known header as a suggestion), the sender's own columns (序号, 备注, 联系人 …), an outcome
  column (`default_12m`), the title rows above the header, the inner GB 11714 check of a USCC;
- `records`: the good rows as JSON-ready dicts of the fields present (`fields`), `row_numbers`.

What is accepted:

- Headers: see `profile.headers` (field name, Chinese label, synonyms, units such as ``（万元）``).
  Money columns take 元 (x 1), 万元 (x 10,000) or 亿元 (x 100,000,000), converted with
  `decimal.Decimal` and rounded half-up to integer yuan, so there is never float noise.
  The header row is found automatically among the first `HEADER_SEARCH_ROWS` rows (the row naming
  most fields); title rows above it are skipped and the row used is reported (`header_row`).
- Cells: empty, ``-``, ``—``, ``/``, ``N/A``, ``#N/A``, ``NA``, ``null`` mean missing. Full-width
  characters are normalised (NFKC), except in the enterprise and person names, which are kept as
  written. Enumerations in English or Chinese (纳税信用等级 A/B/M/C/D; 环境信用 绿/绿色/环保诚信 …
  未评价; 安全生产标准化 一级/二级/三级/无; 专精特新 无/创新型中小企业/省级专精特新/国家级小巨人;
  环评 已批复/已备案/缺失/无需; 排污许可 排污许可证/排污登记/缺失/无需; 突发环境事件 无/一般/较大/
  重大/特别重大 or IV-I), booleans 是/否/true/false/1/0/Y/N/有/无, dates 2024-01-31, 2024/1/31,
  2024.1.31, 2024年1月31日, 20240131, Excel date cells and Excel serial numbers; numbers may
  carry thousands separators.

`partial=True` is a department feed: only the USCC column is required (the use case merges each
row into the enterprise's previous snapshot, `app.imports`). Otherwise 统一社会信用代码, 企业名称 and
数据日期 (or `as_of=`) are required.

Work is vectorised by column: each distinct cell of a column is parsed and validated once
(enumerations, flags and dates repeat a handful of values over a whole file), the rest is numpy.
A CSV is read by pyarrow's CSV reader into columns of text, dictionary-encoded per column (`_Columns`), so no
Python object is made per cell until the records; a file pyarrow reads otherwise than pandas' C parser would
(rows of different lengths) is read by pandas as before, so both give the same cells
(tests/profile/test_csv_reader.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError

from parkcredit.profile import plausible
from parkcredit.profile.frame import COLUMNS, coerce, uscc_valid_mask
from parkcredit.profile.headers import (
    HeaderMatch,
    HeaderProblem,
    header_key,
    names_field,
    resolve_ambiguous,
    resolve_header,
)
from parkcredit.profile.plausible import looks_like_id_number
from parkcredit.profile.schema import FIELDS, FieldInfo, Profile
from parkcredit.profile.uscc import ORG_ASCII_VALUE, org_check_ascii

__all__ = [
    "HEADER_SEARCH_ROWS", "MAX_CELL_CHARS", "ImportError_", "ImportResult", "ProfileImportError", "SkippedColumn",
    "Upload", "import_table",
]  # fmt: skip

HEADER_SEARCH_ROWS = 20  # the header row is looked for among the first rows (title rows sit above it)
MAX_CELL_CHARS = 131_072  # a longer cell is a damaged or hostile file (the csv module's own limit)
_SHOW = 60  # characters of a cell echoed in a message


class ProfileImportError(ValueError):
    """The file cannot be read at all (missing, unsupported type, damaged, no header row, too large)."""


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its bytes and the name it came with (the suffix picks the reader)."""

    data: bytes
    filename: str


@dataclass(frozen=True)
class ImportError_:  # trailing underscore: the builtin ImportError is something else
    """One refused value (or header): where it is in the spreadsheet, and why."""

    row: int  # spreadsheet row as a person sees it (the header row for a file-level problem)
    column: str | None  # the header as written in the file (the expected header if it is absent)
    field: str | None  # the profile field, None for an unknown header
    reason_en: str
    reason_zh: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason_en}"

    @property
    def message_zh(self) -> str:
        """The same message in Chinese: 第17行，列 统一社会信用代码：校验码应为 8，实际为 6."""
        return f"第{self.row}行，列 {self.column}：{self.reason_zh}"


@dataclass(frozen=True)
class SkippedColumn:
    """A column that was not imported: its header, letter, why, and the nearest known header."""

    column: str
    letter: str
    kind: str  # unknown | bookkeeping | outcome | ignored | empty
    reason_en: str
    reason_zh: str
    suggestion: str | None = None


@dataclass
class ImportResult:
    """Outcome of one import: the good rows, and every problem found (file-level apart from row-level)."""

    records: list[dict[str, Any]]  # good rows, JSON-ready values of `fields` (None = missing)
    row_numbers: list[int]  # spreadsheet row of each record
    fields: list[str]  # the fields the file carries (columns mapped), in file order
    file_errors: list[ImportError_]
    errors: list[ImportError_]  # row-level
    warnings: list[ImportError_]
    skipped: list[SkippedColumn]
    header_row: int
    rows_read: int  # non-empty data rows in the file
    columns: dict[str, str] = field(default_factory=dict)  # header as written -> field
    partial: bool = False

    @property
    def rows_ok(self) -> int:
        """Rows imported."""
        return len(self.records)

    @property
    def rows_rejected(self) -> int:
        """Rows refused (each row once, however many problems it has)."""
        return len({e.row for e in self.errors})

    @property
    def ok(self) -> bool:
        """True when nothing was refused."""
        return not self.errors and not self.file_errors

    @cached_property
    def frame(self) -> pd.DataFrame:
        """Canonical frame of the imported rows (`coerce` types); every field, missing ones empty."""
        full = [{**dict.fromkeys(COLUMNS), **r} for r in self.records]
        frame, problems = coerce(pd.DataFrame(full, columns=COLUMNS))
        if problems and not self.partial:  # Profile and coerce disagree: a bug in parkcredit
            raise RuntimeError(f"validated profiles do not coerce: {problems[:3]}")
        return frame

    @property
    def profiles(self) -> list[Profile]:
        """The records as validated `Profile`s (a full import only; built on demand)."""
        return [Profile.model_validate({k: v for k, v in r.items() if v is not None}) for r in self.records]

    def errors_frame(self) -> pd.DataFrame:
        """The errors as a table (row, column, field, reason_en, reason_zh) to hand back to the sender."""
        cols = ["row", "column", "field", "reason_en", "reason_zh"]
        return pd.DataFrame([[getattr(e, c) for c in cols] for e in [*self.file_errors, *self.errors]], columns=cols)


def _r(value: object) -> str:
    """A cell for an English message: repr, cut to `_SHOW` characters (a hostile cell is not echoed whole)."""
    text = repr(value)
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"


def _s(value: object) -> str:
    text = str(value)
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _Missing()
_PLACEHOLDERS = {"", "-", "--", "—", "——", "–", "/", "N/A", "#N/A", "NA", "NULL"}
_STR = frozenset({str})


class _Bad(Exception):
    """A refused cell (internal: caught in `_parse_column`, never escapes this module)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh


def _text(value: object) -> str:
    """A cell as text: NFKC-normalised, stripped; integral floats without '.0'."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating) and np.isnan(value):
        return True
    return isinstance(value, str) and _text(value).upper() in _PLACEHOLDERS


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool | np.bool_):
        raise _Bad("a number is expected, got a true/false cell", "应为数字，实际为逻辑值")
    if isinstance(value, int | np.integer):
        return Decimal(int(value))
    if isinstance(value, float | np.floating):
        return Decimal(repr(float(value)))  # shortest repr: 0.1 stays 0.1, never 0.1000000000000000055…
    text = _text(value).replace(",", "").replace(" ", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _Bad(f"not a number: {_r(value)}", f"不是数字：{_s(value)}") from None
    if not number.is_finite():
        raise _Bad(f"not a number: {_r(value)}", f"不是数字：{_s(value)}")
    return number


def _parse_int(info: FieldInfo, factor: Decimal) -> Callable[[object], object]:
    money = info.unit == "yuan"

    def parse(value: object) -> object:
        number = _decimal(value) * factor
        whole = number.to_integral_value(rounding=ROUND_HALF_UP)
        if not money and whole != number:
            raise _Bad(f"must be a whole number, got {_r(value)}", f"应为整数，实际为 {_s(value)}")
        return int(whole)

    return parse


def _parse_float(info: FieldInfo, factor: Decimal) -> Callable[[object], object]:
    def parse(value: object) -> object:
        if isinstance(value, str) and _text(value).endswith("%") and info.unit == "ratio":
            return float(_decimal(_text(value)[:-1]) / 100)  # "85%" means 0.85 whatever the header says
        return float(_decimal(value) * factor)

    return parse


_TRUE = {"是", "Y", "YES", "TRUE", "T", "1", "有", "√", "✓", "已列入", "列入"}
_FALSE = {"否", "N", "NO", "FALSE", "F", "0", "无", "×", "✗", "未列入"}


def _parse_bool(value: object) -> object:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    key = _text(value).upper()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise _Bad(f"must be yes or no (是/否, true/false, 1/0), got {_r(value)}", f"应为 是 或 否，实际为 {_s(value)}")


_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's 1900 date system (with its 1900-02-29 quirk)


def _parse_date(value: object) -> object:
    if isinstance(value, dt.datetime):  # also pandas.Timestamp
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
        number = float(value)
        if number.is_integer() and 19000101 <= number <= 29991231:  # 20240131 typed as a number
            year, month_day = divmod(int(number), 10_000)
            return _ymd(year, *divmod(month_day, 100), value)
        if 1 <= number < 2958466:  # an Excel serial day number (a date cell without date format)
            return _EXCEL_EPOCH + dt.timedelta(days=int(number))
        raise _Bad(f"not a date: {_r(value)}", f"不是日期：{_s(value)}")
    text = _text(value)
    match = _DATE.match(text) or _DATE_COMPACT.match(text)
    if not match:
        raise _Bad(f"not a date (YYYY-MM-DD): {_r(value)}", f"不是日期（应为 YYYY-MM-DD）：{_s(value)}")
    year, month, day = (int(p) for p in match.groups())
    return _ymd(year, month, day, value)


def _ymd(year: int, month: int, day: int, value: object) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise _Bad(f"not a valid date: {_r(value)}", f"日期无效：{_s(value)}") from None


def _enum_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s\"'“”‘’「」『』《》]", "", text).upper()


def _aliases(table: dict[str, Iterable[str]]) -> dict[str, str]:
    return {_enum_key(alias): value for value, aliases in table.items() for alias in (value, *aliases)}


def _graded(values: Iterable[str]) -> dict[str, str]:
    return {f"{v}{suffix}": v for v in values for suffix in ("", "级", "类", "档")}


_ENUM_ALIASES: dict[str, dict[str, str]] = {
    "tax_credit_grade": _graded("ABMCD"),
    "mu_efficiency_class": _graded("ABCD"),
    "env_credit_level": _aliases({
        "GREEN": ["绿", "绿色", "绿牌", "绿标", "环保诚信", "环保诚信企业", "诚信"],
        "BLUE": ["蓝", "蓝色", "蓝牌", "蓝标", "环保良好", "环保良好企业", "良好"],
        "YELLOW": ["黄", "黄色", "黄牌", "黄标", "环保警示", "环保警示企业", "警示"],
        "RED": ["红", "红色", "红牌", "红标", "环保不良", "环保不良企业", "不良"],
        "BLACK": ["黑", "黑色", "黑牌", "黑标", "环保严重失信", "环保严重失信企业", "严重失信"],
        "NOT_RATED": ["未评价", "未评级", "未参评", "未参加评价", "未评", "NOT RATED", "NOTRATED", "NR"],
    }),
    "eia_status": _aliases({
        "APPROVED": ["已批复", "批复", "已审批", "审批", "已批准", "报告书已批复", "报告表已批复"],
        "REGISTERED": ["已备案", "备案", "登记表备案", "登记表已备案", "已登记"],
        "MISSING": ["缺失", "未办理", "未办", "未批复", "未批先建", "无环评"],
        "NOT_REQUIRED": ["无需", "无需办理", "不需要", "不需", "豁免", "不纳入"],
    }),
    "discharge_permit": _aliases({
        "PERMIT": ["排污许可证", "许可证", "已发证", "持证", "已取得", "许可", "重点管理", "简化管理"],
        "REGISTRATION": ["排污登记", "登记", "已登记", "登记管理"],
        "MISSING": ["缺失", "未办理", "未办", "无证", "未取得"],
        "NOT_REQUIRED": ["无需", "无需办理", "不需要", "不需", "豁免"],
    }),
    "env_incident_level_36m": _aliases({
        "NONE": ["无", "没有", "否"],
        "GENERAL": ["一般", "一般事件", "一般突发环境事件", "IV", "IV级"],
        "LARGER": ["较大", "较大事件", "较大突发环境事件", "III", "III级"],
        "MAJOR": ["重大", "重大事件", "重大突发环境事件", "II", "II级"],
        "SPECIALLY_MAJOR": ["特别重大", "特别重大事件", "特别重大突发环境事件", "I", "I级", "SPECIALLY MAJOR"],
    }),
    "safety_std_grade": _aliases({
        "L1": ["一级", "1级", "1", "一", "一级企业", "安全生产标准化一级", "安全生产标准化一级企业"],
        "L2": ["二级", "2级", "2", "二", "二级企业", "安全生产标准化二级", "安全生产标准化二级企业"],
        "L3": ["三级", "3级", "3", "三", "三级企业", "安全生产标准化三级", "安全生产标准化三级企业"],
        "NONE": ["无", "否", "未达标", "未评级", "未定级", "无等级"],
    }),
    "srdi_level": _aliases({
        "NONE": ["无", "否", "非专精特新"],
        "INNOV_SME": ["创新型中小企业", "创新型", "创新型企业"],
        "PROV_SRDI": ["省级专精特新", "专精特新", "专精特新中小企业", "省级专精特新中小企业", "省级专精特新企业",
                      "省级"],
        "LITTLE_GIANT": ["国家级小巨人", "小巨人", "专精特新小巨人", "专精特新小巨人企业", "国家级专精特新小巨人",
                         "国家级专精特新小巨人企业", "国家级"],
    }),
}  # fmt: skip


def _parse_enum(info: FieldInfo) -> Callable[[object], object]:
    aliases = _ENUM_ALIASES.get(info.name, {}) | {c: c for c in info.choices}
    choices = ", ".join(info.choices)

    def parse(value: object) -> object:
        key = _enum_key(_text(value))
        if key in aliases:
            return aliases[key]
        bare = re.sub(r"\(.*\)$", "", key)  # "A类(优先发展类)" -> "A类"
        if bare in aliases:
            return aliases[bare]
        raise _Bad(f"must be one of {choices}, got {_r(value)}", f"应为以下之一：{choices}，实际为 {_s(value)}")

    return parse


def _parse_str(info: FieldInfo) -> Callable[[object], object]:
    def parse(value: object) -> object:
        if info.name == "uscc" and isinstance(value, int | float | np.integer | np.floating):
            raise _Bad(
                "stored as a number in the spreadsheet, so digits may be lost; format the column as text",
                "在表格中被存为数字，可能已丢失位数；请将该列设为文本格式",
            )
        if info.name in ("name", "legal_rep_name"):
            return str(value).strip()  # names are kept as registered (full-width brackets and all)
        text = _text(value)
        if info.name == "industry_code":
            return text.upper()
        if info.name == "legal_rep_id_hash" and looks_like_id_number(text):
            raise _Bad(
                "looks like a raw ID-card number; supply only the salted hash",
                "疑似身份证号码原文；只能提供加盐哈希值",
            )
        return text

    return parse


def _parser(info: FieldInfo, factor: Decimal) -> Callable[[object], object]:
    if info.kind == "int":
        return _parse_int(info, factor)
    if info.kind == "float":
        return _parse_float(info, factor)
    if info.kind == "bool":
        return _parse_bool
    if info.kind == "date":
        return _parse_date
    if info.kind == "enum":
        return _parse_enum(info)
    return _parse_str(info)


# ----------------------------------------------------------------------------- validation

_PATTERN_HELP = {"industry_code": ("a GB/T 4754 code such as C26 or C2614", "应为 GB/T 4754 行业代码，如 C26、C2614")}


def _translate(err: dict[str, Any], name: str | None) -> tuple[str, str]:
    """English and Chinese reason for one pydantic error."""
    kind, ctx, msg = err["type"], err.get("ctx") or {}, str(err["msg"])
    if kind.startswith("uscc"):
        en, _, zh = msg.partition(" / ")
        return en, zh or en
    if kind == "missing":
        return "required", "必填"
    if kind in ("greater_than_equal", "greater_than") and ctx.get("ge", ctx.get("gt")) == 0:
        return "must not be negative", "不能为负数"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}", f"不能小于 {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}", f"不能大于 {ctx['le']}"
    if kind == "string_too_short":
        return "must not be empty", "不能为空"
    if kind == "string_too_long":
        return f"must have at most {ctx['max_length']} characters", f"不能超过 {ctx['max_length']} 个字符"
    if kind == "string_pattern_mismatch" and name in _PATTERN_HELP:
        en, zh = _PATTERN_HELP[name]
        return f"must be {en}", zh
    return msg, f"无效：{msg}"


# ----------------------------------------------------------------------------- values


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    """The validator of one profile field (its type and constraints, as `Profile` declares them)."""
    info = Profile.model_fields[name]
    annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation)


@cache
def _many_adapter(name: str) -> TypeAdapter[Any]:
    """The validator of a list of values of one profile field (each value as `_adapter` validates it)."""
    info = Profile.model_fields[name]
    annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(list[annotation])


_OK, _BLANK, _BAD = 0, 1, 2


def _factorized(cells: np.ndarray) -> tuple[np.ndarray, Any]:
    """(code of each cell, -1 for a missing one; the distinct cells) of one column of a grid."""
    series = pd.Series(cells, dtype=object)
    try:
        return pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # an unhashable cell (only possible in a frame): compare them as text
        return pd.factorize(series.map(lambda v: v if v is None else _s(v)), use_na_sentinel=True)


def _column_values(codes: np.ndarray, uniques: Any, name: str, factor: Decimal) -> tuple[np.ndarray, np.ndarray]:
    """(JSON-ready values, state per cell: _OK / _BLANK / _BAD) of one column, given factorised (`_factorized`,
    `_Columns.factorized`: the code of each cell, -1 for a missing one, and the distinct cells).

    Each distinct cell is parsed and validated once; a refused cell's value is its `_Bad`."""
    info = FIELDS[name]
    parse = _parser(info, factor)
    adapter = _adapter(name)
    blank = _blank_uniques(uniques)
    fast = _fast_numbers(uniques, info, factor, blank)
    values: list[object] = []
    states: list[int] = []
    pending: list[int] = []  # values still to be validated one by one
    for i, u in enumerate(uniques):
        if blank[i]:
            values.append(None)
            states.append(_BLANK)
            continue
        if fast is not None and fast[i] is not None:
            values.append(fast[i])
            states.append(_BAD if isinstance(fast[i], _Bad) else _OK)
            continue
        try:
            parsed = parse(u)
        except _Bad as bad:
            values.append(bad)
            states.append(_BAD)
            continue
        values.append(parsed)
        states.append(_OK)
        pending.append(len(values) - 1)
    if name == "uscc" and pending:  # the usual clean code is checked vectorised, the rest explained one by one
        texts = pd.Series([values[i] for i in pending], dtype=object)
        clean = texts.str.fullmatch(r"[0-9A-Z]{18}").fillna(False).to_numpy(dtype=bool) & uscc_valid_mask(texts)
        pending = [i for i, ok in zip(pending, clean, strict=True) if not ok]
    if len(pending) > 1:  # all at once (pydantic's loop over a list); should any fail, each is done alone below
        many = _many_adapter(name)
        try:
            done = many.dump_python(many.validate_python([values[i] for i in pending]), mode="json")
        except ValidationError:
            pass
        else:
            for i, value in zip(pending, done, strict=True):
                values[i] = value
            pending = []
    for i in pending:
        try:
            values[i] = adapter.dump_python(adapter.validate_python(values[i]), mode="json")
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            en, zh = _translate(dict(err), name)
            values[i] = _Bad(en, zh)
            states[i] = _BAD
    table = np.empty(len(values) + 1, dtype=object)
    table[:-1] = values
    table[-1] = None  # code -1: a missing cell (None / NaN)
    state = np.array([*states, _BLANK], dtype=np.int8)
    return table[codes], state[codes]


def _blank_uniques(uniques: Any) -> np.ndarray:
    """True where a distinct cell means missing (empty, '-', 'N/A' …), vectorised over the texts."""
    cells = list(uniques)
    if set(map(type, cells)) <= _STR:  # a CSV's cells: the same steps by C-speed maps, not pandas' str methods
        texts = list(map(str.upper, map(str.strip, cells)))
        hits = np.fromiter(map(_PLACEHOLDERS.__contains__, texts), dtype=bool, count=len(texts))
        shorts = ~hits & (np.fromiter(map(len, texts), dtype=np.intp, count=len(texts)) <= 4)
        shorts &= ~np.fromiter(map(str.isascii, texts), dtype=bool, count=len(texts))
        for i in np.flatnonzero(shorts):  # full-width spellings (－, ／, ＮＡ): NFKC first
            hits[i] = _is_missing(texts[i])
        return hits
    series = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    is_str = series.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    out = np.zeros(len(series), dtype=bool)
    if is_str.any():
        text = series[is_str].str.strip().str.upper()
        hit = text.isin(_PLACEHOLDERS).to_numpy().copy()
        short = ~hit & (text.str.len() <= 4).to_numpy() & ~text.map(str.isascii).to_numpy(dtype=bool)
        if short.any():  # full-width spellings (－, ／, ＮＡ): NFKC first
            hit[short] = [_is_missing(v) for v in text[short]]
        out[is_str] = hit
    return out


def _bounds(name: str) -> tuple[float | None, float | None]:
    info = Profile.model_fields[name]
    ge = next((m.ge for m in info.metadata if hasattr(m, "ge")), None)
    le = next((m.le for m in info.metadata if hasattr(m, "le")), None)
    return ge, le


def _fast_numbers(uniques: Any, info: FieldInfo, factor: Decimal, blank: np.ndarray) -> list[object] | None:
    """Plain numbers of an int / float column without a unit factor, converted and bounds-checked vectorised.

    None where a cell needs the exact path (a unit factor, thousands separators, '85%', text)."""
    if info.kind not in ("int", "float") or factor != 1:
        return None
    series = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    if set(map(type, series)) <= _STR:  # a CSV's cells: none is a true/false cell
        flag = np.zeros(len(series), dtype=bool)
    else:
        flag = series.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)  # true/false is no number
    number = pd.to_numeric(series.where(~flag), errors="coerce").to_numpy(dtype="float64")
    ok = ~blank & np.isfinite(number) & ~flag & (np.abs(number) < 2**53)
    if info.kind == "int":
        ok &= np.floor(number) == number
    if not ok.any():
        return None
    ge, le = _bounds(info.name)
    if info.kind == "float":  # as pydantic states a float field's bound: 1.0, not 1
        ge, le = (None if b is None else float(b) for b in (ge, le))
    out = np.full(len(series), None, dtype=object)
    low = (number < ge) if ge is not None else np.zeros(len(number), dtype=bool)
    high = (number > le) if le is not None else np.zeros(len(number), dtype=bool)
    fine = np.flatnonzero(ok & ~low & ~high)  # converted at once: Python ints (exact below 2**53) or floats
    converted = np.empty(len(fine), dtype=object)
    converted[:] = (number[fine].astype(np.int64) if info.kind == "int" else number[fine]).tolist()
    out[fine] = converted
    for i in np.flatnonzero(ok & (low | high)):
        if low[i]:
            out[i] = (
                _Bad("must not be negative", "不能为负数")
                if ge == 0
                else _Bad(f"must be at least {ge}", f"不能小于 {ge}")
            )
        else:
            out[i] = _Bad(f"must be at most {le}", f"不能大于 {le}")
    return list(out)


# ----------------------------------------------------------------------------- headers


@dataclass(frozen=True)
class _Column:
    index: int
    header: str
    field: str
    factor: Decimal


def _header_text(value: object) -> str:
    if _is_missing(value):
        return ""
    return value.strip() if isinstance(value, str) else _text(value)


def _find_header(grid: np.ndarray | _Columns) -> int:
    """0-based index of the header row: the first of the most field-naming rows near the top."""
    best, best_count = -1, 0
    for i in range(min(HEADER_SEARCH_ROWS, len(grid))):
        count = sum(names_field(_header_text(c)) for c in grid[i] if not _is_missing(c))
        if count > best_count:
            best, best_count = i, count
    if best < 0:
        raise ProfileImportError(
            f"no header row found in the first {HEADER_SEARCH_ROWS} rows: no cell is a known header "
            "such as 统一社会信用代码 or 企业名称 / 前20行中未找到表头（如 统一社会信用代码、企业名称）"
        )
    return best


@cache
def _resolve(header: str) -> HeaderMatch | HeaderProblem:
    return resolve_header(header)


def _map_headers(
    headers: list[str],
    has_data: Callable[[int], bool],
    *,
    ignore: set[str],
    strict: bool,
    partial: bool,
    as_of_given: bool,
    department_zh: str | None,
    header_row: int,
) -> tuple[list[_Column], list[ImportError_], list[SkippedColumn]]:
    columns: list[_Column] = []
    errors: list[ImportError_] = []
    skipped: list[SkippedColumn] = []
    seen: dict[str, str] = {}
    ambiguous: list[tuple[int, str, HeaderProblem]] = []

    def err(header: str | None, fld: str | None, en: str, zh: str) -> None:
        errors.append(ImportError_(header_row, header, fld, en, zh))

    def add(index: int, header: str, name: str, factor: Decimal) -> None:
        if name in seen:
            err(header, name, f"duplicate column: {seen[name]!r} and {header!r} both give {name}",
                f"重复的列：{seen[name]} 与 {header} 都对应字段 {name}")  # fmt: skip
            return
        seen[name] = header
        columns.append(_Column(index, header, name, factor))

    for index, raw in enumerate(headers):
        header, letter = raw.strip(), _column_letter(index)
        if not header:
            if has_data(index):
                en, zh = f"column {letter} has data but no header: skipped", f"第{letter}列有数据但没有表头，已跳过"
                skipped.append(SkippedColumn(f"({letter})", letter, "empty", en, zh))
                if strict:
                    err(f"({letter})", None, f"column {letter} has data but no header", f"第{letter}列有数据但没有表头")
            continue
        if header in ignore or header_key(header) in ignore:
            skipped.append(SkippedColumn(header, letter, "ignored", "skipped as asked", "按要求跳过"))
            continue
        res = _resolve(header)
        if isinstance(res, HeaderMatch):
            add(index, header, res.field, res.factor)
        elif res.kind == "ambiguous":
            ambiguous.append((index, header, res))
        elif res.kind in ("unit", "derived"):
            err(header, None, res.reason_en, res.reason_zh)
        else:  # unknown, bookkeeping, outcome: skipped and listed; strict refuses an unknown one
            skipped.append(SkippedColumn(header, letter, res.kind, res.reason_en, res.reason_zh, res.suggestion))
            if strict and res.kind == "unknown":
                hint_en = f" (did you mean {res.suggestion!r}?)" if res.suggestion else ""
                hint_zh = f"（是否应为“{res.suggestion}”？）" if res.suggestion else ""
                err(header, None, f"unknown header {header!r}{hint_en}; strict import refuses unknown columns",
                    f"无法识别的表头“{header}”{hint_zh}；严格模式不接受未知列")  # fmt: skip
    for index, header, res in ambiguous:
        name = resolve_ambiguous(res, department_zh=department_zh, fields_present=set(seen))
        if name is None:
            err(header, None, res.reason_en, res.reason_zh)
        else:
            add(index, header, name, Decimal(1))
    required = ["uscc"] if partial else [n for n, f in FIELDS.items() if f.required]
    for name in required:
        if name not in seen and not (name == "as_of" and as_of_given):
            zh = FIELDS[name].zh
            hint_en = " (or give the as-of date of the data)" if name == "as_of" else ""
            hint_zh = "（或在导入时指定数据日期）" if name == "as_of" else ""
            err(zh, name, f"required column missing: {zh} / {name}{hint_en}", f"缺少必填列：{zh}{hint_zh}")
    return columns, errors, skipped


# ----------------------------------------------------------------------------- import


def import_table(
    source: str | Path | pd.DataFrame | Upload,
    *,
    strict: bool = False,
    as_of: dt.date | None = None,
    ignore_columns: Iterable[str] = (),
    sheet: str | int = 0,
    partial: bool = False,
    department: str | None = None,
    max_rows: int | None = None,
) -> ImportResult:
    """Import profiles from a CSV / XLSX file (a path, an `Upload`, or a frame of cells as read).

    `as_of` fills the snapshot date (数据日期) where the file has no such column or leaves it
    empty; `ignore_columns` are headers to skip knowingly; `sheet` picks the worksheet;
    `partial` imports a department feed (only the USCC column required); `department` (slug or
    Chinese name) resolves a header such as 评价年度; `max_rows` bounds the data rows.
    Raises `ProfileImportError` for a file that cannot be read at all.
    """
    grid = _read(source, sheet)
    header_idx = 0 if isinstance(source, pd.DataFrame) else _find_header(grid)
    header_row = header_idx + 1
    data = grid[header_idx + 1 :]
    if max_rows is not None and len(data) > max_rows:
        raise ProfileImportError(f"{len(data):,} data rows: more than the limit of {max_rows:,} per import / "
                                 f"数据行数 {len(data):,} 超过单次导入上限 {max_rows:,}")  # fmt: skip
    headers = [_header_text(c) for c in grid[header_idx]]
    department_zh = None
    if department is not None:
        from parkcredit.profile.departments import department_name

        department_zh = department_name(department)
    skip = [str(h) for h in ignore_columns]
    ignore = {h.strip() for h in skip} | {header_key(h) for h in skip}

    def has_data(j: int) -> bool:
        if isinstance(data, _Columns):
            return any(not _is_missing(v) for v in data.factorized(j)[1])
        return any(not _is_missing(v) for v in data[:, j])

    columns, file_errors, skipped = _map_headers(
        headers, has_data, ignore=ignore, strict=strict, partial=partial, as_of_given=as_of is not None,
        department_zh=department_zh, header_row=header_row,
    )  # fmt: skip
    warnings: list[ImportError_] = []
    if header_idx:
        warnings.append(ImportError_(
            header_row, None, None,
            f"header found on row {header_row}; the {header_idx} row(s) above it (titles) were skipped",
            f"表头位于第{header_row}行，其上{header_idx}行（标题）已跳过",
        ))  # fmt: skip
    warnings += [ImportError_(header_row, s.column, None, s.reason_en, s.reason_zh) for s in skipped]
    fields = [c.field for c in columns]
    if as_of is not None and "as_of" not in fields:
        fields.append("as_of")
    result = ImportResult(
        records=[], row_numbers=[], fields=fields, file_errors=file_errors, errors=[], warnings=warnings,
        skipped=skipped, header_row=header_row, rows_read=0, columns={c.header: c.field for c in columns},
        partial=partial,
    )  # fmt: skip
    if not columns:
        return result

    values: dict[str, np.ndarray] = {}
    states: dict[str, np.ndarray] = {}
    for col in columns:
        cell_codes, distinct = (
            data.factorized(col.index) if isinstance(data, _Columns) else _factorized(data[:, col.index])
        )
        values[col.field], states[col.field] = _column_values(cell_codes, distinct, col.field, col.factor)
    blank_all = np.logical_and.reduce([states[c.field] == _BLANK for c in columns])
    keep = np.flatnonzero(~blank_all)  # rows with nothing in any field column are skipped, keeping row numbers
    result.rows_read = len(keep)
    for name in list(values):
        values[name], states[name] = values[name][keep], states[name][keep]
    if as_of is not None:
        fill = as_of.isoformat()
        if "as_of" in values:
            values["as_of"] = np.where(states["as_of"] == _BLANK, fill, values["as_of"])
            states["as_of"] = np.where(states["as_of"] == _BLANK, _OK, states["as_of"]).astype(np.int8)
        else:
            values["as_of"], states["as_of"] = np.full(len(keep), fill, dtype=object), np.zeros(len(keep), np.int8)
    rows = keep + header_row + 1
    header_of = {c.field: c.header for c in columns} | {
        "as_of": next((c.header for c in columns if c.field == "as_of"), FIELDS["as_of"].zh)
    }
    order = {name: i for i, name in enumerate(fields)}
    found: list[tuple[int, int, ImportError_]] = []

    def refuse(mask: np.ndarray, name: str, reason: Callable[[int], tuple[str, str]]) -> None:
        for pos in np.flatnonzero(mask):
            en, zh = reason(int(pos))
            found.append((int(pos), order.get(name, 0), ImportError_(int(rows[pos]), header_of[name], name, en, zh)))

    def bad_reason(vals: np.ndarray) -> Callable[[int], tuple[str, str]]:
        return lambda p: (vals[p].en, vals[p].zh)

    for name in values:
        refuse(states[name] == _BAD, name, bad_reason(values[name]))
    required = ["uscc"] if partial else [n for n, f in FIELDS.items() if f.required]
    for name in required:
        if name in states:
            refuse(states[name] == _BLANK, name, lambda p: ("required", "必填"))
    uscc_ok = states["uscc"] == _OK
    codes = pd.Series(values["uscc"], dtype=object).where(uscc_ok, None)
    dup = codes.duplicated(keep="first").to_numpy() & uscc_ok
    if dup.any():
        first = {c: int(rows[p]) for p, c in reversed(list(enumerate(codes))) if c is not None}
        refuse(dup, "uscc", lambda p: (f"duplicate: {codes[p]} is already on row {first[codes[p]]}",
                                       f"重复：{codes[p]} 已在第{first[codes[p]]}行出现"))  # fmt: skip
    # dates that cannot be: the checks POST /v1/enterprises makes (profile.plausible, issue 16)
    dated = {n: [v if st == _OK else None for v, st in zip(values[n], states[n], strict=True)]
             for n in plausible.DATE_FIELDS if n in values}  # fmt: skip

    def date_reason(name: str) -> Callable[[int], tuple[str, str]]:
        def reason(p: int) -> tuple[str, str]:
            found_here = plausible.problems({k: v[p] for k, v in dated.items()})
            return next((x.en, x.zh) for x in found_here if x.field == name)

        return reason

    for name, mask in plausible.implausible_dates(dated).items():
        refuse(mask, name, date_reason(name))
    found.sort(key=lambda t: (t[0], t[1]))
    result.errors = [e for _, _, e in found]
    bad_rows = np.zeros(len(keep), dtype=bool)
    bad_rows[[p for p, _, _ in found]] = True
    good = np.flatnonzero(~bad_rows)
    if file_errors or (strict and found):
        good = good[:0]
    names = fields if partial else COLUMNS
    absent = [None] * len(good)
    cols = [values[n][good].tolist() if n in values else absent for n in names]  # lists: zip is faster on them
    result.records = [dict(zip(names, vals, strict=True)) for vals in zip(*cols, strict=True)]
    result.row_numbers = [int(r) for r in rows[good]]
    codes_ok = values["uscc"][good]
    for i, expected in _inner_check_failures(codes_ok):
        result.warnings.append(ImportError_(
            result.row_numbers[i], header_of["uscc"], "uscc",
            f"inner GB 11714 organisation-code check fails (expected {expected})",
            "内层组织机构代码校验位不符（仅提示，不影响导入）",
        ))  # fmt: skip
    return result


def _inner_check_failures(codes: np.ndarray) -> list[tuple[int, str]]:
    """(position, expected character) of each valid USCC whose inner GB 11714 check fails (`uscc_warnings`,
    vectorised: the 9-character organisation code at positions 9-17 of every code at once)."""
    if not len(codes):
        return []
    raw = np.frombuffer("".join(codes.tolist()).encode("ascii"), dtype=np.uint8).reshape(len(codes), 18)
    values = ORG_ASCII_VALUE[raw[:, 8:17]]
    checkable = (values >= 0).all(axis=1)
    expected = org_check_ascii(np.clip(values[:, :8], 0, None))
    failing = np.flatnonzero(checkable & (expected != raw[:, 16]))
    return [(int(i), chr(int(expected[i]))) for i in failing]


# ----------------------------------------------------------------------------- reading


_XLSX = (".xlsx", ".xlsm", ".xls", ".ods")
_CSV = (".csv", ".txt")


def _read(source: str | Path | pd.DataFrame | Upload, sheet: str | int) -> np.ndarray | _Columns:
    """The cells of the sheet as a 2-D object array (str, int, float, bool, date or None), header included; a
    CSV's as `_Columns` (the same cells, as pyarrow columns of text)."""
    if isinstance(source, pd.DataFrame):
        header = np.array([str(c) for c in source.columns], dtype=object)
        body = source.astype(object).to_numpy()
        return np.vstack([header[None, :], body]) if len(body) else header[None, :]
    if isinstance(source, Upload):
        data, name = source.data, source.filename or "upload"
    else:
        path = Path(source)
        if not path.is_file():
            raise ProfileImportError(f"{path}: no such file")
        name = str(path)
        data = b""  # read below, once the type is known
    suffix = Path(name).suffix.lower()
    if suffix not in _XLSX + _CSV:
        raise ProfileImportError(f"{Path(name).name}: unsupported file type {suffix or '(none)'!r}; use .csv or .xlsx")
    if not isinstance(source, Upload):
        data = Path(source).read_bytes()
    rows = _xlsx_rows(data, sheet) if suffix in _XLSX else _csv_rows(data)
    if not len(rows):
        raise ProfileImportError("the sheet is empty: no header row / 表格为空，没有表头")
    return rows


def _rectangular(rows: list[list[Any]]) -> pd.DataFrame:
    """Rows of different lengths (a CSV line with fewer commas) padded with empty cells."""
    width = max((len(r) for r in rows), default=0)
    return pd.DataFrame([r if len(r) == width else [*r, *[None] * (width - len(r))] for r in rows])


def _grid(frame: pd.DataFrame) -> np.ndarray:
    grid = frame.to_numpy(dtype=object)
    while len(grid) and all(_is_missing(v) for v in grid[-1]):
        grid = grid[:-1]
    return grid


class _Columns:
    """The cells of a CSV (rows `start` to `stop` of it) as pyarrow columns of text, read by pyarrow's CSV reader
    (C++, both cores): what `import_table` asks of a grid — its length, a row, a column factorised (pyarrow's
    dictionary encoding) — without making a Python object of every cell, as the object grid does (pandas' reader
    and `to_numpy` cost ~3× as much for a 20,000-row file). Every cell is a str, as in the grid pandas gives."""

    def __init__(self, columns: list[Any], start: int, stop: int) -> None:
        self.columns, self.start, self.stop = columns, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, key: int | slice) -> Any:
        """Row `key` (an object array), or the rows from `key.start` on (a `_Columns`)."""
        if isinstance(key, slice):
            if key.step is not None or key.stop is not None:
                raise NotImplementedError("only [start:] slices of a CSV's rows")
            first = min(self.start + (key.start or 0), self.stop)
            return _Columns(self.columns, first, self.stop)
        if not 0 <= key < len(self):
            raise IndexError(key)
        return np.array([c[self.start + key].as_py() for c in self.columns], dtype=object)

    def factorized(self, j: int) -> tuple[np.ndarray, list[str]]:
        """(code of each cell, the distinct cells) of column `j`: every cell is a str, none is missing (-1)."""
        encoded = self.columns[j].slice(self.start, len(self)).dictionary_encode()
        return encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp), encoded.dictionary.to_pylist()


_ARROW_TYPES: dict[str, Any] = {}  # pyarrow's names of a headerless CSV's columns -> string


def _arrow_columns(raw: bytes) -> _Columns | None:
    """The cells of a UTF-8 CSV read by pyarrow, every one as text; None where pyarrow reads it otherwise than
    pandas' C parser does or not at all (rows of different lengths, a cell longer than a block, more
    columns than typed, no row): the caller then reads it as before."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    if not _ARROW_TYPES:
        _ARROW_TYPES.update({f"f{i}": pa.string() for i in range(4096)})
    try:
        table = pacsv.read_csv(
            pa.py_buffer(raw),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=_ARROW_TYPES, strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False),
        )  # fmt: skip
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not table.num_rows or any(c.type != pa.string() for c in table.columns):
        return None
    columns = [c.combine_chunks() for c in table.columns]
    stop = table.num_rows
    cells = _Columns(columns, 0, stop)
    while stop and all(_is_missing(v) for v in cells[stop - 1]):  # as `_grid`: trailing empty rows dropped
        stop -= 1
        cells = _Columns(columns, 0, stop)
    return cells


def _check_column_cells(cells: _Columns) -> None:
    """`_check_cells` of a CSV read by pyarrow: the length of every cell at C speed."""
    import pyarrow.compute as pc

    for j, column in enumerate(cells.columns):
        lengths = pc.utf8_length(column.slice(cells.start, len(cells)))
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > MAX_CELL_CHARS:
            i = int(np.argmax(lengths.to_numpy(zero_copy_only=False)))
            raise ProfileImportError(
                f"row {i + 1}, column {_column_letter(j)}: a cell of {longest:,} characters, more than "
                f"{MAX_CELL_CHARS:,} / 第{i + 1}行第{_column_letter(j)}列单元格超过 {MAX_CELL_CHARS:,} 个字符"
            )


def _csv_rows(data: bytes) -> np.ndarray | _Columns:
    try:
        text = data.decode("utf-8-sig")
        raw = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # Excel on Chinese Windows saves CSV in GBK
        except UnicodeDecodeError:
            raise ProfileImportError("not a text CSV file (neither UTF-8 nor GB18030) / 不是文本 CSV 文件") from None
        raw = text.encode("utf-8")
    if "\x00" in text:
        raise ProfileImportError("not a text CSV file (it contains NUL bytes) / 不是文本 CSV 文件（含空字节）")
    cells = _arrow_columns(raw)
    if cells is not None:
        if len(text) > MAX_CELL_CHARS:
            _check_column_cells(cells)
        return cells
    try:
        frame = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, na_filter=False,
                            skip_blank_lines=False, engine="c")  # fmt: skip
    except pd.errors.EmptyDataError:
        return np.empty((0, 0), dtype=object)
    except pd.errors.ParserError:  # rows of different lengths: the csv module pads nothing, we do
        try:
            records = list(csv.reader(io.StringIO(text)))
        except csv.Error as exc:
            raise ProfileImportError(_cell_problem(str(exc))) from None
        frame = _rectangular(records)
    grid = _grid(frame)
    if len(text) > MAX_CELL_CHARS:
        _check_cells(grid)
    return grid


def _cell_problem(detail: str) -> str:
    if "field larger than field limit" in detail:
        return (f"a cell is longer than {MAX_CELL_CHARS:,} characters: not a profile spreadsheet / "
                f"单元格超过 {MAX_CELL_CHARS:,} 个字符")  # fmt: skip
    return f"not a readable CSV file ({_s(detail)}) / CSV 文件无法读取"


def _check_cells(grid: np.ndarray) -> None:
    cells = grid.ravel().tolist()
    texts = [v for v in cells if type(v) is str]
    if max(map(len, texts), default=0) <= MAX_CELL_CHARS:  # the usual case, at C speed; else find the cell
        return
    for j in range(grid.shape[1] if grid.ndim == 2 else 0):
        lengths = pd.Series(grid[:, j], dtype=object).str.len()
        if len(lengths) and lengths.max() > MAX_CELL_CHARS:
            i = int(lengths.to_numpy().argmax())
            raise ProfileImportError(
                f"row {i + 1}, column {_column_letter(j)}: a cell of {int(lengths.iloc[i]):,} characters, more than "
                f"{MAX_CELL_CHARS:,} / 第{i + 1}行第{_column_letter(j)}列单元格超过 {MAX_CELL_CHARS:,} 个字符"
            )


def _xlsx_rows(data: bytes, sheet: str | int) -> np.ndarray:
    from python_calamine import CalamineWorkbook  # imported here: only workbook imports pay for it

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(workbook.sheet_names)
        if not names:
            raise ProfileImportError("the workbook has no worksheet / 工作簿中没有工作表")
        if isinstance(sheet, str):
            if sheet not in names:
                raise ProfileImportError(f"no worksheet {_r(sheet)}; the workbook has {', '.join(names)[:200]}")
            ws = workbook.get_sheet_by_name(sheet)
        else:
            if not 0 <= sheet < len(names):
                raise ProfileImportError(f"no worksheet number {sheet + 1}; the workbook has {len(names)}")
            ws = workbook.get_sheet_by_index(sheet)
        rows = ws.to_python(skip_empty_area=False)
    except ProfileImportError:
        raise
    except Exception as exc:  # calamine's error for anything damaged (not a zip, truncated, bad XML)
        raise ProfileImportError(f"not a readable workbook ({_s(exc)}) / 工作簿已损坏或不是 Excel 文件") from None
    grid = _grid(_rectangular(rows)) if rows else np.empty((0, 0), dtype=object)
    _check_cells(grid)
    return grid
