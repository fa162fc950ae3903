"""Synthetic park generator (合成园区): realistic, reproducible enterprise profiles with outcomes.

`generate(n, seed)` returns one row per enterprise with every column of
`parkcredit.profile.COLUMNS` (in that order) plus `default_12m` (0/1: defaulted within 12 months
of `as_of`). The frame passes `parkcredit.profile.coerce` with no error. Money is integer yuan
(pandas ``Int64``, ``<NA>`` where missing), dates are ``datetime64[s]`` (``NaT``), enums and text
are strings (missing: NaN), booleans are True / False / None (object). The same ``(n, seed)`` gives
the same frame, byte for byte: each block of 200,000 rows draws from its own stream of
``numpy.random.SeedSequence(seed)``, vectorised (1,000,000 rows in about 6 s, 1.2 GB peak).

The data is invented. USCCs are well-formed (valid GB 32100 and GB 11714 check characters), so
any of them may belong to a real registered entity by chance, and names are built from generic
word lists: never match synthetic rows against real registries or publish them as real firms.

Generating assumptions — every one is a proposal **[P]**, chosen to be plausible for the
自贡 沿滩 park (沿滩高新区), not measured:

Population
  [P] Industry mix (GB/T 4754-2017 division, share): chemicals C26 10 %, general machinery
      (boilers, valves) C34 11 %, metal products C33 8 %, special machinery C35 6 %, electrical
      C38 6 %, rubber/plastics C29 5 %, non-metal minerals C30 5 %, electronics C39 4 %, food
      processing C13 4 %, food incl. salt and condiments C14 3 %, pharma C27 3 %, aviation and
      other transport equipment C37 2.5 %, autos C36 2 %, non-ferrous incl. cemented carbide
      C32 1.5 %, ferrous C31 1 %, petroleum/coking C25 0.5 %; wholesale F51 10 %, software and IT
      services I65 6 %, transport agency/logistics G58 4 %, technology services M75 3.5 %, R&D
      M73 3 %. Per-industry parameters are in `INDUSTRIES`.
  [P] Age (years) ~ Gamma(1.6, 5.0), 0.05-45 years; the park opened in 2010, firms older than
      that moved in later. USCC bodies: 8 digits (legacy organisation code) for firms founded
      before 2015-10-01, ``MA6…``/``MAC…`` after; region 510311 沿滩区 85 %, 510300 自贡市 8 %,
      510304 大安区 4 %, 510302 自流井区 3 %.
  [P] A latent quality factor q ~ N(0, 1) drives every signal (size, margins, grades,
      certifications, penalties, arrears), so signals are correlated as in real data. A latent
      distress flag (P = logistic(-2.8 - 0.8 q), ~8 %) drives falling revenue, leverage, arrears,
      enforcement and dishonesty lists.
Financials
  [P] Steady-state revenue R is log-normal by industry (median 5-80 M yuan, sigma 1.0-1.2),
      shifted by 0.35 q and by age, clipped to 0.8-600 M yuan. Last full year y1 = as_of.year - 1;
      a firm founded during y1 (or y2) has a partial-year revenue for it, and none before.
      Growth log(rev_y1/rev_y2) ~ N(0.03 + 0.04 q + industry cycle + 0.25 [age < 4] - 0.35
      distress, 0.18 (+0.15 if age < 4)).
  [P] Net margin = industry margin + 0.035 q + N(0, 0.035) - 0.10 distress - 0.04 [age < 2];
      assets = R / industry asset turnover x LN(0, 0.35); debt ratio ~ N(0.50 - 0.08 q +
      0.15 distress, 0.16) clipped 0.03-1.4; all taxes paid = revenue x industry tax share (1.2 %
      wholesale - 6 % pharma) x LN(0.15 q, 0.3), x 0.7 for loss makers; R&D = revenue x industry
      R&D intensity x LN(0.5 q, 0.7), zero for a share of non-tech firms; insured headcount =
      R / industry revenue per head x LN(0, 0.4); land (亩) = R / industry revenue per 亩
      (≈ 3 M yuan, Sichuan's 2020 亩均税收 of 143,000 yuan at ~4 % tax) x LN(-0.25 q, 0.5);
      offices (F51, I65, M73, M75) mostly have no land. Registered capital is a whole number
      of 万元, often a round figure.
Signals
  [P] Tax grade (纳税信用): score 0.9 q + N(0, 0.55) - 0.6 distress - 0.4 [tax arrears]:
      A > 0.75, B > -1.35, C > -2.3, else D; firms founded in the evaluation year are M, founded
      after it are unrated (None); 非正常户 (≈ 0.5 %) forces D. Of graded firms ≈ A 21 %, B 60 %,
      C 9 %, M 7 %, D 3 %.
  [P] Environmental credit (Sichuan four-colour scheme ``sichuan4``, so never BLACK): rated with
      P = logistic(-3 + 1.1 log(R / 20 M) + 1.2 env-tier), i.e. most small firms NOT_RATED;
      among rated ≈ 18 % GREEN, 74 % BLUE, 6 % YELLOW, 2.5 % RED (near Guangdong's 2017 shares
      14 / 74 / 10 / 2.5 %), worse with penalties and incidents; a 较大+ incident makes it RED.
  [P] Energy intensity = the industry benchmark of `profile.derive` x LN(-0.15 q, 0.35).
  [P] Hazard propensity: penalties, accidents and open hazards are Poisson with rates
      proportional to an industry hazard factor (chemicals 3x, software 0.05x-0.1x) and to
      exp(-0.5..-0.7 q). Fatal accident ≈ 0.2 % x hazard, 较大+ accident ≈ 0.06 % x hazard in
      five years (dated). High-risk sector: C25, C26, C31, C32 always; C27 30 %, C30 15 %, C29
      10 %. Safety grade: high-risk firms mostly L2/L3, other manufacturing L3 or none, services
      none; 15-20 % of grades and certificates are past their validity date at as_of.
  [P] Knock-out events are rare: dishonest debtor ≈ 1.2 % (legal rep ≈ 0.9 %), abnormal
      operation list ≈ 1.7 %, serious illegal list ≈ 0.2 %, tax grade D ≈ 3 %, env RED ≈ 0.4 %,
      fatal accident ≈ 0.25 %, 较大+ accident ≈ 0.06 % (both dated, up to five years back).
  [P] Certifications: HNTE P = logistic(-3.6 + 3 tech + 0.9 q + 0.4 log(R / 20 M)) (≈ 16 %);
      专精特新 tier from a score 1.0 q + 2.0 tech + 0.5 log(R / 20 M) + N(0, 0.8) (≈ 11 %
      创新型, 5 % 省级, 1 % 小巨人); 科技型中小企业 ≈ 20 %; 亩均 class for 规上 industrial firms
      (revenue ≥ 20 M) by rank, within each block of 200,000 generated firms, of tax and revenue
      per 亩 and revenue per head: A 29 % (Sichuan 2020), B 40 %, C 24 %, D 7 %.
Missingness (per supplying department, after the outcome is drawn)
  [P] Bank block missing for ≈ 40 % (首贷户, more likely small and young); energy 15 %;
      environment block 5 % (+3 % for the level); safety block 6 %; courts 3 %; market lists 2 %;
      人社 5 %; park arrears 4 %; statements (assets, liabilities) 8 %; tax grade 4 %; R&D 10 %;
      专精特新 level and 科技型 flag 8 %; patents 10 %.

Outcome (the latent-risk model; ``default_12m`` ~ Bernoulli(sigmoid(eta)))::

    eta = INTERCEPT (-4.98, calibrated for a 5 % default rate)
        + grade effect {A: -0.7, B: 0, M: +0.3, C: +0.9, D: +1.6, unrated: +0.3}
        + 2.0 (debt_ratio - 0.5) - 3.0 clip(net_margin, -0.3, 0.3) - 0.2 log(R / 20 M)
        + 0.2 min(current arrears months, 6) + 0.25 min(penalties 36 m, 4)
        + 1.2 dishonest_enterprise + 0.6 dishonest_legal_rep + 0.8 abnormal_operation
        + 0.8 abnormal_taxpayer + 0.6 [open enforcement] + 0.8 [env RED]
        + 1.0 bank_npl + 0.5 [bank overdue >= 30 days]               (firms with a bank record)
        - 0.3 [valid HNTE or 专精特新 ≥ 省级]
        # effects a simple additive scorecard cannot see:
        + 1.5 [debt_ratio > 0.70 and revenue_growth < -0.10]        (leverage x falling revenue)
        + 0.9 [high_risk_sector and energy_vs_benchmark > 1.5]       (energy-heavy hazardous)
        + 0.9 [years_in_operation < 4 and revenue_growth > 0.50]     (young, growing too fast)
        - 0.5 q + 0.8 distress + N(0, 0.5)                            (unobserved)

The outcome uses the true values, before department missingness is applied: a department not
reporting does not change a firm's risk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.arrays import IntegerArray

from parkcredit.profile.derive import ENERGY_BENCHMARK_TCE_PER_10K
from parkcredit.profile.frame import COLUMNS
from parkcredit.profile.schema import FIELDS
from parkcredit.profile.uscc import ALPHABET, ASCII_VALUE, ORG_ASCII_VALUE, check_values, org_check_ascii

__all__ = ["DEFAULT_COLUMN", "INDUSTRIES", "INTERCEPT", "Industry", "generate"]

DEFAULT_COLUMN = "default_12m"
INTERCEPT = -4.98  # calibrated on 2 x 200,000 rows: mean default rate 5.0 % (module docstring)


@dataclass(frozen=True)
class Industry:
    """Per-industry generating parameters [P] (GB/T 4754-2017 division)."""

    code: str
    share: float
    revenue_median_m: float  # steady-state revenue median, million yuan
    revenue_sigma: float
    margin: float  # mean net margin
    asset_turnover: float  # revenue / total assets
    tax_share: float  # all taxes paid / revenue
    rd_intensity: float  # median R&D / revenue of R&D-active firms
    revenue_per_head_k: float  # thousand yuan per insured employee
    revenue_per_mu_m: float  # million yuan per 亩; 0 = offices, usually no land
    safety_hazard: float  # multiplier on accidents, safety penalties, hazards
    env_hazard: float  # multiplier on environmental penalties and incidents
    high_risk: float  # probability of being a high-risk (危化/冶金…) enterprise
    env_tier: int  # 0 offices, 1 light (registration), 2 heavy (permit)
    tech: float  # 0-1 propensity for R&D, certifications, patents
    strategic: bool  # one of the park's lead industries
    cycle: float  # industry growth shock in the last year (log)
    words: tuple[str, ...]  # words for enterprise names


# fmt: off
INDUSTRIES: tuple[Industry, ...] = (
    Industry("C26", 0.100, 30, 1.2, 0.060, 0.9, 0.045, 0.025, 1500, 4.0, 3.00, 3.00, 1.00, 2, 0.6, True, -0.06,
             ("化工", "新材料", "化学", "氟化工", "盐化工")),
    Industry("C30", 0.050, 20, 1.0, 0.050, 0.8, 0.050, 0.010, 900, 2.0, 1.80, 2.50, 0.15, 2, 0.2, False, -0.08,
             ("建材", "陶瓷", "新型建材", "玻璃")),
    Industry("C33", 0.080, 12, 1.0, 0.045, 1.0, 0.035, 0.020, 700, 3.0, 1.50, 1.30, 0.00, 1, 0.3, False, 0.00,
             ("金属制品", "五金", "钢结构", "机械制造")),
    Industry("C34", 0.110, 20, 1.2, 0.055, 0.8, 0.040, 0.040, 800, 3.0, 1.20, 0.80, 0.00, 1, 0.6, True, 0.02,
             ("机械", "阀门", "锅炉", "泵业", "通用设备")),
    Industry("C35", 0.060, 18, 1.1, 0.060, 0.8, 0.040, 0.045, 800, 3.0, 1.10, 0.70, 0.00, 1, 0.7, True, 0.02,
             ("专用设备", "装备", "环保设备", "机电")),
    Industry("C38", 0.060, 20, 1.1, 0.050, 1.0, 0.035, 0.040, 900, 4.0, 1.00, 0.60, 0.00, 1, 0.7, True, 0.05,
             ("电气", "电缆", "电器", "新能源")),
    Industry("C39", 0.040, 25, 1.2, 0.050, 1.0, 0.030, 0.050, 800, 5.0, 0.80, 0.60, 0.00, 1, 0.9, True, 0.04,
             ("电子", "光电", "智能科技")),
    Industry("C27", 0.030, 30, 1.1, 0.100, 0.7, 0.060, 0.060, 1000, 4.0, 1.80, 2.00, 0.30, 2, 0.9, True, 0.01,
             ("药业", "制药", "生物医药")),
    Industry("C29", 0.050, 12, 1.0, 0.045, 1.1, 0.035, 0.020, 800, 3.5, 1.30, 1.50, 0.10, 1, 0.4, True, -0.02,
             ("塑胶", "橡胶", "塑业", "包装")),
    Industry("C13", 0.040, 18, 1.0, 0.035, 1.5, 0.025, 0.005, 1500, 4.0, 1.00, 1.30, 0.00, 1, 0.1, False, 0.00,
             ("食品", "粮油", "农产品")),
    Industry("C14", 0.030, 12, 1.0, 0.060, 1.2, 0.050, 0.010, 900, 3.0, 0.90, 1.10, 0.00, 1, 0.1, False, 0.01,
             ("盐业", "调味品", "食品")),
    Industry("C31", 0.010, 80, 1.0, 0.025, 1.2, 0.030, 0.010, 2500, 5.0, 2.50, 2.50, 1.00, 2, 0.1, False, -0.05,
             ("钢铁", "特钢", "冶金")),
    Industry("C32", 0.015, 60, 1.1, 0.030, 1.3, 0.030, 0.015, 2500, 5.0, 2.20, 2.50, 1.00, 2, 0.3, True, 0.03,
             ("硬质合金", "有色金属", "合金材料")),
    Industry("C25", 0.005, 60, 1.0, 0.030, 1.5, 0.050, 0.005, 3000, 6.0, 3.00, 3.00, 1.00, 2, 0.1, False, -0.04,
             ("能源", "石化")),
    Industry("C37", 0.025, 35, 1.2, 0.060, 0.7, 0.035, 0.060, 700, 3.0, 1.00, 0.50, 0.00, 1, 0.9, True, 0.08,
             ("航空科技", "航空装备", "通航")),
    Industry("C36", 0.020, 35, 1.1, 0.040, 1.0, 0.030, 0.030, 1000, 4.0, 1.10, 0.80, 0.00, 1, 0.4, False, -0.03,
             ("汽车零部件", "汽车配件")),
    Industry("F51", 0.100, 10, 1.1, 0.020, 2.5, 0.012, 0.000, 3000, 0.0, 0.30, 0.10, 0.00, 0, 0.02, False, 0.00,
             ("商贸", "贸易", "物资", "供应链")),
    Industry("G58", 0.040, 8, 1.0, 0.030, 1.5, 0.020, 0.000, 800, 1.5, 0.80, 0.30, 0.00, 0, 0.02, False, 0.00,
             ("物流", "运输", "供应链管理")),
    Industry("I65", 0.060, 6, 1.1, 0.080, 1.0, 0.040, 0.120, 400, 0.0, 0.10, 0.05, 0.00, 0, 0.9, True, 0.04,
             ("软件", "信息技术", "网络科技", "数字科技")),
    Industry("M73", 0.030, 5, 1.0, 0.060, 0.8, 0.040, 0.250, 400, 0.0, 0.30, 0.30, 0.00, 0, 1.0, True, 0.02,
             ("科技", "技术研究院", "研发")),
    Industry("M75", 0.035, 4, 1.0, 0.060, 1.0, 0.040, 0.080, 500, 0.0, 0.10, 0.05, 0.00, 0, 0.7, False, 0.02,
             ("科技服务", "技术服务", "科技发展")),
)
# fmt: on

_CHUNK_ROWS = 200_000  # rows generated at a time: bounds the memory of intermediate arrays
_REGIONS = ("510311", "510300", "510304", "510302")
_REGION_P = np.array([0.85, 0.08, 0.04, 0.03])
_PARK_OPENED = np.datetime64("2010-01-01", "D")
_USCC_REFORM = np.datetime64("2015-10-01", "D")  # GB 32100 in force: new codes use 'MA…' bodies
_NAT = np.datetime64("NaT", "D")

_NAME_PREFIX = np.array(["自贡", "四川", "自贡市"])
_NAME_PREFIX_P = np.array([0.55, 0.35, 0.10])
# Trade names are two characters drawn from two generic lists (20 x 20 = 400 combinations).
_TRADE_1 = np.array(list("恒瑞鑫华嘉泰盛宏德润博锦弘鼎汇凯铭益祥卓"))
_TRADE_2 = np.array(list("达丰源通昌远成利信安辰川宇恒诚晟越尚拓邦"))
_SUFFIX = np.array(["有限公司", "有限责任公司", "股份有限公司"])
_SURNAMES = np.array(
    list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕")
)
_GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志文斌俊峰浩宇鹏辉玲红梅波云飞海林兵"))

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_USCC_CHARS = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)  # 31 chars, values 0..30

# Internally a column is a numpy array: float64 with NaN for int, float and bool fields;
# datetime64[D] with NaT for dates; int16 codes into `_labels(name)` with -1 for enums and the
# low-cardinality text fields below; unicode (names) or ASCII bytes (codes, hashes) with an empty
# string for the other text fields.
_CODED_TEXT: dict[str, tuple[str, ...]] = {
    "industry_code": tuple(i.code for i in INDUSTRIES),
    "env_credit_scheme": ("sichuan4",),
}


def _labels(name: str) -> tuple[str, ...]:
    return _CODED_TEXT.get(name) or FIELDS[name].choices


def _code(name: str, label: str) -> int:
    return _labels(name).index(label)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _cat(*parts: np.ndarray) -> np.ndarray:
    out = parts[0]
    for p in parts[1:]:
        out = np.char.add(out, p)
    return out


def _round_to(x: np.ndarray, step: float) -> np.ndarray:
    out: np.ndarray = np.round(x / step) * step
    return out


def _days(x: np.ndarray) -> np.ndarray:
    """Whole days as timedelta64[D] (x in days, float)."""
    return np.round(x).astype(np.int64).astype("timedelta64[D]")


def _ordinal(name: str, score: np.ndarray, cuts: list[float], labels: list[str]) -> np.ndarray:
    """Codes of `name`: labels[0] above cuts[0], labels[1] above cuts[1], …, labels[-1] below."""
    codes = [_code(name, label) for label in labels]
    return np.select([score > c for c in cuts], codes[:-1], default=codes[-1]).astype(np.int16)


def _flag(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64)


def _rank_pct(x: np.ndarray) -> np.ndarray:
    """Rank of each value as a fraction in (0, 1], ties broken by position."""
    rank = np.empty(len(x), dtype=np.float64)
    rank[np.argsort(x, kind="stable")] = np.arange(1, len(x) + 1)
    out: np.ndarray = rank / max(len(x), 1)
    return out


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    out: np.ndarray = (x - x.mean()) / (sd if sd > 0 else 1.0)
    return out


@dataclass(frozen=True)
class _Calendar:
    """The dates every firm is measured against, from `as_of`."""

    today: np.datetime64
    start_y1: np.datetime64  # last full financial year y1
    end_y1: np.datetime64
    start_y2: np.datetime64
    rating_year: int  # year of the latest published grades (tax, environment, 亩均)
    report_year: int  # year of the latest annual report due

    @classmethod
    def at(cls, as_of: dt.date) -> _Calendar:
        y1 = as_of.year - 1
        return cls(
            today=np.datetime64(as_of, "D"),
            start_y1=np.datetime64(f"{y1}-01-01", "D"),
            end_y1=np.datetime64(f"{y1 + 1}-01-01", "D"),
            start_y2=np.datetime64(f"{y1 - 1}-01-01", "D"),
            # Grades for year Y are published in April of Y+1; annual reports are due by 30 June.
            rating_year=y1 if (as_of.month, as_of.day) >= (5, 1) else y1 - 1,
            report_year=y1 if (as_of.month, as_of.day) >= (6, 30) else y1 - 1,
        )

    def year_start(self, year: int) -> np.datetime64:
        return np.datetime64(f"{year}-01-01", "D")


def generate(n: int, seed: int, *, as_of: dt.date = dt.date(2026, 6, 30), park_id: str = "ZG-YANTAN") -> pd.DataFrame:
    """A synthetic park of `n` enterprises: every profile column plus `default_12m` (0/1)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    cal = _Calendar.at(as_of)
    sizes = [min(_CHUNK_ROWS, n - start) for start in range(0, n, _CHUNK_ROWS)] or [0]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes) + 1)
    chunks = [_chunk(np.random.default_rng(s), m, cal) for s, m in zip(seeds, sizes, strict=False)]

    def take(name: str) -> np.ndarray:
        return np.concatenate([c.pop(name) for c in chunks])

    uscc = _uscc(np.random.default_rng(seeds[-1]), take("_region"), take("_body"))
    columns: dict[str, Any] = {}
    for name in COLUMNS:
        if name == "uscc":
            columns[name] = _text(uscc)
        elif name == "park_id":
            columns[name] = pd.array(np.full(n, park_id, dtype=object), dtype="str")
        else:
            columns[name] = _column(name, take(name))
    columns[DEFAULT_COLUMN] = take(DEFAULT_COLUMN).astype(np.int64)
    return pd.DataFrame(columns, copy=False)


