"""How long a department's graded signal stays valid (数据时效): the freshness rules.

A grade is the result of one evaluation year; it is valid until the evaluation that replaces it.
For each signal, from its year field (DOMAIN.md §2):

- 纳税信用等级 `tax_credit_grade` (year: `tax_credit_year`): valid until 30 April of year + 2. Grades
  are published each April for the previous year [13], so the release in force on a date is the
  one for the year before, from 1 May; the one for two years before until 30 April.
- 环境信用等级 `env_credit_level` (`env_credit_year`): valid until 31 December of year + 1 — [P] the
  evaluation year + 1 (lists are published yearly or half-yearly [27]).
- 亩均效益等级 `mu_efficiency_class` (`mu_eval_year`): valid until 31 December of year + 1 — [P] an
  annual evaluation, as the environmental level.

A value whose date has passed at the snapshot's `as_of` is **stale**. A value without its year is
*undated*: not stale (nothing says it is old), and counted apart in the data-quality view.
`profile.derive` gives each signal three derived fields the rules can read —
`<prefix>_valid_until` (date), `<prefix>_stale` (true / false) and `<signal>_in_force` (the value,
missing once stale) — and `decision` ends a decision's `valid_until` no later than the
`valid_until` of every signal its rule set reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

__all__ = ["SIGNALS", "Signal", "valid_until_date", "valid_until_days"]


@dataclass(frozen=True)
class Signal:
    """A graded signal with a validity rule: valid until `month`/`day` of year + `years_after`."""

    field: str
    year_field: str
    prefix: str  # of the derived fields: <prefix>_valid_until, <prefix>_stale
    years_after: int
    month: int
    day: int
    rule_en: str
    rule_zh: str

    @property
    def in_force(self) -> str:
        return f"{self.field}_in_force"


SIGNALS: tuple[Signal, ...] = (
    Signal("tax_credit_grade", "tax_credit_year", "tax_credit", 2, 4, 30,
           "the annual release in force: the grade for year Y is published in April of Y+1 and replaced in April "
           "of Y+2", "现行年度发布的等级：Y年度等级于Y+1年4月发布，Y+2年4月被新发布替代"),
    Signal("env_credit_level", "env_credit_year", "env_credit", 1, 12, 31,
           "valid for the evaluation year + 1", "评价年度次年年底前有效"),
    Signal("mu_efficiency_class", "mu_eval_year", "mu_eval", 1, 12, 31,
           "valid for the evaluation year + 1", "评价年度次年年底前有效"),
)  # fmt: skip


def valid_until_days(signal: Signal, years: np.ndarray) -> np.ndarray:
    """The last valid day of each year's value as datetime64[D] (NaT where the year is missing)."""
    out = np.full(len(years), np.datetime64("NaT"), dtype="datetime64[D]")
    ok = np.isfinite(years)
    if ok.any():
        year = (years[ok].astype(np.int64) + signal.years_after - 1970).astype("datetime64[Y]")
        month = year.astype("datetime64[M]") + np.timedelta64(signal.month - 1, "M")
        out[ok] = month.astype("datetime64[D]") + np.timedelta64(signal.day - 1, "D")
    return out


def valid_until_date(signal: Signal, year: int) -> dt.date:
    """The last valid day of the value of evaluation `year` (the scalar form of `valid_until_days`)."""
    return dt.date(year + signal.years_after, signal.month, signal.day)
