"""Plausibility of a profile beyond each field's own type: dates that cannot be, raw ID numbers.

Shared by every way a snapshot enters the store (the JSON API, the CLI, the import of a
spreadsheet), so each refuses alike; stored snapshots are not re-checked (replay decides them as
they were stored).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DATE_FIELDS", "FUTURE_DAYS", "Problem", "implausible_dates", "looks_like_id_number", "problems"]

FUTURE_DAYS = 1  # an as_of may be tomorrow (time zones), never later
DATE_FIELDS = ("as_of", "established_on", "in_park_since")
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")  # 居民身份证号码 (GB 11643): 17 digits and a check digit or X


def looks_like_id_number(text: str) -> bool:
    """Whether `text` is a raw 18-character resident ID number (a field meant for its salted hash)."""
    return bool(_ID_NUMBER.match(text.strip().upper()))


@dataclass(frozen=True)
class Problem:
    """One implausible value: the field, and why in English and Chinese."""

    field: str
    en: str
    zh: str


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def problems(profile: Mapping[str, Any], *, today: dt.date | None = None) -> list[Problem]:
    """Every implausible value of a validated profile (JSON form or model dump), in field order."""
    today = today or dt.datetime.now(dt.UTC).date()
    out: list[Problem] = []
    as_of = _date(profile.get("as_of"))
    if as_of is not None and as_of > today + dt.timedelta(days=FUTURE_DAYS):
        out.append(Problem("as_of", f"{as_of} is in the future (today is {today}); a snapshot describes a date "
                           "that has come", f"数据日期{as_of}晚于今天（{today}）"))  # fmt: skip
    for name, zh in (("established_on", "成立日期"), ("in_park_since", "入园日期")):
        when = _date(profile.get(name))
        if when is not None and as_of is not None and when > as_of:
            out.append(Problem(name, f"{when} is after the snapshot's as_of {as_of}", f"{zh}{when}晚于数据日期{as_of}"))
    id_hash = profile.get("legal_rep_id_hash")
    if isinstance(id_hash, str) and looks_like_id_number(id_hash):
        out.append(Problem("legal_rep_id_hash", "looks like a raw ID-card number; supply only the salted hash",
                           "疑似身份证号码原文；只能提供加盐哈希值"))  # fmt: skip
    return out


def implausible_dates(columns: Mapping[str, Sequence[Any]], *, today: dt.date | None = None) -> dict[str, np.ndarray]:
    """Per date field of `columns` (`DATE_FIELDS`, values as dates or ISO text, None where absent), the mask of
    the rows `problems` would refuse for that field — one vectorised compare per column, for imports."""
    today = today or dt.datetime.now(dt.UTC).date()

    def days(values: Sequence[Any]) -> np.ndarray:
        return pd.to_datetime(pd.Series(list(values), dtype=object), errors="coerce").to_numpy("datetime64[D]")

    out: dict[str, np.ndarray] = {}
    if "as_of" not in columns:
        return out
    as_of = days(columns["as_of"])
    out["as_of"] = as_of > np.datetime64(today + dt.timedelta(days=FUTURE_DAYS), "D")
    for name in DATE_FIELDS[1:]:
        if name in columns:
            out[name] = days(columns[name]) > as_of  # NaT on either side compares False
    return out