def _chunk(rng: np.random.Generator, n: int, cal: _Calendar) -> dict[str, np.ndarray]:
    """One block of `n` firms in the internal representation (see `_CODED_TEXT`)."""
    today = cal.today
    rating_start, rating_end = cal.year_start(cal.rating_year), cal.year_start(cal.rating_year + 1)

    ind = INDUSTRIES
    shares = np.array([i.share for i in ind])
    k = rng.choice(len(ind), size=n, p=shares / shares.sum())

    def param(attr: str) -> np.ndarray:
        return np.array([getattr(i, attr) for i in ind], dtype=np.float64)[k]

    manufacturing = np.array([i.code.startswith("C") for i in ind])[k]
    env_tier, tech = param("env_tier"), param("tech")
    haz_s, haz_e = param("safety_hazard"), param("env_hazard")

    # -- latent factors
    q = rng.standard_normal(n)
    dis = _flag(rng.random(n) < _sigmoid(-2.8 - 0.8 * q))

    # -- age, establishment, park entry
    established = today - _days(np.clip(rng.gamma(1.6, 5.0, size=n), 0.05, 45.0) * 365.25)
    life_days = (today - established).astype(np.float64)
    age = life_days / 365.25
    lag = rng.random(n)
    moved_later = rng.random(n) < 0.2
    park_days = float((today - _PARK_OPENED).astype(np.int64))
    in_park = np.where(
        established >= _PARK_OPENED,
        established + _days(np.where(moved_later, lag * life_days, np.minimum(lag * 180.0, life_days))),
        _PARK_OPENED + _days(lag * park_days),
    )
    in_park = np.minimum(in_park, today)

    # -- size and financials
    z_size = 0.35 * q + np.sqrt(1 - 0.35**2) * rng.standard_normal(n)
    log_r = (
        np.log(param("revenue_median_m") * 1e6)
        + param("revenue_sigma") * z_size
        + 0.25 * np.log(np.clip(age, 0.5, 30) / 6.0)
    )
    steady = np.clip(np.exp(log_r), 0.8e6, 600e6)
    size = np.log(steady / 20e6)

    days_y1 = float((cal.end_y1 - cal.start_y1).astype(np.int64))
    days_y2 = float((cal.start_y1 - cal.start_y2).astype(np.int64))
    frac1 = np.clip((cal.end_y1 - established).astype(np.float64) / days_y1, 0.0, 1.0)
    frac2 = np.clip((cal.start_y1 - established).astype(np.float64) / days_y2, 0.0, 1.0)
    young = _flag(age < 4)
    growth = rng.normal(0.03 + 0.04 * q + param("cycle") + 0.25 * young - 0.35 * dis, 0.18 + 0.15 * young)
    # Founded in the last weeks of a year: no meaningful figure for that year.
    rev1 = np.where(frac1 >= 0.1, np.round(steady * frac1), np.nan)
    rev2 = np.where(frac2 >= 0.1, np.round(steady * np.exp(-growth) * frac2), np.nan)

    margin = np.clip(param("margin") + 0.035 * q + rng.normal(0, 0.035, n) - 0.10 * dis - 0.04 * (age < 2), -0.6, 0.4)
    profit = np.round(margin * rev1)
    assets = np.round(steady / param("asset_turnover") * np.exp(rng.normal(0, 0.35, n)))
    debt_ratio = np.clip(rng.normal(0.50 - 0.08 * q + 0.15 * dis, 0.16), 0.03, 1.4)
    liabilities = np.round(assets * debt_ratio)
    tax_share = param("tax_share") * np.exp(0.15 * q + rng.normal(0, 0.3, n)) * np.where(margin > 0, 1.0, 0.7)
    tax1 = np.round(rev1 * tax_share)
    tax2 = np.round(rev2 * tax_share * np.exp(rng.normal(0, 0.15, n)))
    rd_active = rng.random(n) < np.clip(0.15 + 0.8 * tech + 0.1 * q, 0.02, 0.98)
    rd_share = np.minimum(param("rd_intensity") * np.exp(0.5 * q + rng.normal(0, 0.7, n)), 1.0)
    rd = np.where(rd_active, np.round(rev1 * rd_share), np.where(np.isnan(rev1), np.nan, 0.0))
    headcount = np.maximum(1.0, np.round(steady / (param("revenue_per_head_k") * 1e3) * np.exp(rng.normal(0, 0.4, n))))
    hc_growth = 0.6 * growth + rng.normal(0, 0.12, n)
    headcount_prev = np.where(life_days < 365, 0.0, np.round(headcount * np.exp(-hc_growth)))
    per_mu = param("revenue_per_mu_m") * 1e6
    office = per_mu == 0
    office_land = np.where(rng.random(n) < 0.2, np.round(np.exp(rng.normal(np.log(5), 0.6, n)), 2), np.nan)
    plant_land = steady / np.where(office, 1.0, per_mu) * np.exp(rng.normal(-0.25 * q, 0.5))
    land = np.where(office, office_land, np.round(np.clip(plant_land, 0.5, 1500), 2))
    tenant = rng.random(n) < np.where(manufacturing, 0.35, 0.8)
    cap_raw = steady * np.exp(rng.normal(-0.8, 0.7, n))
    round_caps = np.array([100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000, 20000, 50000]) * 1e4
    log_caps = np.log(round_caps)
    pos = np.clip(np.searchsorted(log_caps, np.log(cap_raw)), 1, len(round_caps) - 1)
    lower_nearer = np.log(cap_raw) - log_caps[pos - 1] < log_caps[pos] - np.log(cap_raw)
    nearest = round_caps[np.where(lower_nearer, pos - 1, pos)]
    reg_capital = np.clip(np.where(rng.random(n) < 0.6, nearest, _round_to(cap_raw, 1e4)), 1e5, 5e8)

    # -- market regulation, courts
    abnormal_op = _flag(rng.random(n) < _sigmoid(-4.7 - 0.9 * q + 1.2 * dis))
    serious_illegal = abnormal_op * (rng.random(n) < 0.1)
    late = (abnormal_op > 0) & (rng.random(n) < 0.7)
    report_filed = cal.report_year - np.where(late, rng.geometric(0.6, n), 0).astype(np.float64)
    first_report = established.astype("datetime64[Y]").astype(np.int64) + 1970.0
    report_filed = np.where(first_report > cal.report_year, np.nan, np.maximum(report_filed, first_report))
    dishonest = _flag(rng.random(n) < _sigmoid(-5.3 - 0.9 * q + 1.8 * dis))
    dishonest_rep = _flag(
        np.where(dishonest > 0, rng.random(n) < 0.55, rng.random(n) < _sigmoid(-6.5 - 0.6 * q + 1.0 * dis))
    )
    enforcement_open = np.where(
        (dishonest > 0) | (rng.random(n) < _sigmoid(-3.3 - 0.8 * q + 1.5 * dis)),
        np.round(steady * np.exp(rng.normal(np.log(0.02), 1.0, n))),
        0.0,
    )
    enforcement_closed = _flag(rng.poisson(0.15 * np.exp(-0.5 * q + 0.2 * size)))
    restricted = _flag(np.where(dishonest > 0, rng.random(n) < 0.8, (enforcement_open > 0) & (rng.random(n) < 0.15)))
    admin_general = _flag(rng.poisson(0.12 * np.exp(-0.5 * q)))
    admin_serious = _flag(rng.poisson(0.01 * np.exp(-0.7 * q)))

    # -- tax
    tax_arrears = np.where(
        rng.random(n) < _sigmoid(-3.2 - 1.0 * q + 1.2 * dis),
        np.round(np.nan_to_num(tax1, nan=steady * 0.02) * np.exp(rng.normal(np.log(0.15), 0.8, n))),
        0.0,
    )
    abnormal_taxpayer = _flag(rng.random(n) < _sigmoid(-6.0 - 0.8 * q + 1.5 * dis))
    tax_score = 0.9 * q + rng.normal(0, 0.55, n) - 0.6 * dis - 0.4 * (tax_arrears > 0)
    grade = _ordinal("tax_credit_grade", tax_score, [0.75, -1.35, -2.3], ["A", "B", "C", "D"])
    grade[abnormal_taxpayer > 0] = _code("tax_credit_grade", "D")
    grade[established >= rating_start] = _code("tax_credit_grade", "M")
    unrated = established >= rating_end  # founded after the evaluated year: no grade yet
    grade[unrated] = -1
    grade_year = np.where(unrated, np.nan, float(cal.rating_year))

    # -- social insurance, utilities, rent
    ss_arrears = np.where(rng.random(n) < _sigmoid(-3.8 - 0.8 * q + 1.5 * dis), rng.geometric(0.5, n), 0)
    util_months = np.where(rng.random(n) < _sigmoid(-3.6 - 0.8 * q + 1.5 * dis), rng.geometric(0.55, n), 0)
    util_months = np.minimum(util_months, 12)
    util_yuan = np.round(util_months * steady * 0.008 / 12 * np.exp(rng.normal(0, 0.5, n)))
    rent_months = np.where(tenant & (rng.random(n) < _sigmoid(-3.2 - 0.8 * q + 1.5 * dis)), rng.geometric(0.5, n), 0)
    arrears_now = np.maximum(np.maximum(util_months, rent_months), ss_arrears).astype(np.float64)
    arrears_24m = np.minimum(arrears_now + rng.poisson(0.3 * np.exp(-0.7 * q)), 24)

    # -- environment
    env_pen = _flag(rng.poisson(0.05 * haz_e * np.exp(-0.6 * q + 0.15 * size)))
    fine = np.clip(_round_to(np.exp(rng.normal(np.log(50_000), 0.9, n)), 1000), 1000, 2_000_000)
    env_pen_max = np.where(env_pen > 0, fine, 0.0)
    u = rng.random(n)
    incident_scale = haz_e * np.exp(-0.5 * q)
    incident = np.select(
        [u < 0.00005 * incident_scale, u < 0.0004 * incident_scale, u < 0.003 * incident_scale],
        [_code("env_incident_level_36m", c) for c in ("MAJOR", "LARGER", "GENERAL")],
        default=_code("env_incident_level_36m", "NONE"),
    ).astype(np.int16)
    grave_incident = np.isin(incident, [_code("env_incident_level_36m", c) for c in ("LARGER", "MAJOR")])
    rated = (rng.random(n) < _sigmoid(-3.0 + 1.1 * size + 1.2 * env_tier)) & (established < rating_start)
    general_incident = incident == _code("env_incident_level_36m", "GENERAL")
    env_score = 0.8 * q + rng.normal(0, 0.6, n) - 0.5 * env_pen - 1.0 * general_incident
    env_level = _ordinal("env_credit_level", env_score, [1.08, -1.28, -1.96], ["GREEN", "BLUE", "YELLOW", "RED"])
    env_level[grave_incident] = _code("env_credit_level", "RED")  # 较大+ incident: directly 不良
    env_level[~rated] = _code("env_credit_level", "NOT_RATED")
    env_scheme = np.where(rated, 0, -1).astype(np.int16)
    env_year = np.where(rated, float(cal.rating_year), np.nan)
    u = rng.random(n)
    eia = np.select(
        [env_tier == 2, env_tier == 1],
        [np.where(u < 0.97, "APPROVED", "REGISTERED"), np.where(u < 0.45, "APPROVED", "REGISTERED")],
        default=np.where(u < 0.8, "NOT_REQUIRED", "REGISTERED"),
    )
    eia = np.where((rng.random(n) < _sigmoid(-4.5 - 0.8 * q + 0.8 * dis)) & (env_tier > 0), "MISSING", eia)
    u = rng.random(n)
    permit = np.select(
        [env_tier == 2, env_tier == 1],
        ["PERMIT", np.where(u < 0.3, "PERMIT", "REGISTRATION")],
        default=np.where(u < 0.85, "NOT_REQUIRED", "REGISTRATION"),
    )
    permit = np.where((rng.random(n) < _sigmoid(-4.5 - 0.8 * q + 0.8 * dis)) & (env_tier > 0), "MISSING", permit)
    benchmark = np.array(
        [ENERGY_BENCHMARK_TCE_PER_10K.get(i.code, 0.10 if i.code.startswith("C") else 0.02) for i in ind]
    )[k]
    energy_ratio = np.exp(-0.15 * q + rng.normal(0, 0.35, n))  # energy intensity / industry benchmark
    energy = np.round(rev1 / 1e4 * benchmark * energy_ratio, 2)

    # -- safety
    high_risk = rng.random(n) < param("high_risk")
    sector_offset = np.where(high_risk, 1.5, np.where(manufacturing, 0.0, -2.0))
    safety_score = 0.7 * q + 0.5 * size + rng.normal(0, 0.7, n) + sector_offset
    safety_grade = _ordinal("safety_std_grade", safety_score, [3.4, 1.3, 0.0], ["L1", "L2", "L3", "NONE"])
    graded = safety_grade != _code("safety_std_grade", "NONE")
    safety_until = _validity(rng, n, today, graded, _sigmoid(-1.8 - 0.6 * q), 400)
    accidents = _flag(rng.poisson(0.04 * haz_s * np.exp(-0.5 * q) * (headcount / 50.0) ** 0.3))
    five_years_back = today - _days(rng.uniform(0, 5 * 365.25, n))
    fatal_on = np.where(rng.random(n) < 0.002 * haz_s * np.exp(-0.5 * q), five_years_back, _NAT)
    serious_on = np.where(
        rng.random(n) < 0.0006 * haz_s * np.exp(-0.5 * q), today - _days(rng.uniform(0, 5 * 365.25, n)), _NAT
    )
    # 较大 accidents mostly have deaths: the last fatal accident is then no older than it.
    with_deaths = ~np.isnat(serious_on) & (rng.random(n) < 0.85)
    fatal_on = np.where(with_deaths & (np.isnat(fatal_on) | (fatal_on < serious_on)), serious_on, fatal_on)
    fatal_on = np.where(fatal_on < established, _NAT, fatal_on)  # not before the firm existed
    serious_on = np.where(serious_on < established, _NAT, serious_on)
    serious_36m = serious_on >= today - np.timedelta64(1096, "D")
    safety_dishonest = _flag(np.where(serious_36m, rng.random(n) < 0.4, rng.random(n) < 0.0005 * haz_s))
    safety_pen = _flag(rng.poisson(0.06 * haz_s * np.exp(-0.6 * q)))
    hazards_open = rng.poisson(0.04 * haz_s * np.exp(-0.7 * q))
    hazards_overdue = _flag(rng.binomial(hazards_open, _sigmoid(-1.0 - 0.8 * q)))
    rect_rate = np.round(np.clip(0.93 + 0.04 * q + rng.normal(0, 0.05, n) - 0.05 * hazards_open, 0.3, 1.0), 3)
    rect_rate = np.where(rng.random(n) < np.where(manufacturing, 0.15, 0.5), np.nan, rect_rate)  # never inspected

    # -- certifications
    hnte = rng.random(n) < _sigmoid(-3.6 + 3.0 * tech + 0.9 * q + 0.4 * size)
    hnte_expired_p = _sigmoid(-1.7 - 0.5 * q)
    hnte_until = _validity(rng, n, today, hnte, hnte_expired_p, 500)
    srdi_score = 1.0 * q + 2.0 * tech + 0.5 * size + rng.normal(0, 0.8, n)
    srdi = _ordinal("srdi_level", srdi_score, [4.6, 3.4, 2.4], ["LITTLE_GIANT", "PROV_SRDI", "INNOV_SME", "NONE"])
    srdi_until = _validity(rng, n, today, srdi != _code("srdi_level", "NONE"), _sigmoid(-1.7 - 0.5 * q), 500)
    tech_sme = _flag(rng.random(n) < _sigmoid(-3.3 + 3.0 * tech + 0.5 * q - 0.4 * size))
    patents = _flag(
        np.where(rng.random(n) < 0.3 + 0.6 * tech, rng.poisson(np.exp(-1.0 + 2.0 * tech + 0.6 * q + 0.4 * size)), 0)
    )

    # -- 亩均效益 (Sichuan evaluates 规上 industrial firms: revenue >= 20 M yuan), ranked in the block
    evaluated = manufacturing & (np.nan_to_num(rev1) >= 20e6) & ~np.isnan(land) & (established < rating_start)
    mu_class = np.full(n, -1, dtype=np.int16)
    if evaluated.any():
        e = evaluated
        index = (
            0.4 * _zscore(np.log1p(tax1[e] / land[e]))
            + 0.4 * _zscore(np.log(rev1[e] / land[e]))
            + 0.2 * _zscore(np.log(rev1[e] / headcount[e]))
            + rng.normal(0, 0.3, int(e.sum()))
        )
        mu_class[e] = _ordinal("mu_efficiency_class", _rank_pct(index), [0.71, 0.31, 0.07], ["A", "B", "C", "D"])
    mu_year = np.where(evaluated, float(cal.rating_year), np.nan)

    # -- bank (人行征信 via the bank); first-time borrowers (首贷户) have no record at all
    first_borrower = rng.random(n) < _sigmoid(-0.35 - 0.55 * size - 0.08 * (age - 6))
    banks = _flag(np.minimum(1 + rng.poisson(0.6 * np.exp(0.3 * size) + 0.8 * dis), 12))
    loans = np.where(rng.random(n) < 0.6, _round_to(steady * np.exp(rng.normal(np.log(0.04), 0.8, n)), 1e4), 0.0)
    overdue = np.where(
        rng.random(n) < _sigmoid(-2.5 - 0.8 * q + 1.2 * dis), np.round(np.exp(rng.normal(np.log(10), 1.2, n))), 0.0
    )
    overdue = np.minimum(overdue, 730.0)
    npl = _flag((overdue >= 90) | (rng.random(n) < _sigmoid(-5.5 - 0.8 * q + 2.0 * dis)))

    # -- outcome: the latent-risk logistic model of the module docstring
    growth_obs = rev1 / rev2 - 1.0
    grade_effect = np.array([-0.7, 0.0, 0.3, 0.9, 1.6, 0.3])[grade]  # A B M C D, -1 = unrated
    penalties = env_pen + safety_pen + admin_general + 2 * admin_serious
    top_srdi = np.isin(srdi, [_code("srdi_level", "PROV_SRDI"), _code("srdi_level", "LITTLE_GIANT")])
    certified = (hnte_until >= today) | (top_srdi & (srdi_until >= today))
    eta = (
        INTERCEPT
        + grade_effect
        + 2.0 * (debt_ratio - 0.5)
        - 3.0 * np.clip(np.nan_to_num(profit / rev1), -0.3, 0.3)
        - 0.2 * size
        + 0.2 * np.minimum(arrears_now, 6)
        + 0.25 * np.minimum(penalties, 4)
        + 1.2 * dishonest
        + 0.6 * dishonest_rep
        + 0.8 * abnormal_op
        + 0.8 * abnormal_taxpayer
        + 0.6 * (enforcement_open > 0)
        + 0.8 * (env_level == _code("env_credit_level", "RED"))
        + np.where(first_borrower, 0.0, 1.0 * npl + 0.5 * (overdue >= 30))
        - 0.3 * certified
        # not visible to an additive scorecard:
        + 1.5 * ((debt_ratio > 0.70) & (growth_obs < -0.10))
        + 0.9 * (high_risk & (energy_ratio > 1.5))
        + 0.9 * ((age < 4) & (growth_obs > 0.50))
        - 0.5 * q
        + 0.8 * dis
        + rng.normal(0, 0.5, n)
    )
    default = _flag(rng.random(n) < _sigmoid(eta))

    # -- names and people
    prefix = _NAME_PREFIX[rng.choice(len(_NAME_PREFIX), size=n, p=_NAME_PREFIX_P)]
    trade = _cat(_TRADE_1[rng.integers(0, len(_TRADE_1), n)], _TRADE_2[rng.integers(0, len(_TRADE_2), n)])
    words = np.array([w for i in ind for w in i.words])
    offsets = np.cumsum([0] + [len(i.words) for i in ind])
    word = words[offsets[k] + (rng.random(n) * np.diff(offsets)[k]).astype(np.int64)]
    suffix = _SUFFIX[np.where(rng.random(n) < _sigmoid(-3.0 + 0.8 * size), 2, np.where(rng.random(n) < 0.12, 1, 0))]
    names = _cat(prefix, trade, word, suffix)
    given = _GIVEN[rng.integers(0, len(_GIVEN), n)]
    given = np.where(rng.random(n) < 0.7, _cat(given, _GIVEN[rng.integers(0, len(_GIVEN), n)]), given)
    surname_p = 1.0 / np.arange(1, len(_SURNAMES) + 1) ** 0.8
    rep_name = _cat(_SURNAMES[rng.choice(len(_SURNAMES), size=n, p=surname_p / surname_p.sum())], given)
    rep_hash = _hex64(rng, n)
    # About 2 % of legal representatives also represent another firm of the park.
    shared = np.flatnonzero(rng.random(n) < 0.02)
    if n > 1 and len(shared):
        source = rng.integers(0, n, size=len(shared))
        rep_name[shared] = rep_name[source]
        rep_hash[shared] = rep_hash[source]
        dishonest_rep[shared] = dishonest_rep[source]

    cols: dict[str, np.ndarray] = {
        "_region": rng.choice(len(_REGIONS), size=n, p=_REGION_P).astype(np.int8),
        "_body": _uscc_bodies(rng, established < _USCC_REFORM),
        "name": names,
        "as_of": np.full(n, today),
        "established_on": established,
        "registered_capital_yuan": reg_capital,
        "industry_code": k.astype(np.int16),
        "in_park_since": in_park,
        "land_area_mu": land,
        "legal_rep_name": rep_name,
        "legal_rep_id_hash": rep_hash,
        "annual_report_filed_year": report_filed,
        "revenue_yuan_y1": rev1,
        "revenue_yuan_y2": rev2,
        "net_profit_yuan_y1": profit,
        "total_assets_yuan": assets,
        "total_liabilities_yuan": liabilities,
        "tax_paid_yuan_y1": tax1,
        "tax_paid_yuan_y2": tax2,
        "rd_expense_yuan_y1": rd,
        "tax_credit_grade": grade,
        "tax_credit_year": grade_year,
        "tax_arrears_yuan": tax_arrears,
        "abnormal_taxpayer": abnormal_taxpayer,
        "ss_insured_headcount": headcount,
        "ss_insured_headcount_prev": headcount_prev,
        "ss_arrears_months": _flag(ss_arrears),
        "env_credit_level": env_level,
        "env_credit_scheme": env_scheme,
        "env_credit_year": env_year,
        "eia_status": _encode("eia_status", eia),
        "discharge_permit": _encode("discharge_permit", permit),
        "env_penalties_36m": env_pen,
        "env_penalty_max_yuan_36m": env_pen_max,
        "env_incident_level_36m": incident,
        "energy_tce_y1": energy,
        "safety_std_grade": safety_grade,
        "safety_std_valid_until": safety_until,
        "high_risk_sector": _flag(high_risk),
        "accidents_general_36m": accidents,
        "accident_fatal_last_on": fatal_on,
        "accident_serious_last_on": serious_on,
        "safety_dishonest_list": safety_dishonest,
        "safety_penalties_36m": safety_pen,
        "major_hazards_open": _flag(hazards_open),
        "major_hazards_overdue": hazards_overdue,
        "hazard_rectification_rate": rect_rate,
        "dishonest_debtor_enterprise": dishonest,
        "dishonest_debtor_legal_rep": dishonest_rep,
        "enforcement_open_yuan": enforcement_open,
        "enforcement_closed_36m": enforcement_closed,
        "consumption_restricted": restricted,
        "abnormal_operation_list": abnormal_op,
        "serious_illegal_list": serious_illegal,
        "admin_penalties_general_36m": admin_general,
        "admin_penalties_serious_36m": admin_serious,
        "hnte_valid_until": hnte_until,
        "srdi_level": srdi,
        "srdi_valid_until": srdi_until,
        "tech_sme": tech_sme,
        "invention_patents": patents,
        "mu_efficiency_class": mu_class,
        "mu_eval_year": mu_year,
        "utility_arrears_months": _flag(util_months),
        "utility_arrears_yuan": util_yuan,
        "rent_arrears_months": _flag(rent_months),
        "arrears_months_24m": _flag(arrears_24m),
        "strategic_industry": _flag(np.array([i.strategic for i in ind])[k]),
        "bank_overdue_max_days_24m": overdue,
        "bank_npl_flag": npl,
        "existing_unsecured_loans_yuan": loans,
        "lending_banks_count": banks,
        DEFAULT_COLUMN: default,
    }

    # -- department missingness, after the outcome: a department not reporting does not change risk
    def blank(mask: np.ndarray, *names: str) -> None:
        for name in names:
            arr = cols[name]
            arr[mask] = {"f": np.nan, "M": _NAT, "i": -1, "U": "", "S": b""}[arr.dtype.kind]

    def blank_share(p: float, *names: str) -> None:
        blank(rng.random(n) < p, *names)

    blank(first_borrower, "bank_overdue_max_days_24m", "bank_npl_flag", "existing_unsecured_loans_yuan",
          "lending_banks_count")  # fmt: skip
    blank_share(0.15, "energy_tce_y1")
    blank_share(0.05, "env_credit_level", "env_credit_scheme", "env_credit_year", "eia_status", "discharge_permit",
                "env_penalties_36m", "env_penalty_max_yuan_36m", "env_incident_level_36m")  # fmt: skip
    blank_share(0.03, "env_credit_level", "env_credit_scheme", "env_credit_year")
    blank_share(0.06, "safety_std_grade", "safety_std_valid_until", "accidents_general_36m", "accident_fatal_last_on",
                "accident_serious_last_on", "safety_dishonest_list", "safety_penalties_36m", "major_hazards_open",
                "major_hazards_overdue", "hazard_rectification_rate")  # fmt: skip
    blank_share(0.02, "high_risk_sector")
    blank_share(0.03, "dishonest_debtor_enterprise", "dishonest_debtor_legal_rep", "enforcement_open_yuan",
                "enforcement_closed_36m", "consumption_restricted")  # fmt: skip
    blank_share(0.02, "abnormal_operation_list", "serious_illegal_list", "admin_penalties_general_36m",
                "admin_penalties_serious_36m")  # fmt: skip
    blank_share(0.05, "ss_insured_headcount", "ss_insured_headcount_prev", "ss_arrears_months")
    blank_share(0.04, "utility_arrears_months", "utility_arrears_yuan", "rent_arrears_months", "arrears_months_24m")
    blank_share(0.08, "total_assets_yuan", "total_liabilities_yuan")
    blank_share(0.05, "net_profit_yuan_y1")
    blank_share(0.04, "tax_credit_grade", "tax_credit_year")
    blank_share(0.05, "tax_arrears_yuan")
    blank_share(0.10, "rd_expense_yuan_y1")
    blank_share(0.08, "srdi_level", "srdi_valid_until")
    blank_share(0.08, "tech_sme")
    blank_share(0.10, "invention_patents")
    blank_share(0.01, "industry_code")
    blank_share(0.03, "in_park_since")
    blank_share(0.02, "legal_rep_name", "legal_rep_id_hash")
    blank_share(0.02, "registered_capital_yuan")
    return cols


