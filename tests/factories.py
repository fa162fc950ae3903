"""Test data factories: a realistic good enterprise (DOMAIN §5.2 case E1) and helpers around it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from parkcredit.decision import decide
from parkcredit.profile import Profile, to_frame
from parkcredit.rules import RuleSet

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "scoring_rules"
AS_OF = dt.date(2026, 6, 30)

# E1 of DOMAIN §5.2: high-tech, tax A, 亩均 A, revenue 48 M, tax 1.9 M a year
E1: dict[str, Any] = dict(
    uscc="91510311MA62Y8K391", name="自贡示例新材料有限公司", as_of=AS_OF, park_id="ZG-YANTAN",
    established_on=dt.date(2015, 3, 1), in_park_since=dt.date(2016, 1, 1), industry_code="C38", land_area_mu=50,
    revenue_yuan_y1=48_000_000, revenue_yuan_y2=40_000_000, net_profit_yuan_y1=5_000_000,
    total_assets_yuan=60_000_000, total_liabilities_yuan=24_000_000, tax_paid_yuan_y1=1_900_000,
    tax_paid_yuan_y2=1_900_000, rd_expense_yuan_y1=2_500_000, tax_credit_grade="A", mu_efficiency_class="A",
    hnte_valid_until=dt.date(2027, 12, 31), env_credit_level="GREEN", eia_status="APPROVED",
    discharge_permit="PERMIT", env_penalties_36m=0, safety_std_grade="L1", safety_std_valid_until=dt.date(2028, 1, 1),
    accidents_general_36m=0, safety_penalties_36m=0, hazard_rectification_rate=1.0, major_hazards_open=0,
    ss_insured_headcount=120, ss_insured_headcount_prev=110, bank_overdue_max_days_24m=0, arrears_months_24m=0,
    utility_arrears_months=0, admin_penalties_general_36m=0, admin_penalties_serious_36m=0,
    enforcement_open_yuan=0, enforcement_closed_36m=0, energy_tce_y1=100,
)  # fmt: skip


def profile(**overrides: Any) -> dict[str, Any]:
    """E1 with some fields changed (None makes a field missing)."""
    return {**E1, **overrides}


def frame_of(*profiles: dict[str, Any]) -> pd.DataFrame:
    return to_frame([Profile(**p) for p in profiles])


def decide_one(ruleset: RuleSet, **overrides: Any) -> dict[str, Any]:
    return decide(frame_of(profile(**overrides)), ruleset).record(0)
