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
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from parkcredit.profile.derive import DERIVED, derive
from parkcredit.profile.freshness import SIGNALS
from parkcredit.rules.compile import CompiledCharacteristic, RuleSet
from parkcredit.rules.expr import Context, Text

__all__ = ["MAX_REASONS", "MODEL_DECIDES", "Decisions", "reason_texts", "ModelOutput", "ScoringModel", "decide"]

MAX_REASONS = 4
MODEL_DECIDES = ("pd_ceiling", "limit_scaling")  # model modes whose output can change a decision
POINTS_PER_LOGODDS = 10.0  # ranks a model contribution of 1 log-odds like 10 lost score points
_STATUS = np.array(["NOT_APPLICABLE", "ELIGIBLE", "INELIGIBLE"], dtype=object)  # gathered by code


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
            "preconditions_failed": [
                {"code": g.code, "zh": g.zh, "en": g.en} for g in hits if g.kind == "precondition"
            ],
            "knockouts": [{"code": g.code, "zh": g.zh, "en": g.en} for g in hits if g.kind == "knockout"],
            "pd": None if pd.isna(row["pd"]) else _round(row["pd"], 6),
            "valid_until": _jsonable(row["valid_until"]),
            "reasons": reasons,
            "trace": dims,
            "contributions": None,
            "model_view": self.model_view(i),
        }
        if self.model is not None:
            m = self.model
            out["contributions"] = {
                "base_value": _round(m.base_value, 9),
                "raw_score": _round(m.raw[i], 9),
                "features": {f: _round(v, 9) for f, v in zip(m.features, m.contributions[i], strict=True)},
            }
        return out

    def model_view(self, i: int) -> list[dict[str, Any]]:
        """The model's own view for row `i`, shown apart from the reasons when the model does not decide
        (advisory): the reason groups that raise its PD most, in log-odds, at most MAX_REASONS."""
        if self.model is None or self.model_info.get("mode") in MODEL_DECIDES:
            return []
        m = self.model
        groups = _model_groups(m)
        by_group = np.zeros(len(groups))
        np.add.at(by_group, [groups.index(g) for g in m.groups], m.contributions[i])
        order = sorted((j for j in range(len(groups)) if by_group[j] > 1e-9), key=lambda j: -by_group[j])
        out = []
        for j in order[:MAX_REASONS]:
            zh, en = m.group_text.get(groups[j], (groups[j], groups[j]))
            out.append({"code": groups[j], "kind": "model", "zh": zh, "en": en, "logodds": _round(by_group[j])})
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


def _case_names(c: CompiledCharacteristic) -> set[str]:
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
    gates.append(
        Gate("SCORE_BELOW_THRESHOLD", "threshold", f"总分低于{s.threshold:g}分", f"Total score below {s.threshold:g}")
    )
    gates.append(
        Gate(
            "MODEL_PD_ABOVE_CEILING", "model", "模型违约概率高于上限", "Model probability of default above the ceiling"
        )
    )
    gates.append(
        Gate(
            "LIMIT_BELOW_MINIMUM",
            "limit",
            f"可贷额度低于{s.limit.minimum_yuan:,}元",
            f"Limit below {s.limit.minimum_yuan:,} yuan",
        )
    )
    return gates


