"""Rules (+ optional model) -> decisions: the one function every path calls.

`decide(profiles, ruleset, model)` works on a frame of profiles, vectorised: one enterprise is
a frame of one row, a park is a frame of ten thousand, Spark hands it frames of a partition.
It returns `Decisions`: a summary frame (one row per enterprise) plus the arrays of the full
rule trace, from which `record(i)` builds the complete decision of DESIGN.md §6.

Reason codes follow the adverse-action practice (DESIGN §10): gates first (preconditions,
knock-outs, floors, threshold, model ceiling, minimum limit) in file order, then the
characteristics that cost the most total-score points against their best bin
((best − points) × dimension weight), then model contributions (grouped by reason code, in
log-odds × `points_per_logodds`); at most four, only those that actually cost something,
ties broken by rule-file order.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from parkcredit.profile.derive import DERIVED, derive
from parkcredit.rules.compile import RuleSet
from parkcredit.rules.expr import Context, Text

__all__ = ["MAX_REASONS", "Decisions", "ModelOutput", "ScoringModel", "decide"]

MAX_REASONS = 4
POINTS_PER_LOGODDS = 10.0  # ranks a model contribution of 1 log-odds like 10 lost score points
_GATE_PRIORITY = 1e9


@dataclass
class ModelOutput:
    """What a PD model returns for a batch: probabilities and exact log-odds contributions."""

    pd: np.ndarray  # (n,) calibrated probability of default
    raw: np.ndarray  # (n,) raw score in log-odds = base_value + contributions.sum(1)
    base_value: float
    contributions: np.ndarray  # (n, n_features) log-odds
    features: list[str]
    groups: list[str]  # reason code of each feature (several features may share one)
    group_text: dict[str, tuple[str, str]]  # reason code -> (zh, en)
    version: str
    status: str = "ok"


class ScoringModel(Protocol):
    """The seam the model package implements; the decision never imports LightGBM."""

    version: str

    def explain(self, frame: pd.DataFrame) -> ModelOutput: ...


@dataclass
class Gate:
    code: str
    kind: str  # precondition | knockout | floor | threshold | model | limit
    zh: str
    en: str


@dataclass
class Decisions:
    """Decisions for a batch: `summary` per row, plus the arrays behind every record."""

    ruleset: RuleSet
    inputs: pd.DataFrame  # derived profile frame
    summary: pd.DataFrame
    bins: np.ndarray  # (n, n_chars) int16, -1 = missing bin
    points: np.ndarray  # (n, n_chars)
    gates: list[Gate]
    gate_hits: np.ndarray  # (n, n_gates) bool
    reason_slots: np.ndarray  # (n, MAX_REASONS) int32; < n_gates a gate, then chars, then model groups; -1 none
    reason_values: np.ndarray  # (n, MAX_REASONS) points lost / log-odds for each reason
    model: ModelOutput | None
    model_info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.summary)

    def reason_code(self, i: int, slot: int) -> tuple[str, str, str, str]:
        """(code, kind, zh, en) of reason `slot` for row `i`."""
        n_gates, chars = len(self.gates), self.ruleset.characteristics
        if slot < n_gates:
            g = self.gates[slot]
            return g.code, g.kind, g.zh, g.en
        if slot < n_gates + len(chars):
            c = chars[slot - n_gates]
            b = int(self.bins[i, slot - n_gates])
            zh, en = c.label(b)
            return c.codes[b], "score", f"{c.spec.zh}：{zh}", f"{c.spec.en}: {en}"
        assert self.model is not None
        code = _model_groups(self.model)[slot - n_gates - len(chars)]
        zh, en = self.model.group_text.get(code, (code, code))
        return code, "model", zh, en

    def record(self, i: int) -> dict[str, Any]:
        """The full decision for row `i` (DESIGN.md §6), JSON-ready and deterministic."""
        row = self.summary.iloc[i]
        rs = self.ruleset
        inputs = self.inputs.iloc[i]
        dims = []
        for d, dim in enumerate(rs.spec.dimensions):
            chars = []
            for c_idx, c in enumerate(rs.characteristics):
                if c.dimension != d:
                    continue
                b = int(self.bins[i, c_idx])
                zh, en = c.label(b)
                names = sorted((c.value.names if c.value else set()) | _case_names(c))
                chars.append(
                    {
                        "id": c.spec.id,
                        "zh": c.spec.zh,
                        "en": c.spec.en,
                        "inputs": {n: _jsonable(inputs.get(n)) for n in names if n != "as_of"},
                        "bin": "MISSING" if b < 0 else c.spec.outcomes()[b].id,
                        "bin_zh": zh,
                        "bin_en": en,
                        "points": _round(self.points[i, c_idx]),
                        "max_points": _round(c.max_points),
                    }
                )
            dims.append(
                {"id": dim.id, "zh": dim.zh, "en": dim.en, "weight": dim.weight, "floor": dim.floor,
                 "score": _round(row[f"score_{dim.id}"]), "characteristics": chars}
            )  # fmt: skip
        reasons = []
        for r in range(MAX_REASONS):
            slot = int(self.reason_slots[i, r])
            if slot < 0:
                break
            code, kind, zh, en = self.reason_code(i, slot)
            value = float(self.reason_values[i, r])
            entry: dict[str, Any] = {"code": code, "kind": kind, "zh": zh, "en": en}
            if kind == "score":
                entry["points_lost"] = _round(value)
            elif kind == "model":
                entry["logodds"] = _round(value)
            reasons.append(entry)
        hits = [g for g, hit in zip(self.gates, self.gate_hits[i], strict=True) if hit]
        out: dict[str, Any] = {
            "uscc": row["uscc"],
            "product": rs.product,
            "as_of": _jsonable(inputs["as_of"]),
            "ruleset": rs.describe(),
            "model": self.model_info,
            "status": row["status"],
            "eligible": bool(row["eligible"]),
            "limit_yuan": int(row["limit_yuan"]),
            "band": row["band"],
            "total_score": _round(row["total_score"]),
            "dimension_scores": {d.id: _round(row[f"score_{d.id}"]) for d in rs.spec.dimensions},
            "preconditions_failed": [{"code": g.code, "zh": g.zh, "en": g.en} for g in hits if g.kind == "precondition"],
            "knockouts": [{"code": g.code, "zh": g.zh, "en": g.en} for g in hits if g.kind == "knockout"],
            "pd": None if pd.isna(row["pd"]) else _round(row["pd"], 6),
            "valid_until": _jsonable(row["valid_until"]),
            "reasons": reasons,
            "trace": dims,
            "contributions": None,
        }
        if self.model is not None:
            m = self.model
            out["contributions"] = {
                "base_value": _round(m.base_value, 9),
                "raw_score": _round(m.raw[i], 9),
                "features": {f: _round(v, 9) for f, v in zip(m.features, m.contributions[i], strict=True)},
            }
        return out

    def records(self) -> list[dict[str, Any]]:
        return [self.record(i) for i in range(len(self))]


def canonical_json(record: dict[str, Any]) -> str:
    """The byte-for-byte form of a decision record used for hashing and replay."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _round(x: Any, digits: int = 4) -> float:
    return round(float(x), digits)


