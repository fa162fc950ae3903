"""Path to eligibility (达标路径): the smallest sets of actionable changes that make an enterprise eligible.

Only fields an enterprise can change by acting are touched — rectify hazards, clear arrears,
pay tax arrears, settle enforcement, repair penalty records, obtain permits, raise a grade one
step, leave the abnormal-operation list — never industry, age, identity or history (accidents,
bank overdue days, arrears in the past 24 months). Grades move one step, as a real re-rating
would; the tax grade climbs D → C → B → A, and M (a new taxpayer's grade) is no step on it. An
action is offered only when it changes a field the rule set reads (`relevant_actions`).

`time_to_eligibility` tells apart what time alone fixes: a precondition met on a date (operating
long enough), a knock-out on history that lapses on a date (an accident 36 months back).

The search is vectorised: round k builds every k-combination of applicable actions (skipping
supersets of combinations that already worked, so each option is minimal) as rows of one frame
and calls `decide` once for the round, with the model when one is given — so a model PD
ceiling or limit scaling in the rule file is honoured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from parkcredit.decision import ScoringModel
    from parkcredit.rules.compile import RuleSet

__all__ = ["ACTIONS", "TAX_GRADE_LADDER", "Action", "path_to_eligibility", "relevant_actions", "time_to_eligibility"]


@dataclass(frozen=True)
class Action:
    """One actionable change: `changes(row)` gives field -> new value, or {} when not applicable."""

    code: str
    zh: str
    en: str
    changes: Callable[[pd.Series], dict[str, Any]]


def _isna(v: Any) -> bool:
    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def _positive(row: pd.Series, *fields: str) -> bool:
    return any(not _isna(row.get(f)) and float(row[f]) > 0 for f in fields)


def _step_up(order: list[str], value: Any) -> Any:
    """The next better value in `order` (worst first), or None at the top / unknown."""
    if _isna(value) or value not in order:
        return None
    i = order.index(value)
    return order[i + 1] if i + 1 < len(order) else None


def _hazards(row: pd.Series) -> dict[str, Any]:
    rate: float | None = row.get("hazard_rectification_rate")
    rectified = rate is None or _isna(rate) or float(rate) >= 1.0
    if rectified and not _positive(row, "major_hazards_open", "major_hazards_overdue"):
        return {}
    return {"hazard_rectification_rate": 1.0, "major_hazards_open": 0.0, "major_hazards_overdue": 0.0}


def _arrears(row: pd.Series) -> dict[str, Any]:
    fields = ("utility_arrears_months", "rent_arrears_months", "ss_arrears_months", "utility_arrears_yuan")
    return {f: 0.0 for f in fields} if _positive(row, *fields) else {}


TAX_GRADE_LADDER = ["D", "C", "B", "A"]  # M (new, or no revenue in the year) is not a step on it (DOMAIN §5.4)


def _tax_grade(row: pd.Series) -> dict[str, Any]:
    up = _step_up(TAX_GRADE_LADDER, row.get("tax_credit_grade"))
    return {"tax_credit_grade": up} if up else {}


def _env_level(row: pd.Series) -> dict[str, Any]:
    up = _step_up(["BLACK", "RED", "YELLOW", "BLUE", "GREEN"], row.get("env_credit_level"))
    return {"env_credit_level": up} if up else {}


def _safety_grade(row: pd.Series) -> dict[str, Any]:
    as_of = pd.Timestamp(row["as_of"])
    grade = row.get("safety_std_grade")
    until: pd.Timestamp | None = row.get("safety_std_valid_until")
    expired = until is not None and not _isna(until) and pd.Timestamp(until) < as_of
    new = "L3" if _isna(grade) or grade == "NONE" or expired else _step_up(["NONE", "L3", "L2", "L1"], grade)
    if not new:
        return {}
    return {"safety_std_grade": new, "safety_std_valid_until": as_of + pd.DateOffset(years=3)}


def _permits(row: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if row.get("eia_status") == "MISSING":
        out["eia_status"] = "REGISTERED"
    if row.get("discharge_permit") == "MISSING":
        out["discharge_permit"] = "REGISTRATION"
    return out


def _simple(field: str, value: Any, when: Callable[[pd.Series], bool]) -> Callable[[pd.Series], dict[str, Any]]:
    return lambda row: {field: value} if when(row) else {}


ACTIONS: list[Action] = [
    Action("RECTIFY_HAZARDS", "整改全部隐患（整改率100%，无未整改重大隐患）", "Rectify all hazards", _hazards),
    Action("CLEAR_ARREARS", "结清水电气、租金和社保欠费", "Clear utility, rent and social-insurance arrears", _arrears),
    Action("PAY_TAX_ARREARS", "缴清欠税", "Pay tax arrears",
           _simple("tax_arrears_yuan", 0.0, lambda r: _positive(r, "tax_arrears_yuan"))),
    Action("TAX_GRADE_UP", "纳税信用等级提升一级", "Raise the tax credit grade one step", _tax_grade),
    Action("ENV_LEVEL_UP", "环境信用评价提升一级", "Raise the environmental credit level one step", _env_level),
    Action("SAFETY_GRADE_UP", "取得或提升安全生产标准化等级", "Obtain or raise the work-safety standardisation grade",
           _safety_grade),
    Action("OBTAIN_PERMITS", "补办环评或排污许可（登记）", "Obtain the missing EIA / discharge registration", _permits),
    Action("SETTLE_ENFORCEMENT", "履行未结执行案件", "Settle open court enforcement",
           _simple("enforcement_open_yuan", 0.0, lambda r: _positive(r, "enforcement_open_yuan"))),
    Action("REPAIR_PENALTY_RECORDS", "行政处罚信用修复", "Credit repair of general administrative penalties",
           _simple("admin_penalties_general_36m", 0.0, lambda r: _positive(r, "admin_penalties_general_36m"))),
    Action("LEAVE_ABNORMAL_LIST", "申请移出经营异常名录", "Get removed from the abnormal-operation list",
           _simple("abnormal_operation_list", 0.0, lambda r: r.get("abnormal_operation_list") == 1.0)),
]  # fmt: skip


def path_to_eligibility(
    profile_row_frame: pd.DataFrame,
    ruleset: RuleSet,
    model: ScoringModel | None = None,
    max_changes: int = 3,
    *,
    actions: list[Action] | None = None,
    max_options: int = 10,
) -> list[dict[str, Any]]:
    """Minimal sets of actionable changes (≤ max_changes) that make the enterprise eligible.

    Each option: ``{"changes": [{"code", "zh", "en", "fields": {field: new value}}], "n_changes",
    "total_score", "limit_yuan", "band", "pd"}``, fewest changes first, then highest limit.
    An already eligible enterprise, or one no combination helps (e.g. a knock-out on history),
    gets an empty list.
    """
    from parkcredit.decision import decide
    from parkcredit.profile import COLUMNS, derive

    if len(profile_row_frame) != 1:
        raise ValueError("path_to_eligibility takes a frame of exactly one profile row")
    base = profile_row_frame[[c for c in COLUMNS if c in profile_row_frame.columns]].reset_index(drop=True)
    if decide(derive(base), ruleset, model).summary["eligible"].iloc[0]:
        return []
    applicable = relevant_actions(base, ruleset, actions)
    found: list[frozenset[int]] = []
    options: list[dict[str, Any]] = []
    for k in range(1, max_changes + 1):
        combos = [c for c in combinations(range(len(applicable)), k) if not any(f <= set(c) for f in found)]
        if not combos:
            continue
        frame = pd.concat([base] * len(combos), ignore_index=True)
        for i, (_, changes) in enumerate(applicable):
            rows = np.array([i in c for c in combos])
            if rows.any():
                for field, value in changes.items():
                    frame.loc[rows, field] = value
        summary = decide(derive(frame), ruleset, model).summary
        for r in np.flatnonzero(summary["eligible"].to_numpy()):
            combo = combos[r]
            found.append(frozenset(combo))
            s = summary.iloc[r]
            options.append({
                "changes": [{"code": applicable[i][0].code, "zh": applicable[i][0].zh, "en": applicable[i][0].en,
                             "fields": {f: _jsonable(v) for f, v in applicable[i][1].items()}} for i in combo],
                "n_changes": k,
                "total_score": round(float(s["total_score"]), 4),
                "limit_yuan": int(s["limit_yuan"]),
                "band": s["band"],
                "pd": None if pd.isna(s["pd"]) else round(float(s["pd"]), 6),
            })  # fmt: skip
    options.sort(key=lambda o: (o["n_changes"], -o["limit_yuan"], o["pd"] if o["pd"] is not None else 0.0))
    return options[:max_options]


def _jsonable(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return v


def relevant_actions(
    base: pd.DataFrame, ruleset: RuleSet, actions: list[Action] | None = None
) -> list[tuple[Action, dict[str, Any]]]:
    """The actions that apply to the one-row `base` and change a field `ruleset` reads (directly or
    through a derived field), each with its changes; one derive of all candidate rows."""
    from parkcredit.profile import derive

    row = base.iloc[0]
    candidates = [(a, ch) for a in actions or ACTIONS if (ch := a.changes(row))]
    if not candidates:
        return []
    frame = pd.concat([base] * (len(candidates) + 1), ignore_index=True)
    for i, (_, changes) in enumerate(candidates, start=1):
        for f, value in changes.items():
            frame.loc[i, f] = value
    derived = derive(frame)
    read = [c for c in sorted(ruleset.fields_read) if c in derived.columns]
    before = derived.loc[[0], read].astype(object)
    out = []
    for i, cand in enumerate(candidates, start=1):
        after = derived.loc[[i], read].astype(object).set_axis([0])
        if not after.equals(before):
            out.append(cand)
    return out


def time_to_eligibility(
    profile_row_frame: pd.DataFrame, ruleset: RuleSet, model: ScoringModel | None = None, *, max_months: int = 60
) -> dict[str, Any]:
    """What waiting alone does, all else unchanged: the first date each hit gate stops holding, and
    the first date the enterprise would be eligible (None: not within `max_months`).

    ``{"gates": [{"code", "kind", "zh", "en", "clears_on"}], "eligible_on", "then_also"}`` — a
    precondition that clears is "time will fix this", a knock-out that clears is "history blocks it
    until". `eligible_on` is the day every gate that holds now has stopped holding (None: not within
    `max_months`, or a gate no date clears); `then_also` names gates that only arise by then (data gone
    stale, a certificate expired), which renewed data removes. Month steps first, then day steps
    inside the month found (a few `decide` calls of a few dozen rows)."""
    from parkcredit.decision import decide
    from parkcredit.profile import COLUMNS, derive

    if len(profile_row_frame) != 1:
        raise ValueError("time_to_eligibility takes a frame of exactly one profile row")
    base = profile_row_frame[[c for c in COLUMNS if c in profile_row_frame.columns]].reset_index(drop=True)
    as_of = pd.Timestamp(base["as_of"].iloc[0])
    now = decide(derive(base), ruleset, model)
    hit_now = now.gate_hits[0]
    kinds = {"precondition", "knockout"}
    watched = [j for j, g in enumerate(now.gates) if hit_now[j] and g.kind in kinds]

    def run(dates: list[pd.Timestamp]) -> Any:
        frame = pd.concat([base] * len(dates), ignore_index=True)
        frame["as_of"] = [d.date() for d in dates]
        return decide(derive(frame), ruleset, model)

    months = [as_of + pd.DateOffset(months=k) for k in range(1, max_months + 1)]
    later = run(months)
    clears: dict[int, pd.Timestamp] = {}
    eligible_on: pd.Timestamp | None = None
    then_also: list[dict[str, Any]] = []
    first_month: dict[int, int] = {}
    for j in watched:
        free = np.flatnonzero(~later.gate_hits[:, j])
        if len(free):
            first_month[j] = int(free[0])
    # eligible by waiting: every gate hit now has stopped holding. Gates that only appear later (data that
    # goes stale, a certificate that expires) are not counted against it but named (`then_also`)
    # only preconditions and knock-outs wait out: a score short of a floor or the threshold is not fixed by time
    now_hit = np.flatnonzero(hit_now)
    by_time = len(now_hit) > 0 and all(now.gates[j].kind in kinds for j in now_hit)
    ok = np.flatnonzero(~later.gate_hits[:, now_hit].any(axis=1)) if by_time else np.array([], dtype=int)
    targets = dict(first_month)
    if len(ok):
        targets[-1] = int(ok[0])
    for j, k in targets.items():  # refine to the day inside the month before the first clear month
        start = as_of if k == 0 else months[k - 1]
        days = [start + pd.Timedelta(days=d) for d in range(1, (months[k] - start).days + 1)]
        fine = run(days)
        hit = ~fine.gate_hits[:, now_hit].any(axis=1) if j < 0 else ~fine.gate_hits[:, j]
        at = int(np.flatnonzero(hit)[0]) if hit.any() else None
        day = days[at] if at is not None else months[k]
        if j < 0:
            eligible_on = day
            row_hits = fine.gate_hits[at] if at is not None else later.gate_hits[k]
            then_also = [
                {"code": g.code, "kind": g.kind, "zh": g.zh, "en": g.en}
                for g, h, h0 in zip(now.gates, row_hits, hit_now, strict=True)
                if h and not h0
            ]
        else:
            clears[j] = day
    gates = [
        {"code": now.gates[j].code, "kind": now.gates[j].kind, "zh": now.gates[j].zh, "en": now.gates[j].en,
         "clears_on": clears[j].date().isoformat() if j in clears else None}
        for j in watched
    ]  # fmt: skip
    return {"gates": gates, "eligible_on": eligible_on.date().isoformat() if eligible_on is not None else None,
            "then_also": then_also}  # fmt: skip


def explain(
    profile_row_frame: pd.DataFrame,
    ruleset: RuleSet,
    model: ScoringModel | None = None,
    *,
    max_changes: int = 3,
    max_options: int = 6,
) -> dict[str, Any]:
    """Everything the committee's path box shows for one enterprise: its decision's principal reasons,
    each with what would change it, what waiting alone does, and the minimal sets of changes.

    ``{"record", "reasons": [reason + {"fix": {"type", "date", "actions"}}], "waiting", "options"}``.
    A reason's fix type is ``time`` (a precondition met on `date`), ``history`` (a knock-out on past
    events lapsing on `date`), ``actions`` (single actions that clear the gate or recover the points),
    ``data`` (a missing datum: supplying it changes the reason) or ``none`` (nothing the enterprise
    can do alone, e.g. an age without a date, a threshold that needs several changes — see the
    options)."""
    from parkcredit.decision import decide
    from parkcredit.profile import COLUMNS, derive

    base = profile_row_frame[[c for c in COLUMNS if c in profile_row_frame.columns]].reset_index(drop=True)
    now = decide(derive(base), ruleset, model)
    record = now.record(0)
    eligible = bool(record["eligible"])
    waiting = {"gates": [], "eligible_on": None} if eligible else time_to_eligibility(base, ruleset, model)
    clears = {g["code"]: g["clears_on"] for g in waiting["gates"]}
    applicable = relevant_actions(base, ruleset)
    single = None
    if applicable:
        frame = pd.concat([base] * len(applicable), ignore_index=True)
        for i, (_, changes) in enumerate(applicable):
            for f, value in changes.items():
                frame.loc[i, f] = value
        single = decide(derive(frame), ruleset, model)
    gate_index = {g.code: j for j, g in enumerate(now.gates)}
    char_index = {code: j for j, c in enumerate(ruleset.characteristics) for code in c.codes}
    needs_data = {p.id for p in ruleset.spec.preconditions if "is_missing(" in p.require}
    needs_data |= {c.codes[-1] for c in ruleset.characteristics}  # each characteristic's missing bin
    reasons = []
    for reason in record["reasons"]:
        code, kind = reason["code"], reason["kind"]
        helped: list[int] = []
        if single is not None:
            if code in gate_index:
                helped = [i for i in range(len(applicable)) if not single.gate_hits[i, gate_index[code]]]
            elif code in char_index:
                j = char_index[code]
                helped = [i for i in range(len(applicable)) if single.points[i, j] > now.points[0, j] + 1e-9]
        fix: dict[str, Any] = {"type": "none", "date": None, "actions": []}
        if code in needs_data:  # a missing datum: supplying it (from its department) is what changes it
            fix["type"] = "data"
        if clears.get(code):
            fix = {"type": "time" if kind == "precondition" else "history", "date": clears[code], "actions": []}
        if helped:
            fix["type"] = fix["type"] if fix["type"] != "none" else "actions"
            fix["actions"] = [{"code": applicable[i][0].code, "zh": applicable[i][0].zh, "en": applicable[i][0].en}
                              for i in helped]  # fmt: skip
        reasons.append({**reason, "fix": fix})
    options = [] if eligible else path_to_eligibility(base, ruleset, model, max_changes, max_options=max_options)
    return {"record": record, "reasons": reasons, "waiting": waiting, "options": options}