def reason_texts(rs: RuleSet) -> dict[str, tuple[str, str, str]]:
    """Every reason code `rs` can give -> (kind, zh, en): its gates and each characteristic's bins, so a
    list that stores only a code (the enterprise list's top reason) can show the text."""
    out = {g.code: (g.kind, g.zh, g.en) for g in _gates(rs)}
    for c in rs.characteristics:
        for b, code in enumerate(c.codes):
            zh, en = c.label(b if b < len(c.codes) - 1 else -1)
            out[code] = ("score", f"{c.spec.zh}：{zh}", f"{c.spec.en}: {en}")
    return out


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
    applicable = cast(np.ndarray, ~pre_fail.any(axis=1))  # numpy types any(axis=1) as bool | array

    n_chars = len(rs.characteristics)
    bins = np.empty((n, n_chars), dtype=np.int16, order="F")  # filled column by column
    points = np.empty((n, n_chars), dtype="float64", order="F")
    for j, c in enumerate(rs.characteristics):
        bins[:, j], points[:, j] = c.evaluate(ctx)

    dim_of = np.zeros((n_chars, len(spec.dimensions)))  # characteristic -> dimension, summed by one matmul
    dim_of[np.arange(n_chars), [c.dimension for c in rs.characteristics]] = 1.0
    dim_scores = points @ dim_of
    weights = np.array([d.weight for d in spec.dimensions])
    # rounded before any comparison: a total that is exactly 60 by the points must not become
    # 59.999999999 through float summation order (the threshold and bands would then depend on it)
    dim_scores = np.round(dim_scores, 6)
    total: np.ndarray = np.round(dim_scores @ weights, 6)
    floors = np.array([d.floor for d in spec.dimensions])
    floor_fail: np.ndarray = dim_scores < floors
    below_threshold: np.ndarray = total < spec.threshold

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
    pd_fail: np.ndarray = np.zeros(n, bool)
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
    if rs.limit_deduct is not None:  # after the cap: the cap bounds all unsecured credit of the enterprise
        capped = capped - np.nan_to_num(np.array(rs.limit_deduct(ctx), dtype="float64"), nan=0.0)
    limit = (np.floor(np.maximum(capped, 0.0) / step) * step).astype(np.int64)
    limit_fail: np.ndarray = eligible & (limit < max(spec.limit.minimum_yuan, 1))
    eligible &= ~limit_fail
    limit = np.where(eligible, limit, 0)

    status = _STATUS[np.where(applicable, np.where(eligible, 1, 2), 0)]
    valid_until = _valid_until(frame, rs)

    gates = _gates(rs)
    gate_hits = np.column_stack(
        [pre_fail, ko, floor_fail & applicable[:, None], (below_threshold & applicable)[:, None],
         (pd_fail & applicable)[:, None], limit_fail[:, None]]
    )  # fmt: skip
    # the model's contributions are reasons only where its mode lets it decide; advisory: its view, apart
    deciding_model = model_out if policy.mode in MODEL_DECIDES else None
    slots, values = _rank_reasons(rs, gate_hits, points, deciding_model)
    reason_codes = _slot_codes(rs, gates, bins, model_out, slots)

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
            **{f"reason_{r + 1}": pd.Series(reason_codes[:, r], dtype=object) for r in range(MAX_REASONS)},
        }
    )
    return Decisions(
        ruleset=rs, inputs=frame, summary=summary, bins=bins, points=points, gates=gates, gate_hits=gate_hits,
        reason_slots=slots, reason_values=values, model=model_out, model_info=model_info,
    )  # fmt: skip


def _rank_reasons(
    rs: RuleSet, gate_hits: np.ndarray, points: np.ndarray, model: ModelOutput | None
) -> tuple[np.ndarray, np.ndarray]:
    """Reason slots and values, (n, MAX_REASONS) each: the hit gates in file order, then the
    characteristics and model groups that cost the most (ties keep rule-file order)."""
    n, n_gates = gate_hits.shape
    best = np.array([c.max_points for c in rs.characteristics])
    weights = np.array([c.weight for c in rs.characteristics])
    # value shown with a reason = priority / scale: characteristics points lost (priority =
    # points lost × weight, the total-score points it cost), model groups log-odds (× 10)
    priority = np.subtract(best, points, out=np.empty(points.shape))  # C order: rows are contiguous for argmax
    priority *= weights
    scales = np.where(weights > 0, weights, np.inf)
    if model is not None:
        groups = _model_groups(model)
        member = np.zeros((len(model.groups), len(groups)))  # feature -> reason group, summed by one matmul
        member[np.arange(len(model.groups)), [groups.index(g) for g in model.groups]] = 1.0
        priority = np.hstack([priority, np.maximum(model.contributions @ member, 0.0) * POINTS_PER_LOGODDS])
        scales = np.concatenate([scales, np.full(len(groups), POINTS_PER_LOGODDS)])
    slots, values = _top(priority, min(MAX_REASONS, priority.shape[1]))
    slots = np.where(slots >= 0, slots + n_gates, -1)
    values = np.where(slots >= 0, values / scales[np.maximum(slots - n_gates, 0)], 0.0)
    with_gates = np.flatnonzero(gate_hits.any(axis=1))
    if len(with_gates):
        # gates outrank every score shortfall: each row's hit gates (file order) come first, its
        # top shortfalls fill the slots left; a gate's value is 0
        hits = gate_hits[with_gates]
        counts = hits.sum(axis=1)
        row, gate = np.nonzero(hits)  # row-major: each row's hit gates in file order
        rank = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
        first = rank < MAX_REASONS
        gate_slots = np.full((len(with_gates), MAX_REASONS), -1, dtype=np.int64)
        gate_slots[row[first], rank[first]] = gate[first]
        g = np.minimum(counts, MAX_REASONS)[:, None]
        k = np.arange(MAX_REASONS)[None, :]
        pick = np.where(k < g, k, MAX_REASONS + k - g)
        both = np.hstack([gate_slots, slots[with_gates]])
        slots[with_gates] = np.take_along_axis(both, pick, axis=1)
        both_values = np.hstack([np.zeros_like(values[with_gates]), values[with_gates]])
        values[with_gates] = np.take_along_axis(both_values, pick, axis=1)
    return slots.astype(np.int32), values