def _jsonable(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.floating | float):
        v = float(value)
        return int(v) if v.is_integer() and abs(v) < 2**53 else round(v, 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _case_names(c: Any) -> set[str]:
    names: set[str] = set()
    for comp in c.cases:
        names |= comp.names
    if c.missing is not None:
        names |= c.missing.names
    return names


def _model_groups(model: ModelOutput) -> list[str]:
    return list(dict.fromkeys(model.groups))


def _gates(rs: RuleSet) -> list[Gate]:
    s = rs.spec
    gates = [Gate(p.id, "precondition", p.zh, p.en) for p in s.preconditions]
    gates += [Gate(k.id, "knockout", k.zh, k.en) for k in s.knockouts]
    gates += [
        Gate(f"FLOOR_{d.id.upper()}", "floor", f"{d.zh}得分低于{d.floor:g}分", f"{d.en} score below {d.floor:g}")
        for d in s.dimensions
    ]
    gates.append(Gate("SCORE_BELOW_THRESHOLD", "threshold", f"总分低于{s.threshold:g}分", f"Total score below {s.threshold:g}"))
    gates.append(Gate("MODEL_PD_ABOVE_CEILING", "model", "模型违约概率高于上限", "Model probability of default above the ceiling"))
    gates.append(
        Gate("LIMIT_BELOW_MINIMUM", "limit", f"可贷额度低于{s.limit.minimum_yuan:,}元", f"Limit below {s.limit.minimum_yuan:,} yuan")
    )
    return gates


def _needs_derive(frame: pd.DataFrame) -> bool:
    return not set(DERIVED) <= set(frame.columns)


def decide(profiles: pd.DataFrame, ruleset: RuleSet, model: ScoringModel | None = None) -> Decisions:
    """Decide every row of `profiles` (a canonical profile frame, see `profile.coerce`)."""
    frame = derive(profiles) if _needs_derive(profiles) else profiles
    frame = frame.reset_index(drop=True)
    rs, spec = ruleset, ruleset.spec
    n = len(frame)
    ctx = Context(frame, rs.types)

    pre_fail = np.column_stack([~p(ctx) for p in rs.preconditions]) if rs.preconditions else np.zeros((n, 0), bool)
    ko = np.column_stack([k(ctx) for k in rs.knockouts]) if rs.knockouts else np.zeros((n, 0), bool)
    applicable = ~pre_fail.any(axis=1)

    n_chars = len(rs.characteristics)
    bins = np.empty((n, n_chars), dtype=np.int16)
    points = np.empty((n, n_chars), dtype="float64")
    for j, c in enumerate(rs.characteristics):
        bins[:, j], points[:, j] = c.evaluate(ctx)

    dim_of = np.array([c.dimension for c in rs.characteristics])
    dim_scores = np.column_stack([points[:, dim_of == d].sum(axis=1) for d in range(len(spec.dimensions))])
    weights = np.array([d.weight for d in spec.dimensions])
    # rounded before any comparison: a total that is exactly 60 by the points must not become
    # 59.999999999 through float summation order (the threshold and bands would then depend on it)
    dim_scores = np.round(dim_scores, 6)
    total = np.round(dim_scores @ weights, 6)
    floors = np.array([d.floor for d in spec.dimensions])
    floor_fail = dim_scores < floors
    below_threshold = total < spec.threshold

    band_ids = tuple(b.id for b in spec.bands)
    band_conditions = [total >= (b.min_score if b.min_score is not None else -np.inf) for b in spec.bands]
    band_code = np.select(band_conditions, np.arange(len(band_ids), dtype=np.int32), default=len(band_ids) - 1)
    band = np.array(band_ids, dtype=object)[band_code]

    policy = spec.model
    model_out: ModelOutput | None = None
    model_info: dict[str, Any] = {"version": None, "status": "none", "mode": policy.mode}
    pd_arr = np.full(n, np.nan)
    if model is not None and policy.mode != "off":
        model_out = model.explain(frame)
        pd_arr = np.asarray(model_out.pd, dtype="float64")
        model_info = {"version": model_out.version, "status": model_out.status, "mode": policy.mode}
    pd_fail = np.zeros(n, bool)
    if policy.mode == "pd_ceiling" and model_out is not None:
        pd_fail = pd_arr > float(policy.pd_ceiling or 1.0)

    eligible = applicable & ~ko.any(axis=1) & ~floor_fail.any(axis=1) & ~below_threshold & ~pd_fail

    # limit (yuan): formula, model scaling, cap, rounded down; zero whenever not eligible
    ctx.extra.update({"band": Text(band_code, band_ids), "total_score": total, "pd": pd_arr})
    for d, dim in enumerate(spec.dimensions):
        ctx.extra[f"score_{dim.id}"] = dim_scores[:, d]
    for var, expr in rs.limit_lets:
        ctx.extra[var] = expr(ctx)
    gross = np.array(rs.limit_formula(ctx), dtype="float64")
    if policy.mode == "limit_scaling" and model_out is not None:
        factor = np.full(n, policy.limit_scaling[-1][1])
        for edge, f in reversed(policy.limit_scaling):
            factor = np.where(pd_arr < edge, f, factor)
        gross = gross * factor
    step = spec.limit.round_down_to_yuan
    capped = np.minimum(np.nan_to_num(gross, nan=0.0, neginf=0.0, posinf=0.0), rs.cap_yuan)
    limit = (np.floor(np.maximum(capped, 0.0) / step) * step).astype(np.int64)
    limit_fail = eligible & (limit < max(spec.limit.minimum_yuan, 1))
    eligible &= ~limit_fail
    limit = np.where(eligible, limit, 0)

    status = np.where(~applicable, "NOT_APPLICABLE", np.where(eligible, "ELIGIBLE", "INELIGIBLE")).astype(object)
    valid_until = _valid_until(frame, rs)

    gates = _gates(rs)
    gate_hits = np.column_stack(
        [pre_fail, ko, floor_fail & applicable[:, None], (below_threshold & applicable)[:, None],
         (pd_fail & applicable)[:, None], limit_fail[:, None]]
    )  # fmt: skip
    slots, values = _rank_reasons(rs, gate_hits, points, model_out)

    summary = pd.DataFrame(
        {
            "uscc": frame["uscc"].astype(object),
            "as_of": frame["as_of"],
            "product": rs.product,
            "ruleset_version": rs.version,
            "status": pd.Series(status, dtype=object),  # object: no str inference
            "eligible": eligible,
            "limit_yuan": limit,
            "band": pd.Series(band, dtype=object),  # object: no str inference
            "total_score": np.round(total, 4),
            **{f"score_{d.id}": np.round(dim_scores[:, i], 4) for i, d in enumerate(spec.dimensions)},
            "knockouts": pd.Series(_join_codes([g.code for g in gates if g.kind == "knockout"], ko), dtype=object),
            "pd": pd_arr,
            "valid_until": valid_until,
        }
    )
    decisions = Decisions(
        ruleset=rs, inputs=frame, summary=summary, bins=bins, points=points, gates=gates, gate_hits=gate_hits,
        reason_slots=slots, reason_values=values, model=model_out, model_info=model_info,
    )  # fmt: skip
    for r in range(MAX_REASONS):
        summary[f"reason_{r + 1}"] = pd.Series(_slot_codes(decisions, slots[:, r]), dtype=object)
    return decisions


def _rank_reasons(
    rs: RuleSet, gate_hits: np.ndarray, points: np.ndarray, model: ModelOutput | None
) -> tuple[np.ndarray, np.ndarray]:
    n, n_gates = gate_hits.shape
    best = np.array([c.max_points for c in rs.characteristics])
    weights = np.array([c.weight for c in rs.characteristics])
    shortfall = (best - points) * weights  # total-score points this characteristic cost
    gate_priority = np.where(gate_hits, _GATE_PRIORITY - np.arange(n_gates), 0.0)
    parts = [gate_priority, shortfall]
    # value shown with a reason = priority / scale: gates 0, characteristics points lost
    # (priority = points lost × weight), model groups log-odds (priority = log-odds × 10)
    scale = [np.full(n_gates, np.inf), np.where(weights > 0, weights, np.inf)]
    if model is not None:
        groups = _model_groups(model)
        member = np.zeros((len(model.groups), len(groups)))  # feature -> reason group, summed by one matmul
        member[np.arange(len(model.groups)), [groups.index(g) for g in model.groups]] = 1.0
        parts.append(np.maximum(model.contributions @ member, 0.0) * POINTS_PER_LOGODDS)
        scale.append(np.full(len(groups), POINTS_PER_LOGODDS))
    priority = np.hstack(parts)
    scales = np.concatenate(scale)
    # the MAX_REASONS largest, descending; argmax takes the first of equals, so ties keep
    # rule-file order (as a stable sort would) without sorting all ~60 columns of every row
    k_max = min(MAX_REASONS, priority.shape[1])
    rows = np.arange(n)
    slots = np.full((n, MAX_REASONS), -1, dtype=np.int32)
    out_values = np.zeros((n, MAX_REASONS))
    for k in range(k_max):
        best_col = priority.argmax(axis=1)
        top = priority[rows, best_col]
        hit = top > 1e-9
        slots[:, k] = np.where(hit, best_col, -1)
        out_values[:, k] = np.where(hit, top / scales[best_col], 0.0)
        priority[rows, best_col] = -np.inf  # priority is ours (hstack made it): mask in place
    return slots, out_values


def _slot_codes(d: Decisions, slots: np.ndarray) -> np.ndarray:
    """Reason codes of one reason column, vectorised over rows: one gather from a flat code table.

    Table layout: gate codes, then each characteristic's codes per bin (missing bin last), then
    model groups, then None (for "no reason")."""
    n_gates, chars = len(d.gates), d.ruleset.characteristics
    groups = _model_groups(d.model) if d.model is not None else []
    table = [g.code for g in d.gates]
    offsets = []
    for c in chars:
        offsets.append(len(table))
        table.extend(c.codes)
    model_start = len(table)
    table.extend(groups)
    table.append(None)
    codes = np.array(table, dtype=object)
    n = len(slots)
    index = np.full(n, len(table) - 1, dtype=np.int64)
    is_gate = (slots >= 0) & (slots < n_gates)
    index[is_gate] = slots[is_gate]
    j = slots - n_gates
    is_char = (j >= 0) & (j < len(chars))
    if is_char.any():
        rows = np.flatnonzero(is_char)
        jj = j[rows]
        n_codes = np.array([len(c.codes) for c in chars])
        b = d.bins[rows, jj].astype(np.int64) % n_codes[jj]  # bin -1 (missing) is stored last
        index[rows] = np.array(offsets)[jj] + b
    k = slots - n_gates - len(chars)
    is_model = (k >= 0) & (k < len(groups))
    index[is_model] = model_start + k[is_model]
    return codes[index]


def _join_codes(codes: list[str], hits: np.ndarray) -> np.ndarray:
    """';'-joined codes of each row's hits; built once per distinct hit pattern (there are few)."""
    out = np.full(hits.shape[0], "", dtype=object)
    any_hit = hits.any(axis=1)
    if not any_hit.any():
        return out
    sub = hits[any_hit]
    keys = np.packbits(sub, axis=1, bitorder="little")  # (m, ceil(k/8)) bytes: one key per pattern
    keys = keys.view(np.dtype((np.void, keys.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    text = np.array([";".join(c for c, h in zip(codes, sub[i], strict=True) if h) for i in first], dtype=object)
    out[any_hit] = text[inverse.reshape(-1)]
    return out


def _valid_until(frame: pd.DataFrame, rs: RuleSet) -> pd.Series:
    """as_of + N months, or earlier when a certificate or grade the score relied on expires."""
    as_of = pd.to_datetime(frame["as_of"])
    until = as_of + pd.DateOffset(months=rs.spec.valid_until.months)
    for name in rs.valid_until_fields:
        date = pd.to_datetime(frame[name])
        ends_sooner = date.notna() & (date >= as_of) & (date < until)
        until = until.where(~ends_sooner, date)
    return until.dt.date