def _validity(
    rng: np.random.Generator, n: int, today: np.datetime64, held: np.ndarray, p_expired: np.ndarray, lapse_days: int
) -> np.ndarray:
    """Certificate validity dates: NaT where not held; past (by up to `lapse_days`) with `p_expired`."""
    expired = rng.random(n) < p_expired
    offset = np.where(expired, -rng.uniform(1, lapse_days, n), rng.uniform(1, 3 * 365, n))  # valid 3 years
    return np.where(held, today + _days(offset), _NAT)


def _encode(name: str, labels: np.ndarray) -> np.ndarray:
    """Codes of `name` for an array of its labels."""
    choices = np.array(_labels(name))
    order = np.argsort(choices)
    return order[np.searchsorted(choices[order], labels)].astype(np.int16)


def _uscc_bodies(rng: np.random.Generator, legacy: np.ndarray) -> np.ndarray:
    """8-char organisation-code bodies (ASCII uint8, shape (n, 8)): digits if legacy, else MA6…/MAC…."""
    n = len(legacy)
    digits = rng.integers(0, 10, size=(n, 8), dtype=np.uint8) + np.uint8(ord("0"))
    digits[:, 0] = rng.integers(1, 10, size=n, dtype=np.uint8) + np.uint8(ord("0"))
    modern = _USCC_CHARS[rng.integers(0, 31, size=(n, 8), dtype=np.uint8)]
    modern[:, 0] = ord("M")
    modern[:, 1] = ord("A")
    modern[:, 2] = np.where(rng.random(n) < 0.7, ord("6"), ord("C"))
    return np.where(legacy[:, None], digits, modern)


