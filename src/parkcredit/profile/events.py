"""Negative credit records as events (信用事件), and the profile fields the rules read, derived from them.

A penalty, an accident or a listing is recorded once, with its department, date, severity and
amount; it may later be repaired (信用修复: `repaired_on` with its evidence). The counts and flags
that the rule files read — "env penalties in 36 months", "on the abnormal-operation list" — are
derived here from the events that still count at a snapshot's `as_of`:

- an event counts from `occurred_on` on, until it is repaired (`repaired_on` on or before `as_of`);
- counts and maxima (`*_36m`) take only events inside the 36-month look-back window back from `as_of`;
- dates (`*_last_on`) take the newest event that still counts (the rules apply their own windows);
- flags (`*_list`, `dishonest_debtor_enterprise`) are true while any listing still counts.

A repair is accepted only after the minimum disclosure period (最短公示期) of the record:
《失信行为纠正后的信用信息修复管理办法（试行）》(国家发展改革委令第58号, in force 2023-05-01) and the
2026 信用修复管理办法 (一般 ≥ 3 months, 严重 ≥ 1 year; 轻微 not published); listings that end when the
duty is met (经营异常名录, 失信被执行人) have none. See DOMAIN.md §2.5, §2.6, §5.4.

Pure functions on plain values: no database, no clock (every date is passed in).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "INCIDENT_LEVELS", "KINDS", "LOOKBACK_MONTHS", "SEVERITIES", "CreditEvent", "EventKind", "add_months",
    "counts_at", "derive_counts", "earliest_repair", "fields_of", "min_disclosure_months",
]  # fmt: skip

LOOKBACK_MONTHS = 36
SEVERITIES = ("minor", "general", "serious")  # 轻微 / 一般 / 严重
INCIDENT_LEVELS = ("GENERAL", "LARGER", "MAJOR", "SPECIALLY_MAJOR")  # 突发环境事件: 一般 / 较大 / 重大 / 特别重大

Derivation = Literal["count", "max_amount", "worst_incident", "last_on", "flag", "count_general", "count_serious"]


@dataclass(frozen=True)
class EventKind:
    """One kind of negative record: labels, the supplying department, what it feeds, its minimum periods."""

    zh: str
    en: str
    dept: str
    fields: tuple[tuple[str, Derivation], ...]  # (profile field, how it is derived)
    min_months: dict[str, int]  # severity -> minimum disclosure period before a repair, in months


_PENALTY = {"minor": 0, "general": 3, "serious": 12}  # 2023 办法 / 2026 办法: 轻微 none, 一般 3 m, 严重 1 y
_LISTING_ENDS_WITH_DUTY = {"minor": 0, "general": 0, "serious": 0}  # removed once the duty is met
_LISTING_ONE_YEAR = {"minor": 12, "general": 12, "serious": 12}  # early removal after 12 months at the soonest

KINDS: dict[str, EventKind] = {
    "env_penalty": EventKind("环境行政处罚", "environmental administrative penalty", "生态环境",
                             (("env_penalties_36m", "count"), ("env_penalty_max_yuan_36m", "max_amount")), _PENALTY),
    "env_incident": EventKind("突发环境事件", "environmental incident", "生态环境",
                              (("env_incident_level_36m", "worst_incident"),), _PENALTY),
    "safety_penalty": EventKind("安全生产行政处罚", "work-safety administrative penalty", "应急管理",
                                (("safety_penalties_36m", "count"),), _PENALTY),
    "accident_general": EventKind("一般生产安全事故", "general production accident", "应急管理",
                                  (("accidents_general_36m", "count"),), _PENALTY),
    "accident_serious": EventKind("较大及以上生产安全事故", "较大-or-worse production accident", "应急管理",
                                  (("accident_serious_last_on", "last_on"),), _LISTING_ONE_YEAR),
    "accident_fatal": EventKind("死亡事故", "fatal production accident", "应急管理",
                                (("accident_fatal_last_on", "last_on"),), _LISTING_ONE_YEAR),
    "safety_dishonest_listing": EventKind("列入安全生产严重失信名单", "work-safety serious dishonesty listing",
                                          "应急管理", (("safety_dishonest_list", "flag"),), _LISTING_ONE_YEAR),
    "dishonest_listing": EventKind("列入失信被执行人名单", "dishonest judgment-debtor listing", "法院",
                                   (("dishonest_debtor_enterprise", "flag"),), _LISTING_ENDS_WITH_DUTY),
    "abnormal_operation": EventKind("列入经营异常名录", "abnormal-operation listing", "市场监管",
                                    (("abnormal_operation_list", "flag"),), _LISTING_ENDS_WITH_DUTY),
    "serious_illegal_listing": EventKind("列入严重违法失信名单", "serious illegal and dishonest listing", "市场监管",
                                         (("serious_illegal_list", "flag"),), _LISTING_ONE_YEAR),
    "admin_penalty": EventKind("行政处罚（市场监管等）", "administrative penalty (market regulation and others)",
                               "市场监管", (("admin_penalties_general_36m", "count_general"),
                                           ("admin_penalties_serious_36m", "count_serious")), _PENALTY),
    "tax_penalty": EventKind("税务行政处罚", "tax administrative penalty", "税务",
                             (("admin_penalties_general_36m", "count_general"),
                              ("admin_penalties_serious_36m", "count_serious")), _PENALTY),
}  # fmt: skip


@dataclass(frozen=True)
class CreditEvent:
    """One negative record. `severity` is minor / general / serious, or an incident level for env_incident."""

    kind: str
    occurred_on: dt.date
    severity: str = "general"
    amount_yuan: int | None = None
    repaired_on: dt.date | None = None
    event_id: int | None = None


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus `months` calendar months (the last day of the month when it has fewer days)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _penalty_severity(severity: str) -> str:
    # an incident's level maps to a penalty severity for its disclosure period: 一般 -> general, 较大+ -> serious
    if severity in INCIDENT_LEVELS:
        return "general" if severity == "GENERAL" else "serious"
    return severity


def min_disclosure_months(kind: str, severity: str) -> int:
    """The minimum disclosure period (months) before an event of `kind` and `severity` may be repaired."""
    return KINDS[kind].min_months[_penalty_severity(severity)]


def earliest_repair(kind: str, severity: str, occurred_on: dt.date, months: int | None = None) -> dt.date:
    """The first day a repair may take effect: `occurred_on` + the minimum disclosure period."""
    return add_months(occurred_on, min_disclosure_months(kind, severity) if months is None else months)


def fields_of(kinds: Iterable[str]) -> list[str]:
    """The profile fields fed by events of `kinds`, in KINDS order."""
    wanted = set(kinds)
    out: list[str] = []
    for name, kind in KINDS.items():
        if name in wanted:
            out += [f for f, _ in kind.fields if f not in out]
    return out


def _counts(e: CreditEvent, as_of: dt.date) -> bool:
    return e.occurred_on <= as_of and (e.repaired_on is None or e.repaired_on > as_of)


def _in_window(e: CreditEvent, as_of: dt.date) -> bool:
    return add_months(e.occurred_on, LOOKBACK_MONTHS) > as_of  # fewer than 36 months ago


def counts_at(e: CreditEvent, as_of: dt.date) -> bool:
    """Whether `e` still affects a snapshot at `as_of` (not repaired by then; inside the window for counts)."""
    if not _counts(e, as_of):
        return False
    windowed = any(how not in ("last_on", "flag") for _, how in KINDS[e.kind].fields)
    return _in_window(e, as_of) if windowed else True


def derive_counts(events: Iterable[CreditEvent], as_of: dt.date) -> dict[str, Any]:
    """The profile fields fed by the kinds present in `events`, as they stand at `as_of`.

    Only fields of kinds that have at least one event are returned (a repaired event still makes
    its kind known: its count becomes 0); the others stay as the departments supplied them.
    Values are JSON-ready (dates as ISO text, incident levels as the profile's enum values).
    """
    events = list(events)
    out: dict[str, Any] = {}
    for field in fields_of(e.kind for e in events):
        feeding = [(e, how) for e in events for f, how in KINDS[e.kind].fields if f == field]
        live = [(e, how) for e, how in feeding if _counts(e, as_of)]
        recent = [(e, how) for e, how in live if _in_window(e, as_of)]
        how = feeding[0][1]
        if how == "count":
            out[field] = len(recent)
        elif how == "count_general":
            out[field] = sum(1 for e, _ in recent if e.severity != "serious")
        elif how == "count_serious":
            out[field] = sum(1 for e, _ in recent if e.severity == "serious")
        elif how == "max_amount":
            amounts = [e.amount_yuan for e, _ in recent if e.amount_yuan is not None]
            out[field] = max(amounts) if amounts else (0 if not recent else None)
        elif how == "worst_incident":
            levels = [e.severity for e, _ in recent if e.severity in INCIDENT_LEVELS]
            out[field] = max(levels, key=INCIDENT_LEVELS.index) if levels else "NONE"
        elif how == "last_on":
            dates = [e.occurred_on for e, _ in live]
            out[field] = max(dates).isoformat() if dates else None
        else:  # flag
            out[field] = bool(live)
    return out
