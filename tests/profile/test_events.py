"""Credit events -> the counts the rules read: only unrepaired events inside the look-back window count."""

from __future__ import annotations

import datetime as dt

import pytest

from parkcredit.profile import FIELDS, Profile
from parkcredit.profile.events import (
    KINDS,
    CreditEvent,
    add_months,
    counts_at,
    derive_counts,
    earliest_repair,
    fields_of,
    min_disclosure_months,
)  # fmt: skip

AS_OF = dt.date(2026, 6, 30)


def ev(kind: str, on: str, **kw) -> CreditEvent:  # type: ignore[no-untyped-def]
    return CreditEvent(kind=kind, occurred_on=dt.date.fromisoformat(on), **kw)


def test_every_kind_feeds_real_profile_fields_of_its_department() -> None:
    for name, kind in KINDS.items():
        for field, _ in kind.fields:
            assert field in FIELDS, (name, field)
        assert kind.dept in {"生态环境", "应急管理", "法院", "市场监管", "税务"}


def test_env_penalties_count_inside_36_months_and_the_largest_fine() -> None:
    events = [
        ev("env_penalty", "2025-01-10", amount_yuan=30_000),
        ev("env_penalty", "2024-03-01", amount_yuan=80_000),
        ev("env_penalty", "2023-06-30", amount_yuan=500_000),  # exactly 36 months before: outside
    ]
    assert derive_counts(events, AS_OF) == {"env_penalties_36m": 2, "env_penalty_max_yuan_36m": 80_000}


def test_a_repaired_penalty_stops_counting_from_its_repair_date() -> None:
    a = ev("env_penalty", "2025-01-10", amount_yuan=30_000)
    b = ev("env_penalty", "2025-02-01", amount_yuan=80_000, repaired_on=dt.date(2026, 3, 1))
    assert derive_counts([a, b], dt.date(2026, 2, 28))["env_penalties_36m"] == 2
    assert derive_counts([a, b], AS_OF) == {"env_penalties_36m": 1, "env_penalty_max_yuan_36m": 30_000}
    assert not counts_at(b, AS_OF) and counts_at(a, AS_OF)


def test_an_event_after_as_of_does_not_count_yet() -> None:
    assert derive_counts([ev("safety_penalty", "2026-07-01")], AS_OF) == {"safety_penalties_36m": 0}


def test_only_kinds_with_events_are_derived_the_rest_stay_as_supplied() -> None:
    out = derive_counts([ev("accident_general", "2026-01-05")], AS_OF)
    assert out == {"accidents_general_36m": 1}
    assert derive_counts([], AS_OF) == {}


def test_listings_are_flags_while_not_repaired_whatever_their_age() -> None:
    old = ev("abnormal_operation", "2020-01-01")
    assert derive_counts([old], AS_OF) == {"abnormal_operation_list": True}
    fixed = ev("abnormal_operation", "2020-01-01", repaired_on=dt.date(2026, 5, 1))
    assert derive_counts([fixed], AS_OF) == {"abnormal_operation_list": False}
    assert derive_counts([ev("dishonest_listing", "2026-01-01")], AS_OF) == {"dishonest_debtor_enterprise": True}


def test_accident_dates_take_the_newest_unrepaired() -> None:
    events = [ev("accident_serious", "2024-01-01"), ev("accident_serious", "2025-05-05", repaired_on=AS_OF)]
    assert derive_counts(events, AS_OF) == {"accident_serious_last_on": "2024-01-01"}


def test_incident_level_is_the_worst_in_the_window() -> None:
    events = [ev("env_incident", "2025-01-01", severity="GENERAL"), ev("env_incident", "2025-02-01", severity="LARGER")]
    assert derive_counts(events, AS_OF) == {"env_incident_level_36m": "LARGER"}
    assert derive_counts(events[:1], AS_OF) == {"env_incident_level_36m": "GENERAL"}


def test_administrative_and_tax_penalties_split_by_severity() -> None:
    events = [ev("admin_penalty", "2025-01-01"), ev("tax_penalty", "2025-02-01", severity="serious"),
              ev("tax_penalty", "2025-03-01", severity="minor")]  # fmt: skip
    assert derive_counts(events, AS_OF) == {"admin_penalties_general_36m": 2, "admin_penalties_serious_36m": 1}


def test_minimum_disclosure_periods_follow_the_repair_rules() -> None:
    # 一般 3 months, 严重 1 year, 轻微 none; a listing that ends with the duty met has none
    assert min_disclosure_months("env_penalty", "general") == 3
    assert min_disclosure_months("env_penalty", "serious") == 12
    assert min_disclosure_months("env_penalty", "minor") == 0
    assert min_disclosure_months("abnormal_operation", "general") == 0
    assert min_disclosure_months("env_incident", "LARGER") == 12
    assert earliest_repair("env_penalty", "general", dt.date(2025, 11, 30)) == dt.date(2026, 2, 28)


@pytest.mark.parametrize(("day", "months", "expected"), [
    ("2024-01-31", 1, "2024-02-29"), ("2023-06-30", 36, "2026-06-30"), ("2025-12-15", 3, "2026-03-15"),
])  # fmt: skip
def test_add_months_clips_to_the_month_end(day: str, months: int, expected: str) -> None:
    assert add_months(dt.date.fromisoformat(day), months) == dt.date.fromisoformat(expected)


def test_derived_values_are_valid_profile_values() -> None:
    events = [ev(k, "2025-01-01", severity="LARGER" if k == "env_incident" else "general", amount_yuan=1000)
              for k in KINDS]  # fmt: skip
    derived = derive_counts(events, AS_OF)
    assert set(derived) == set(fields_of(KINDS))
    Profile.model_validate({"uscc": "91510311MA60000012", "name": "x", "as_of": AS_OF.isoformat(), **derived})
