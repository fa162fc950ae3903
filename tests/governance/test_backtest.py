"""Backtest on a small portfolio whose figures are computed by hand (DOMAIN §5.2 case E1 and variants).

Rule set 企业诚信贷 v1.0: total = 0.3·发展 + 0.2·安全 + 0.2·环境 + 0.3·信用; limit =
min(3,000,000, ⌊m · min(k · avg tax, 0.30 · revenue) − existing loans⌋ to 10,000), k = 8 for tax
grade A, m = 1.0 in band A (≥ 85).

- E1: development 92 (30 亩均A + 12 growth 20 % — 48/40 − 1 is 0.19999… in floating point, so the
  [5 %, 20 %) bin — + 10 margin + 10 R&D + 15 high-tech + 10 debt + 5 headcount), safety, environment
  and credit 100 → total 0.3·92 + 20 + 20 + 30 = 97.6, band A; limit min(3 M, min(8·1.9 M, 0.3·48 M))
  = 3,000,000.
- E2: E1 on the dishonest-debtor list → knocked out before; same score 97.6.
- E3: E1 with tax grade B → credit 90, total 94.6, band A, limit min(3 M, 1.0·min(6·1.9 M, 14.4 M)) = 3 M.
- E5: E1 with revenue 5 M (4 M the year before: growth 25 %, 15 points) → development 95, total 98.5;
  limit 1.0 · min(15.2 M, 0.3·5 M) = 1,500,000.

Candidate: KO_DISHONEST_DEBTOR removed, KO_TAX_NOT_A (tax grade other than A) added, 20 % of revenue
instead of 30 %. After: E1 3 M (0.2·48 M = 9.6 M, capped), E2 3 M (swap-in), E3 out (swap-out),
E5 0.2·5 M = 1,000,000.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from factories import frame_of, profile
from govsupport import BASE
from parkcredit.governance.backtest import backtest
from parkcredit.profile.uscc import check_char
from parkcredit.rules import parse_ruleset


def _uscc(i: int) -> str:
    body = f"91510311MA6{i:06d}"
    return body + check_char(body)


def _candidate() -> str:
    start = BASE.index("  - id: KO_DISHONEST_DEBTOR\n")
    end = BASE.index("  - id: KO_TAX_GRADE\n")
    text = BASE[:start] + BASE[end:]
    text = text.replace(
        "knockouts:\n",
        'knockouts:\n  - id: KO_TAX_NOT_A\n    when: tax_credit_grade != "A"\n'
        "    zh: 纳税信用非A级\n    en: Tax grade other than A\n",
        1,
    )
    text = text.replace("0.30 * revenue_yuan_y1", "0.20 * revenue_yuan_y1", 1)
    return text.replace('version: "1.0"', 'version: "1.1"', 1)


@pytest.fixture(scope="module")
def report() -> dict:
    portfolio = frame_of(
        profile(uscc=_uscc(1)),
        profile(uscc=_uscc(2), dishonest_debtor_enterprise=True),
        profile(uscc=_uscc(3), tax_credit_grade="B"),
        profile(uscc=_uscc(5), revenue_yuan_y1=5_000_000, revenue_yuan_y2=4_000_000, energy_tce_y1=10),
    )
    bad = [0, 1, 0, np.nan]  # E2 defaulted; E5 has no outcome yet
    return backtest(portfolio, parse_ruleset(BASE), parse_ruleset(_candidate()), bad=bad)


def test_approvals_and_total_limit_before_and_after(report: dict) -> None:
    assert report["before"] == {"approved": 3, "approval_rate": 0.75, "total_limit_yuan": 7_500_000,
                                "not_applicable": 0, "knocked_out": 1}  # fmt: skip
    assert report["after"] == {"approved": 3, "approval_rate": 0.75, "total_limit_yuan": 7_000_000,
                               "not_applicable": 0, "knocked_out": 1}  # fmt: skip
    assert report["change"] == {"approved": 0, "total_limit_yuan": -500_000}


def test_swap_in_and_swap_out(report: dict) -> None:
    swap = report["swap"]
    assert (swap["swap_in"], swap["swap_in_limit_yuan"]) == (1, 3_000_000)
    assert (swap["swap_out"], swap["swap_out_limit_yuan"]) == (1, 3_000_000)
    assert (swap["kept"], swap["kept_limit_change_yuan"]) == (2, -500_000)
    assert [e["uscc"] for e in swap["swap_in_examples"]] == [_uscc(2)]
    assert [e["uscc"] for e in swap["swap_out_examples"]] == [_uscc(3)]
    assert (swap["swap_in_bad_rate"], swap["swap_out_bad_rate"]) == (1.0, 0.0)


def test_by_industry_and_band(report: dict) -> None:
    (c38,) = report["by_industry"]
    assert c38 == {"industry": "C38", "section": "C", "section_zh": "制造业", "section_en": "Manufacturing", "n": 4,
                   "approved_before": 3, "approved_after": 3, "total_limit_before_yuan": 7_500_000,
                   "total_limit_after_yuan": 7_000_000, "swap_in": 1, "swap_out": 1}  # fmt: skip
    a_before = report["by_band"]["before"][0]
    assert a_before == {"band": "A", "n": 4, "approved": 3, "total_limit_yuan": 7_500_000, "with_outcome": 3,
                        "bad": 1, "default_rate": round(1 / 3, 6)}  # fmt: skip
    assert [b["n"] for b in report["by_band"]["after"]] == [4, 0, 0, 0]
    assert report["band_migration"] == [{"before": "A", "after": "A", "n": 4}]


def test_discrimination_on_outcomes(report: dict) -> None:
    # risk = -score: the bad E2 (97.6) ties the good E1 (97.6) and ranks safer than the good E3 (94.6):
    # AUC = (0.5 + 0) / 2 = 0.25. KS: at risk >= -94.6 TPR 0, FPR 1/2 -> 0.5.
    d = report["discrimination"]
    assert (d["with_outcome"], d["bad"]) == (3, 1)
    for side in ("before", "after"):
        assert d[side]["auc"] == 0.25 and d[side]["ks"] == 0.5 and (d[side]["n"], d[side]["bad"]) == (3, 1)
        assert d[side]["default_rate_by_band"] == [{"group": "A", "n": 3, "bad": 1, "default_rate": round(1 / 3, 6)}]
    assert d["before"]["approved_default_rate"] == 0.0  # E1, E3 good; E5 unknown
    assert math.isclose(d["after"]["approved_default_rate"], 0.5)  # E1 good, E2 bad


def test_bad_must_align_with_profiles() -> None:
    with pytest.raises(ValueError, match="bad has 1 values for 2 profiles"):
        backtest(frame_of(profile(uscc=_uscc(1)), profile(uscc=_uscc(2))), parse_ruleset(BASE), parse_ruleset(BASE),
                 bad=[1])  # fmt: skip