def _top(priority: np.ndarray, k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Column and value of each row's k_max largest entries above 1e-9, descending, -1 padded.

    argmax takes the first of equals, so ties keep column order (as a stable sort would)
    without sorting every column of every row. Masks `priority` in place."""
    priority = np.ascontiguousarray(priority)  # no copy when it already is
    n, m = priority.shape
    flat = priority.reshape(-1)  # a view, so masking below updates priority
    row_start = np.arange(n) * m
    cols = np.full((n, MAX_REASONS), -1, dtype=np.int64)
    values = np.zeros((n, MAX_REASONS))
    for k in range(k_max):
        col = priority.argmax(axis=1)
        at = row_start + col
        top = flat[at]
        hit = top > 1e-9
        cols[:, k] = np.where(hit, col, -1)
        values[:, k] = np.where(hit, top, 0.0)
        flat[at] = -np.inf
    return cols, values


def _slot_codes(
    rs: RuleSet, gates: list[Gate], bins: np.ndarray, model: ModelOutput | None, slots: np.ndarray
) -> np.ndarray:
    """Reason codes of `slots` (n, MAX_REASONS), vectorised: one gather from a flat code table.

    Table layout: gate codes, then each characteristic's codes per bin (missing bin last), then
    model groups, then None (for "no reason")."""
    n_gates, chars = len(gates), rs.characteristics
    groups = _model_groups(model) if model is not None else []
    table: list[str | None] = [g.code for g in gates]
    offsets = []
    for c in chars:
        offsets.append(len(table))
        table.extend(c.codes)
    model_start = len(table)
    table.extend(groups)
    table.append(None)
    index = np.full(slots.shape, len(table) - 1, dtype=np.int64)
    is_gate = (slots >= 0) & (slots < n_gates)
    index[is_gate] = slots[is_gate]
    j = slots - n_gates
    is_char = (j >= 0) & (j < len(chars))
    if is_char.any():
        rows, cols = np.nonzero(is_char)
        jj = j[rows, cols]
        n_codes = np.array([len(c.codes) for c in chars])
        b = bins[rows, jj].astype(np.int64) % n_codes[jj]  # bin -1 (missing) is stored last
        index[rows, cols] = np.array(offsets)[jj] + b
    k = slots - n_gates - len(chars)
    is_model = (k >= 0) & (k < len(groups))
    index[is_model] = model_start + k[is_model]
    return np.array(table, dtype=object)[index]


def _join_codes(codes: list[str], hits: np.ndarray) -> np.ndarray:
    """';'-joined codes of each row's hits; built once per distinct hit pattern (there are few)."""
    out = np.full(hits.shape[0], "", dtype=object)
    any_hit = hits.any(axis=1)
    if not any_hit.any():
        return out
    sub = hits[any_hit]
    bits = np.packbits(sub, axis=1, bitorder="little")  # (m, ceil(k/8)) bytes: one key per pattern
    keys = bits.view(np.dtype((np.void, bits.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    text = np.array([";".join(c for c, h in zip(codes, sub[i], strict=True) if h) for i in first], dtype=object)
    out[any_hit] = text[inverse.reshape(-1)]
    return out


def _valid_until(frame: pd.DataFrame, rs: RuleSet) -> pd.Series:
    """as_of + N months, or earlier when a certificate or grade the score relied on expires: the
    `valid_until.not_after` dates, and the validity of every graded signal the rule set reads.

    Calendar months as `pd.DateOffset(months=N)` counts them (Jan 31 + 1 month = Feb 28/29),
    computed on numpy days; returned as an Arrow date column (values are `datetime.date`)
    rather than building a Python date object per row."""
    as_of = _days(frame["as_of"])
    month = as_of.astype("datetime64[M]")
    target = month + rs.spec.valid_until.months
    first = target.astype("datetime64[D]")
    month_len = (target + 1).astype("datetime64[D]") - first
    until = first + np.minimum(as_of - month.astype("datetime64[D]"), month_len - 1)
    # a graded signal the rule set reads ends the decision's validity with its own (profile.freshness)
    read = rs.fields_read
    signals = [f"{g.prefix}_valid_until" for g in SIGNALS if {g.field, g.in_force, f"{g.prefix}_stale"} & read]
    for name in dict.fromkeys([*rs.valid_until_fields, *signals]):
        date = _days(frame[name])
        with np.errstate(invalid="ignore"):
            ends_sooner = (date >= as_of) & (date < until)  # NaT compares false
        until = np.where(ends_sooner, date, until)
    return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(until, type=pa.date32(), from_pandas=True)))


def _days(col: pd.Series) -> np.ndarray:
    dtype = col.dtype  # a datetime64 column (the canonical frame's) is not parsed again (issue 18)
    values = col.to_numpy() if isinstance(dtype, np.dtype) and dtype.kind == "M" else pd.to_datetime(col).to_numpy()
    return values.astype("datetime64[D]")