def _uscc(rng: np.random.Generator, region: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Unique valid USCCs: '91' + region + body + GB 11714 check + GB 32100 check (ASCII bytes array)."""
    n = len(region)
    legacy = body[:, 0] != ord("M")
    # Redraw bodies repeating a (region, body) key until all are unique; the key packs the region
    # index and the body in base 36 (2 + 8 x 5.17 bits < 63 bits).
    while True:
        key = region.astype(np.int64)
        for j in range(8):
            key = key * 36 + ORG_ASCII_VALUE[body[:, j]]
        dup = pd.Series(key).duplicated().to_numpy()
        if not dup.any():
            break
        body[dup] = _uscc_bodies(rng, legacy[dup])
    org_check = org_check_ascii(ORG_ASCII_VALUE[body])
    region_chars = np.frombuffer("".join(_REGIONS).encode("ascii"), dtype=np.uint8).reshape(len(_REGIONS), 6)
    codes = np.empty((n, 18), dtype=np.uint8)
    codes[:, 0] = ord("9")
    codes[:, 1] = ord("1")
    codes[:, 2:8] = region_chars[region]
    codes[:, 8:16] = body
    codes[:, 16] = org_check
    codes[:, 17] = _USCC_CHARS[check_values(ASCII_VALUE[codes[:, :17]])]
    return np.ascontiguousarray(codes).view("S18").ravel()


def _hex64(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random 64-hex-digit strings, shaped like a salted SHA-256 (ASCII bytes array)."""
    raw = np.frombuffer(rng.bytes(32 * n), dtype=np.uint8).reshape(n, 32)
    out = np.empty((n, 64), dtype=np.uint8)
    out[:, 0::2] = _HEX[raw >> 4]
    out[:, 1::2] = _HEX[raw & 15]
    return out.view("S64").ravel()


_BOOLS = np.array([False, True, None], dtype=object)


def _text(values: np.ndarray) -> Any:
    """A pandas string array from unicode or ASCII-bytes values (empty = missing)."""
    arrow = pa.array(values, mask=np.char.str_len(values) == 0)
    return pd.array(arrow.cast(pa.string()), dtype="str")


def _column(name: str, values: np.ndarray) -> Any:
    """One output column from its internal array, typed by the field's kind (module docstring)."""
    kind = FIELDS[name].kind
    if kind == "int":
        mask = np.isnan(values)
        return IntegerArray(np.where(mask, 0, np.round(values)).astype(np.int64), mask)
    if kind == "float":
        return values
    if kind == "bool":
        return _BOOLS[np.where(np.isnan(values), 2, values).astype(np.int64)]
    if kind == "date":
        return values.astype("datetime64[s]")
    if values.dtype.kind in "US":
        return _text(values)
    dictionary = pa.DictionaryArray.from_arrays(pa.array(values, mask=values < 0), pa.array(_labels(name)))
    return pd.array(dictionary.cast(pa.string()), dtype="str")
