"""Import enterprise profiles from the park committee's spreadsheets (CSV / XLSX) — 企业画像导入.

`import_table(path_or_frame)` reads one sheet, maps its headers to profile fields, parses every
cell, validates each row through the pydantic `Profile`, and returns an `ImportResult`: the
canonical frame of the good rows (as `coerce` gives it), the validated profiles, and one
`ImportError_` per refused value, naming the spreadsheet row a person sees (the header is row 1,
the first data row is row 2), the header as written, the field, and the reason in English and
Chinese::

    row 17, column 统一社会信用代码: check character should be 8, got 6

What is accepted:

- Headers: the field name (``tax_credit_grade``, case-insensitive), its Chinese label
  (``FIELDS[name].zh``, e.g. ``纳税信用等级``), either followed by a unit in half- or full-width
  parentheses: ``营业收入(上年)(万元)``, ``营业收入(上年)（万元）``, ``revenue_yuan_y1 (万元)``.
  Money columns take 元 (x 1), 万元 (x 10,000) or 亿元 (x 100,000,000), converted with
  `decimal.Decimal` and rounded half-up to integer yuan, so there is never float noise; ratio
  columns take ``(%)``; other units must be the field's own (亩, 吨标准煤 / tce, 人, 个月, 天).
  A trailing ``*`` (a template's "required" mark) is ignored.
- Cells: empty, ``-``, ``—``, ``/``, ``N/A``, ``#N/A``, ``NA``, ``null`` mean missing. Full-width
  characters are normalised (NFKC), except in the enterprise and person names, which are kept as
  written. Enumerations in English or Chinese (纳税信用等级 A/B/M/C/D; 环境信用 绿/绿色/环保诚信 …
  未评价; 安全生产标准化 一级/二级/三级/无; 专精特新 无/创新型中小企业/省级专精特新/国家级小巨人;
  环评 已批复/已备案/缺失/无需; 排污许可 排污许可证/排污登记/缺失/无需; 突发环境事件 无/一般/较大/
  重大/特别重大 or IV-I), booleans 是/否/true/false/1/0/Y/N/有/无, dates 2024-01-31, 2024/1/31,
  2024.1.31, 2024年1月31日, 20240131, Excel date cells and Excel serial numbers; numbers may
  carry thousands separators.

What is refused:

- A header problem — an unknown header, two headers for one field, a unit that does not fit,
  a derived field, a missing required column — is an error on row 1 and **no row is
  imported**: a wrong header affects every row. Columns the committee keeps for itself (序号,
  备注 …) are skipped knowingly with ``ignore_columns``.
- A row with any refused value is left out (the other rows are imported) and every problem of
  that row is reported; with ``strict=True`` any error means no row is imported (all or
  nothing). A USCC already seen in the file is an error on the later row.
- Soft findings (the inner GB 11714 check of a USCC) are listed in `ImportResult.warnings` and
  never refuse a row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from parkcredit.profile.derive import DERIVED
from parkcredit.profile.frame import COLUMNS, coerce
from parkcredit.profile.schema import FIELDS, FieldInfo, Profile
from parkcredit.profile.uscc import uscc_warnings

__all__ = ["ImportError_", "ImportResult", "ProfileImportError", "import_table"]

HEADER_ROW = 1  # spreadsheet row of the header; data rows start at HEADER_ROW + 1


class ProfileImportError(ValueError):
    """The file cannot be read at all (missing, unsupported type, no header row)."""


@dataclass(frozen=True)
class ImportError_:  # trailing underscore: the builtin ImportError is something else
    """One refused value (or header): where it is in the spreadsheet, and why."""

    row: int  # spreadsheet row as a person sees it: header = 1, first data row = 2
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


@dataclass
class ImportResult:
    """Outcome of one import: the good rows, and every problem found."""

    frame: pd.DataFrame  # canonical frame of the imported rows (`coerce` types)
    profiles: list[Profile]
    errors: list[ImportError_]
    warnings: list[ImportError_]
    rows_read: int  # non-empty data rows in the file
    rows_ok: int  # rows imported
    columns: dict[str, str] = field(default_factory=dict)  # header as written -> field

    @property
    def ok(self) -> bool:
        """True when nothing was refused."""
        return not self.errors

    def errors_frame(self) -> pd.DataFrame:
        """The errors as a table (row, column, field, reason_en, reason_zh) to hand back to the sender."""
        cols = ["row", "column", "field", "reason_en", "reason_zh"]
        return pd.DataFrame([[getattr(e, c) for c in cols] for e in self.errors], columns=cols)


# ----------------------------------------------------------------------------- headers

_UNITS: dict[str, dict[str, Decimal]] = {
    "yuan": {"元": Decimal(1), "YUAN": Decimal(1), "万元": Decimal(10_000), "万": Decimal(10_000),
             "亿元": Decimal(100_000_000)},
    "亩": {"亩": Decimal(1), "MU": Decimal(1)},
    "tce": {"TCE": Decimal(1), "吨标准煤": Decimal(1), "吨标煤": Decimal(1)},
    "persons": {"人": Decimal(1), "PERSONS": Decimal(1)},
    "months": {"月": Decimal(1), "个月": Decimal(1), "MONTHS": Decimal(1)},
    "days": {"天": Decimal(1), "日": Decimal(1), "DAYS": Decimal(1)},
    "ratio": {"%": Decimal("0.01"), "RATIO": Decimal(1)},
}  # fmt: skip
_UNIT_SUFFIX = re.compile(r"^(?P<base>.+?)\s*\((?P<unit>[^()]+)\)$")


def _norm_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().strip("*").strip()
    return re.sub(r"\s+", " ", text)


def _header_key(text: str) -> str:
    """Lookup key of a header: NFKC, no spaces, upper-case (English names are case-insensitive)."""
    return re.sub(r"\s+", "", _norm_header(text)).upper()


_HEADER_KEYS = {_header_key(n): n for n in FIELDS} | {_header_key(f.zh): n for n, f in FIELDS.items()}
_DERIVED_KEYS = {_header_key(n): n for n in DERIVED} | {_header_key(f.zh): n for n, f in DERIVED.items()}
_REQUIRED = [n for n, f in FIELDS.items() if f.required]  # uscc, name, as_of


@dataclass(frozen=True)
class _Column:
    index: int
    header: str
    field: str
    factor: Decimal


def _map_headers(
    headers: Sequence[str], ignore: set[str], has_data: Callable[[int], bool], as_of_given: bool
) -> tuple[list[_Column], list[ImportError_]]:
    columns: list[_Column] = []
    errors: list[ImportError_] = []

    def err(header: str | None, fld: str | None, en: str, zh: str) -> None:
        errors.append(ImportError_(HEADER_ROW, header, fld, en, zh))

    seen: dict[str, str] = {}
    for index, raw in enumerate(headers):
        header = raw.strip()
        if not header:
            if has_data(index):
                letter = _column_letter(index)
                err(f"({letter})", None, f"column {letter} has data but no header", f"第{letter}列有数据但没有表头")
            continue
        if header in ignore or _norm_header(header) in ignore:
            continue
        mapped = _resolve_header(header)
        if isinstance(mapped, ImportError_):
            errors.append(mapped)
            continue
        name, factor = mapped
        if name in seen:
            err(
                header, name,
                f"duplicate column: {seen[name]!r} and {header!r} both give {name}",
                f"重复的列：{seen[name]} 与 {header} 都对应字段 {name}",
            )  # fmt: skip
            continue
        seen[name] = header
        columns.append(_Column(index, header, name, factor))
    for name in _REQUIRED:
        if name not in seen and not (name == "as_of" and as_of_given):
            zh = FIELDS[name].zh
            hint_en = " (or pass as_of=)" if name == "as_of" else ""
            hint_zh = "（或在导入时指定数据日期）" if name == "as_of" else ""
            err(zh, name, f"required column missing: {zh} / {name}{hint_en}", f"缺少必填列：{zh}{hint_zh}")
    return columns, errors


def _resolve_header(header: str) -> tuple[str, Decimal] | ImportError_:
    """The field and unit factor a header names, or the error saying why it names none."""
    key = _header_key(header)
    if key in _HEADER_KEYS:
        name = _HEADER_KEYS[key]
        return name, Decimal(1)
    match = _UNIT_SUFFIX.match(_norm_header(header))
    if match and _header_key(match["base"]) in _HEADER_KEYS:
        name = _HEADER_KEYS[_header_key(match["base"])]
        unit = re.sub(r"\s+", "", match["unit"]).upper()
        info = FIELDS[name]
        units = _UNITS.get(info.unit or "", {})
        if unit in units:
            return name, units[unit]
        allowed = "、".join(u for u in units if not u.isascii() or u == "%") or "—"
        if units:
            en = f"unit {match['unit']!r} not understood for {name}; use one of: {', '.join(units)}"
            zh = f"单位“{match['unit']}”不适用于 {info.zh}，可用单位：{allowed}"
        else:
            en = f"{name} takes no unit, got {match['unit']!r}"
            zh = f"{info.zh} 不带单位，实际为“{match['unit']}”"
        return ImportError_(HEADER_ROW, header, name, en, zh)
    if key in _DERIVED_KEYS or (match and _header_key(match["base"]) in _DERIVED_KEYS):
        return ImportError_(
            HEADER_ROW, header, None,
            f"{header!r} is derived by parkcredit from other fields; remove the column",
            f"“{header}”由系统根据其他字段计算，请删除该列",
        )  # fmt: skip
    return ImportError_(
        HEADER_ROW, header, None,
        f"unknown header {header!r} (use a field name or its Chinese label; skip it with ignore_columns)",
        f"无法识别的表头“{header}”（请使用字段名或中文名称；如需保留请通过 ignore_columns 忽略）",
    )  # fmt: skip


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


# ----------------------------------------------------------------------------- cells


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _Missing()
_PLACEHOLDERS = {"", "-", "--", "—", "——", "–", "/", "N/A", "#N/A", "NA", "NULL"}


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
        raise _Bad(f"not a number: {value!r}", f"不是数字：{value}") from None
    if not number.is_finite():
        raise _Bad(f"not a number: {value!r}", f"不是数字：{value}")
    return number


def _parse_int(info: FieldInfo, factor: Decimal) -> Callable[[object], object]:
    money = info.unit == "yuan"

    def parse(value: object) -> object:
        number = _decimal(value) * factor
        whole = number.to_integral_value(rounding=ROUND_HALF_UP)
        if not money and whole != number:
            raise _Bad(f"must be a whole number, got {value!r}", f"应为整数，实际为 {value}")
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
    raise _Bad(f"must be yes or no (是/否, true/false, 1/0), got {value!r}", f"应为 是 或 否，实际为 {value}")


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
        raise _Bad(f"not a date: {value!r}", f"不是日期：{value}")
    text = _text(value)
    match = _DATE.match(text) or _DATE_COMPACT.match(text)
    if not match:
        raise _Bad(f"not a date (YYYY-MM-DD): {value!r}", f"不是日期（应为 YYYY-MM-DD）：{value}")
    year, month, day = (int(p) for p in match.groups())
    return _ymd(year, month, day, value)


def _ymd(year: int, month: int, day: int, value: object) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise _Bad(f"not a valid date: {value!r}", f"日期无效：{value}") from None


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
        raise _Bad(f"must be one of {choices}, got {value!r}", f"应为以下之一：{choices}，实际为 {value}")

    return parse


_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")


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
        if info.name == "legal_rep_id_hash" and _ID_NUMBER.match(text.upper()):
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


def _blank_mask(values: Sequence[object]) -> list[bool]:
    """True where a cell is empty (or a placeholder such as '-'); each distinct text checked once."""
    cache: dict[str, bool] = {}
    out: list[bool] = []
    for value in values:
        if value is None:
            out.append(True)
        elif type(value) is str:
            blank = cache.get(value)
            if blank is None:
                blank = cache[value] = _is_missing(value)
            out.append(blank)
        else:
            out.append(_is_missing(value))
    return out


def _parse_column(values: Sequence[object], blank: Sequence[bool], parse: Callable[[object], object]) -> list[object]:
    """Parsed values (_MISSING where blank, a `_Bad` where refused); each distinct cell parsed once."""
    cache: dict[tuple[type, object], object] = {}
    out: list[object] = []
    for value, is_blank in zip(values, blank, strict=True):
        if is_blank:
            out.append(_MISSING)
            continue
        key: tuple[type, object] | None = (type(value), value)
        try:
            hit = cache.get(key, cache)  # type: ignore[arg-type]
        except TypeError:  # an unhashable cell (only possible in a frame): parse it uncached
            key, hit = None, cache
        if hit is cache:
            try:
                hit = parse(value)
            except _Bad as bad:
                hit = bad
            if key is not None:
                cache[key] = hit
        out.append(hit)
    return out


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


def import_table(
    source: str | Path | pd.DataFrame,
    *,
    strict: bool = False,
    as_of: dt.date | None = None,
    ignore_columns: Iterable[str] = (),
    sheet: str | int = 0,
) -> ImportResult:
    """Import profiles from a CSV / XLSX file (or a frame of cells as read from one).

    `as_of` fills the snapshot date (数据日期) where the file has no such column or leaves it
    empty; `ignore_columns` are headers to skip knowingly; `sheet` picks the XLSX worksheet.
    """
    headers, rows = _read(source, sheet)
    skip = [str(h) for h in ignore_columns]
    ignore = {_norm_header(h) for h in skip} | {h.strip() for h in skip}
    width = max([len(headers), *(len(row) for row in rows)])
    headers = [*headers, *[""] * (width - len(headers))]
    cells_by_column = [[row[j] if j < len(row) else None for row in rows] for j in range(width)]
    blank = np.array([_blank_mask(col) for col in cells_by_column], dtype=bool).reshape(width, len(rows))
    occupied = np.asarray(~blank.all(axis=1))
    columns, header_errors = _map_headers(headers, ignore, lambda j: bool(occupied[j]), as_of is not None)
    kept = np.flatnonzero(~blank.all(axis=0))  # fully empty rows are skipped, keeping row numbers
    row_numbers = [int(i) + HEADER_ROW + 1 for i in kept]

    parsed: dict[str, list[object]] = {}
    for col in columns:
        values = [cells_by_column[col.index][i] for i in kept]
        parsed[col.field] = _parse_column(
            values, blank[col.index, kept].tolist(), _parser(FIELDS[col.field], col.factor)
        )
    header_of = {col.field: col.header for col in columns}

    errors: list[ImportError_] = list(header_errors)
    warnings: list[ImportError_] = []
    good: list[Profile] = []
    first_row_of: dict[str, int] = {}
    for pos, row_number in enumerate(row_numbers):
        record: dict[str, object] = {}
        row_errors: list[ImportError_] = []
        for name, values in parsed.items():
            value = values[pos]
            if isinstance(value, _Bad):
                row_errors.append(ImportError_(row_number, header_of[name], name, value.en, value.zh))
            elif value is not _MISSING:
                record[name] = value
        if as_of is not None and "as_of" not in record:
            record["as_of"] = as_of
        failed = {e.field for e in row_errors}
        try:
            profile = Profile.model_validate(record)
        except ValidationError as exc:
            profile = None
            for err in exc.errors(include_url=False):
                fld = str(err["loc"][0]) if err["loc"] else None
                if fld in failed or (err["type"] == "missing" and fld not in header_of):
                    continue  # already reported: a refused cell, or a missing required column
                en, zh = _translate(dict(err), fld)
                column = header_of.get(fld or "", FIELDS[fld].zh if fld in FIELDS else fld)
                row_errors.append(ImportError_(row_number, column, fld, en, zh))
        if profile is not None and not row_errors:
            first = first_row_of.setdefault(profile.uscc, row_number)
            if first != row_number:
                row_errors.append(
                    ImportError_(
                        row_number, header_of["uscc"], "uscc",
                        f"duplicate: {profile.uscc} is already on row {first}",
                        f"重复：{profile.uscc} 已在第{first}行出现",
                    )
                )  # fmt: skip
        if row_errors or profile is None:  # None alone: a missing required column, reported on row 1
            errors.extend(sorted(row_errors, key=lambda e: _column_order(e, columns)))
            continue
        good.append(profile)
        warnings.extend(
            ImportError_(row_number, header_of["uscc"], "uscc", w, "内层组织机构代码校验位不符（仅提示，不影响导入）")
            for w in uscc_warnings(profile.uscc)
        )

    if header_errors or (strict and errors):
        good = []
    frame, coerce_errors = coerce(pd.DataFrame([p.model_dump() for p in good], columns=COLUMNS))
    if coerce_errors:  # Profile and coerce disagree: a bug in parkcredit, never the sender's fault
        raise RuntimeError(f"validated profiles do not coerce: {coerce_errors[:3]}")
    return ImportResult(
        frame=frame,
        profiles=good,
        errors=errors,
        warnings=warnings,
        rows_read=len(row_numbers),
        rows_ok=len(good),
        columns={col.header: col.field for col in columns},
    )


def _column_order(error: ImportError_, columns: list[_Column]) -> int:
    for col in columns:
        if col.field == error.field:
            return col.index
    return len(columns)


# ----------------------------------------------------------------------------- reading


def _read(source: str | Path | pd.DataFrame, sheet: str | int) -> tuple[list[str], list[Sequence[object]]]:
    """Header texts and data rows (cells as read: str, int, float, bool, datetime or None)."""
    if isinstance(source, pd.DataFrame):
        headers = [str(c) for c in source.columns]
        cells = source.astype(object).itertuples(index=False)
        rows: list[Sequence[object]] = [tuple(None if _is_missing(v) else v for v in r) for r in cells]
        return headers, rows
    path = Path(source)
    if not path.is_file():
        raise ProfileImportError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        table = _read_xlsx(path, sheet)
    elif suffix in (".csv", ".txt"):
        table = _read_csv(path)
    elif suffix == ".xls":
        raise ProfileImportError(f"{path}: old .xls workbooks are not read; save it as .xlsx / 请另存为 .xlsx")
    else:
        raise ProfileImportError(f"{path}: unsupported file type {suffix!r}; use .csv or .xlsx")
    if not table or not any(not _is_missing(v) for v in table[0]):
        raise ProfileImportError(f"{path}: no header row (row 1 is empty) / 第1行应为表头")
    headers = ["" if _is_missing(h) else _text(h) if not isinstance(h, str) else h for h in table[0]]
    return headers, table[1:]


def _read_csv(path: Path) -> list[Sequence[object]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")  # Excel on Chinese Windows saves CSV in GBK
    rows: list[Sequence[object]] = [[c if c.strip() else None for c in rec] for rec in csv.reader(io.StringIO(text))]
    return rows


def _read_xlsx(path: Path, sheet: str | int) -> list[Sequence[object]]:
    import openpyxl  # imported here: only XLSX imports pay for it

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = workbook[sheet] if isinstance(sheet, str) else workbook.worksheets[sheet]
        rows: list[Sequence[object]] = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        workbook.close()
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return rows
