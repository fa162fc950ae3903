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
import functools
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from parkcredit.profile.derive import DERIVED, derive_columns, with_derived
from parkcredit.profile.frame import Columns, FrameColumns, ProfileColumns, frame_of_dumps
from parkcredit.profile.freshness import SIGNALS
from parkcredit.profile.schema import FIELDS, Profile
from parkcredit.rules.compile import CompiledCharacteristic, RuleSet
from parkcredit.rules.expr import Context, Text

__all__ = [
    "MAX_REASONS", "MODEL_DECIDES", "Decisions", "ModelOutput", "ScoringModel", "decide", "decide_profiles",
    "reason_texts",
]  # fmt: skip

MAX_REASONS = 4
MODEL_DECIDES = ("pd_ceiling", "limit_scaling")  # model modes whose output can change a decision
POINTS_PER_LOGODDS = 10.0  # ranks a model contribution of 1 log-odds like 10 lost score points
_STATUS = np.array(["NOT_APPLICABLE", "ELIGIBLE", "INELIGIBLE"], dtype=object)  # gathered by code
_KINDS = {name: info.kind for name, info in {**FIELDS, **DERIVED}.items()}  # what a frame column holds


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


class _Source(Protocol):
    """Where a batch's profiles came from: a frame (`decide`) or dumped profiles (`decide_profiles`)."""

    columns: Columns

    def inputs(self) -> pd.DataFrame: ...  # the derived profile frame
    def uscc(self) -> pd.Series: ...  # object values, RangeIndex
    def uscc_values(self) -> np.ndarray: ...  # the same values
    def as_of(self) -> pd.Series: ...
    def input_values(self, i: int, names: list[str]) -> list[Any]: ...  # `_jsonable(inputs.iloc[i].get(name))`
    def explain(self, model: ScoringModel) -> ModelOutput: ...


class _FrameSource:
    def __init__(self, frame: pd.DataFrame, derived: bool):
        self.frame = frame  # RangeIndex
        self.columns: Columns = FrameColumns(frame)
        self.derived = derived
        self._inputs: pd.DataFrame | None = None if derived else frame
        self._row: tuple[int, pd.Series] | None = None

    def inputs(self) -> pd.DataFrame:
        if self._inputs is None:
            self._inputs = with_derived(self.frame, self.columns)
        return self._inputs

    def uscc(self) -> pd.Series:
        return self.frame["uscc"].astype(object)

    def uscc_values(self) -> np.ndarray:
        return self.uscc().to_numpy()

    def as_of(self) -> pd.Series:
        return self.frame["as_of"]

    def input_values(self, i: int, names: list[str]) -> list[Any]:
        if self._row is None or self._row[0] != i:
            self._row = (i, self.inputs().iloc[i])
        row = self._row[1]
        return [_jsonable(row.get(n)) for n in names]

    def explain(self, model: ScoringModel) -> ModelOutput:
        return model.explain(self.inputs())


class _ProfileSource:
    def __init__(self, columns: ProfileColumns):
        self.columns: Columns = columns
        self.rows = columns.rows
        self._inputs: pd.DataFrame | None = None

    def inputs(self) -> pd.DataFrame:
        if self._inputs is None:
            self._inputs = with_derived(frame_of_dumps(self.rows), self.columns)
        return self._inputs

    def uscc(self) -> pd.Series:
        return pd.Series(self.uscc_values(), dtype=object)

    def uscc_values(self) -> np.ndarray:
        out = np.empty(len(self.rows), dtype=object)
        out[:] = [r.get("uscc") for r in self.rows]
        return out

    def as_of(self) -> pd.Series:
        return pd.Series(self.columns.dates("as_of").astype("datetime64[s]"))

    def input_values(self, i: int, names: list[str]) -> list[Any]:
        """What `inputs().iloc[i].get(name)` gives on the canonical frame, read off the columns."""
        cols, out = self.columns, []
        for name in names:
            kind = _KINDS.get(name)
            if kind in ("int", "float", "bool"):
                value: Any = cols.num(name)[i]
            elif kind == "date":
                value = cols.dates(name)[i]
            elif kind == "enum":
                info = FIELDS.get(name) or DERIVED[name]
                codes, vocab = cols.codes(name, info.choices)
                value = vocab[codes[i]] if codes[i] >= 0 else None
            elif kind == "str":
                value = cols.objects(name)[i]
            else:  # not a column of the frame: `row.get` gives None
                value = None
            out.append(_jsonable(value))
        return out

    def explain(self, model: ScoringModel) -> ModelOutput:
        explain_columns = getattr(model, "explain_columns", None)
        if explain_columns is not None:
            out: ModelOutput | None = explain_columns(self.columns)
            if out is not None:
                return out
        return model.explain(self.inputs())


@dataclass
class _Outcome:
    """The per-row arrays of a batch's decisions, from which `summary` and `record` are built."""

    status: np.ndarray  # object
    eligible: np.ndarray
    limit: np.ndarray
    band: np.ndarray  # object
    total: np.ndarray  # rounded to 4, as the summary shows it
    dim_scores: np.ndarray  # (n, dims) rounded to 4
    knockouts: np.ndarray  # (n, n_knockouts) bool
    pd: np.ndarray
    valid_until: np.ndarray  # datetime64[D]


class Decisions:
    """Decisions for a batch: `summary` per row, plus the arrays behind every record.

    `summary` and `inputs` (the derived profile frame) are built when first read: the API's one
    enterprise needs neither for its record."""

    def __init__(
        self, *, ruleset: RuleSet, source: _Source, outcome: _Outcome, bins: np.ndarray, points: np.ndarray,
        gates: list[Gate], gate_hits: np.ndarray, reason_slots: np.ndarray, reason_values: np.ndarray,
        model: ModelOutput | None, model_info: dict[str, Any],
    ):  # fmt: skip
        self.ruleset = ruleset
        self._source = source
        self._outcome = outcome
        self.bins = bins  # (n, n_chars) int16, -1 = missing bin
        self.points = points  # (n, n_chars)
        self.gates = gates
        self.gate_hits = gate_hits  # (n, n_gates) bool
        self.reason_slots = reason_slots  # (n, MAX_REASONS) int32; < n_gates a gate, then chars, then model groups
        self.reason_values = reason_values  # (n, MAX_REASONS) points lost / log-odds for each reason
        self.model = model
        self.model_info = model_info
        self._summary: pd.DataFrame | None = None
        self._uscc: np.ndarray | None = None
        self._n = len(outcome.status)

    @property
    def inputs(self) -> pd.DataFrame:
        """The derived profile frame."""
        return self._source.inputs()

    @property
    def summary(self) -> pd.DataFrame:
        """One row per enterprise: status, limit, band, scores, knock-outs, PD, validity, reasons."""
        if self._summary is None:
            self._summary = self._build_summary()
        return self._summary

    def _build_summary(self) -> pd.DataFrame:
        o, rs, spec = self._outcome, self.ruleset, self.ruleset.spec
        prep = _prepared(rs)
        reason_codes = _slot_codes(prep, rs, self.bins, self.model, self.reason_slots)
        return pd.DataFrame(
            {
                "uscc": self._source.uscc(),
                "as_of": self._source.as_of(),
                "product": rs.product,
                "ruleset_version": rs.version,
                "status": pd.Series(o.status, dtype=object),  # object: no str inference
                "eligible": o.eligible,
                "limit_yuan": o.limit,
                "band": pd.Series(o.band, dtype=object),  # object: no str inference
                "total_score": o.total,
                **{f"score_{d.id}": o.dim_scores[:, i] for i, d in enumerate(spec.dimensions)},
                "knockouts": pd.Series(_join_codes(prep.ko_codes, o.knockouts), dtype=object),
                "pd": o.pd,
                "valid_until": pd.Series(
                    pd.arrays.ArrowExtensionArray(pa.array(o.valid_until, type=pa.date32(), from_pandas=True))
                ),
                **{f"reason_{r + 1}": pd.Series(reason_codes[:, r], dtype=object) for r in range(MAX_REASONS)},
            }
        )

    def __len__(self) -> int:
        return self._n

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
        o, rs = self._outcome, self.ruleset
        if self._uscc is None:
            self._uscc = self._source.uscc_values()
        scores = [_round(x) for x in o.dim_scores[i]]
        prep = _prepared(rs)
        names = prep.trace_names
        values = self._source.input_values(i, ["as_of", *(n for ns in names for n in ns)])
        as_of, at, inputs = values[0], 1, []
        for ns in names:
            inputs.append(dict(zip(ns, values[at : at + len(ns)], strict=True)))
            at += len(ns)
        dims = []
        bins, points = self.bins[i].tolist(), self.points[i].tolist()
        for d, dim in enumerate(rs.spec.dimensions):
            chars = []
            for c_idx, c in enumerate(rs.characteristics):
                if c.dimension != d:
                    continue
                bin_id, zh, en = prep.trace_bins[c_idx][bins[c_idx]]  # -1 (missing) is the last
                chars.append(
                    {
                        "id": c.spec.id,
                        "zh": c.spec.zh,
                        "en": c.spec.en,
                        "inputs": inputs[c_idx],
                        "bin": bin_id,
                        "bin_zh": zh,
                        "bin_en": en,
                        "points": _round(points[c_idx]),
                        "max_points": prep.trace_max[c_idx],
                    }
                )
            dims.append(
                {"id": dim.id, "zh": dim.zh, "en": dim.en, "weight": dim.weight, "floor": dim.floor,
                 "score": scores[d], "characteristics": chars}
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
        hits = [g for g, hit in zip(self.gates, self.gate_hits[i].tolist(), strict=True) if hit]
        pd_i = o.pd[i]
        out: dict[str, Any] = {
            "uscc": self._uscc[i],
            "product": rs.product,
            "as_of": as_of,
            "ruleset": rs.describe(),
            "model": self.model_info,
            "status": o.status[i],
            "eligible": bool(o.eligible[i]),
            "limit_yuan": int(o.limit[i]),
            "band": o.band[i],
            "total_score": _round(o.total[i]),
            "dimension_scores": {d.id: scores[k] for k, d in enumerate(rs.spec.dimensions)},
            "preconditions_failed": [
                {"code": g.code, "zh": g.zh, "en": g.en} for g in hits if g.kind == "precondition"
            ],
            "knockouts": [{"code": g.code, "zh": g.zh, "en": g.en} for g in hits if g.kind == "knockout"],
            "pd": None if np.isnan(pd_i) else _round(pd_i, 6),
            "valid_until": _jsonable(o.valid_until[i]),
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
                "features": {f: _round(v, 9) for f, v in zip(m.features, m.contributions[i].tolist(), strict=True)},
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


@dataclass
class _Prepared:
    """What `decide` and `record` need of a rule set that does not depend on the rows: computed once per
    rule set (kept in `RuleSet.cache`), so deciding one enterprise does only row work (issue 18)."""

    gates: list[Gate]
    dim_of: np.ndarray  # (n_chars, n_dims) characteristic -> dimension
    weights: np.ndarray  # per dimension
    floors: np.ndarray
    band_ids: tuple[str, ...]
    band_mins: list[float]
    best: np.ndarray  # per characteristic: its best points
    char_weights: np.ndarray
    char_scales: np.ndarray
    code_table: list[str | None]  # gate codes, then each characteristic's codes (missing last)
    code_offsets: np.ndarray
    n_codes: np.ndarray
    ko_codes: list[str]
    until_fields: list[str]  # date fields that end a decision's validity sooner
    trace_names: list[list[str]]  # per characteristic: the inputs its trace shows
    trace_bins: list[list[tuple[str, str, str]]]  # per characteristic, per bin (missing last): id, zh, en
    trace_max: list[float]  # per characteristic: its max points as the record shows them


def _prepared(rs: RuleSet) -> _Prepared:
    hit = rs.cache.get("decide")
    if isinstance(hit, _Prepared):
        return hit
    spec, chars = rs.spec, rs.characteristics
    gates = _gates(rs)
    dim_of = np.zeros((len(chars), len(spec.dimensions)))
    dim_of[np.arange(len(chars)), [c.dimension for c in chars]] = 1.0
    weights = np.array([c.weight for c in chars])
    table: list[str | None] = [g.code for g in gates]
    offsets = []
    for c in chars:
        offsets.append(len(table))
        table.extend(c.codes)
    out = _Prepared(
        gates=gates, dim_of=dim_of, weights=np.array([d.weight for d in spec.dimensions]),
        floors=np.array([d.floor for d in spec.dimensions]), band_ids=tuple(b.id for b in spec.bands),
        band_mins=[b.min_score if b.min_score is not None else -np.inf for b in spec.bands],
        best=np.array([c.max_points for c in chars]), char_weights=weights,
        char_scales=np.where(weights > 0, weights, np.inf), code_table=table,
        code_offsets=np.array(offsets, dtype=np.int64), n_codes=np.array([len(c.codes) for c in chars]),
        ko_codes=[g.code for g in gates if g.kind == "knockout"],
        until_fields=_until_fields(rs),
        trace_names=[
            [n for n in sorted((c.value.names if c.value else set()) | _case_names(c)) if n != "as_of"] for c in chars
        ],
        trace_bins=[
            [(o.id, *c.label(b)) for b, o in enumerate(c.spec.outcomes())] + [("MISSING", *c.label(-1))] for c in chars
        ],
        trace_max=[_round(c.max_points) for c in chars],
    )  # fmt: skip
    rs.cache["decide"] = out
    return out


def decide(profiles: pd.DataFrame, ruleset: RuleSet, model: ScoringModel | None = None) -> Decisions:
    """Decide every row of `profiles` (a canonical profile frame, see `profile.coerce`)."""
    needs = _needs_derive(profiles)
    source = _FrameSource(profiles.reset_index(drop=True), derived=needs)
    if needs:
        derive_columns(source.columns)
    return _decide(source, ruleset, model)


def decide_profiles(
    profiles: ProfileColumns | Sequence[Profile | Mapping[str, Any]],
    ruleset: RuleSet,
    model: ScoringModel | None = None,
) -> Decisions:
    """`decide(to_frame(profiles), ruleset, model)` without building a frame: the same decisions, records
    byte for byte (tests/test_decide_profiles.py), for the few profiles of a request (issue 18: one
    enterprise's decision in ~1 ms of CPU instead of ~10). `summary` and `inputs` are the same frames,
    built when read. `profiles` may be `ProfileColumns.of(profiles)` (validated and converted already)."""
    columns = profiles if isinstance(profiles, ProfileColumns) else ProfileColumns.of(profiles)
    if not columns.has("entity_type"):
        derive_columns(columns)
    return _decide(_ProfileSource(columns), ruleset, model)


@functools.cache
def _blas() -> Any:
    """threadpoolctl's controller of the loaded BLAS (scikit-learn brings threadpoolctl), or None."""
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - a dependency of scikit-learn
        return None
    return ThreadpoolController()


_BLAS_LOCK = threading.Lock()
_ONE_BLAS_THREAD_FROM = 512  # rows; below, OpenBLAS runs one thread anyway


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a @ b` computed by one BLAS thread when `a` is large.

    OpenBLAS splits a product's output between its threads, so each element is computed by the same
    kernel in the same order: the same bits with one thread or two (checked on 18M elements). But
    waking its threads for a (20000 x 20) @ (20 x 4) product cost ~10 ms of wall clock on this 2-core
    machine against 0.7 ms in one thread (issue 18). Serialised by a lock, so concurrent decisions
    restore the setting in order."""
    ctl = _blas() if a.shape[0] >= _ONE_BLAS_THREAD_FROM else None
    if ctl is None:
        out: np.ndarray = a @ b
        return out
    with _BLAS_LOCK, ctl.limit(limits=1, user_api="blas"):
        out = a @ b
    return out


def _decide(source: _Source, ruleset: RuleSet, model: ScoringModel | None) -> Decisions:
    cols = source.columns
    rs, spec = ruleset, ruleset.spec
    prep = _prepared(rs)
    n = cols.n
    ctx = Context(cols, rs.types)

    pre_fail = np.column_stack([~p(ctx) for p in rs.preconditions]) if rs.preconditions else np.zeros((n, 0), bool)
    ko = np.column_stack([k(ctx) for k in rs.knockouts]) if rs.knockouts else np.zeros((n, 0), bool)
    applicable = cast(np.ndarray, ~pre_fail.any(axis=1))  # numpy types any(axis=1) as bool | array

    n_chars = len(rs.characteristics)
    bins = np.empty((n, n_chars), dtype=np.int16, order="F")  # filled column by column
    points = np.empty((n, n_chars), dtype="float64", order="F")
    for j, c in enumerate(rs.characteristics):
        bins[:, j], points[:, j] = c.evaluate(ctx)

    dim_scores = _product(points, prep.dim_of)  # characteristic -> dimension, summed by one matmul
    # rounded before any comparison: a total that is exactly 60 by the points must not become
    # 59.999999999 through float summation order (the threshold and bands would then depend on it)
    dim_scores = np.round(dim_scores, 6)
    total: np.ndarray = np.round(_product(dim_scores, prep.weights), 6)
    floor_fail: np.ndarray = dim_scores < prep.floors
    below_threshold: np.ndarray = total < spec.threshold

    band_ids = prep.band_ids
    band_conditions = [total >= m for m in prep.band_mins]
    band_code = np.select(band_conditions, np.arange(len(band_ids), dtype=np.int32), default=len(band_ids) - 1)
    band = np.array(band_ids, dtype=object)[band_code]

    policy = spec.model
    model_out: ModelOutput | None = None
    model_info: dict[str, Any] = {"version": None, "status": "none", "mode": policy.mode}
    pd_arr = np.full(n, np.nan)
    if model is not None and policy.mode != "off":
        model_out = source.explain(model)
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
    valid_until = _valid_until(cols, rs, prep)

    gates = prep.gates
    gate_hits = np.column_stack(
        [pre_fail, ko, floor_fail & applicable[:, None], (below_threshold & applicable)[:, None],
         (pd_fail & applicable)[:, None], limit_fail[:, None]]
    )  # fmt: skip
    # the model's contributions are reasons only where its mode lets it decide; advisory: its view, apart
    deciding_model = model_out if policy.mode in MODEL_DECIDES else None
    slots, values = _rank_reasons(prep, gate_hits, points, deciding_model)

    outcome = _Outcome(
        status=status, eligible=eligible, limit=limit, band=band, total=np.round(total, 4),
        dim_scores=np.round(dim_scores, 4), knockouts=ko, pd=pd_arr, valid_until=valid_until,
    )  # fmt: skip
    return Decisions(
        ruleset=rs, source=source, outcome=outcome, bins=bins, points=points, gates=gates, gate_hits=gate_hits,
        reason_slots=slots, reason_values=values, model=model_out, model_info=model_info,
    )  # fmt: skip


def _rank_reasons(
    prep: _Prepared, gate_hits: np.ndarray, points: np.ndarray, model: ModelOutput | None
) -> tuple[np.ndarray, np.ndarray]:
    """Reason slots and values, (n, MAX_REASONS) each: the hit gates in file order, then the
    characteristics and model groups that cost the most (ties keep rule-file order).

    One (n, gates + characteristics + model groups) priority matrix, ranked by `_top`: a hit gate is
    +inf (so gates outrank every shortfall, and equal infinities keep file order), a gate not hit -inf;
    a slot is the column (gates, then characteristics, then model groups); a gate's value is 0."""
    n, n_gates = gate_hits.shape
    n_chars = points.shape[1]
    groups = _model_groups(model) if model is not None else []
    priority = np.empty((n, n_gates + n_chars + len(groups)))  # C order: rows are contiguous for argmax
    priority[:, :n_gates] = np.where(gate_hits, np.inf, -np.inf)
    # value shown with a reason = priority / scale: characteristics points lost (priority =
    # points lost × weight, the total-score points it cost), model groups log-odds (× 10)
    scored = priority[:, n_gates : n_gates + n_chars]
    np.subtract(prep.best, points, out=scored)
    scored *= prep.char_weights
    scales = prep.char_scales
    if model is not None:
        member = np.zeros((len(model.groups), len(groups)))  # feature -> reason group, summed by one matmul
        member[np.arange(len(model.groups)), [groups.index(g) for g in model.groups]] = 1.0
        priority[:, n_gates + n_chars :] = np.maximum(_product(model.contributions, member), 0.0) * POINTS_PER_LOGODDS
        scales = np.concatenate([scales, np.full(len(groups), POINTS_PER_LOGODDS)])
    slots, top = _top(priority, min(MAX_REASONS, priority.shape[1]))
    values = np.zeros(slots.shape)
    score = slots >= n_gates
    values[score] = top[score] / scales[slots[score] - n_gates]
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
    prep: _Prepared, rs: RuleSet, bins: np.ndarray, model: ModelOutput | None, slots: np.ndarray
) -> np.ndarray:
    """Reason codes of `slots` (n, MAX_REASONS), vectorised: one gather from a flat code table.

    Table layout: gate codes, then each characteristic's codes per bin (missing bin last), then
    model groups, then None (for "no reason")."""
    n_gates, n_chars = len(prep.gates), len(rs.characteristics)
    groups = _model_groups(model) if model is not None else []
    model_start = len(prep.code_table)
    table = np.array([*prep.code_table, *groups, None], dtype=object)
    s = slots.astype(np.int64)
    j = s - n_gates  # a characteristic's position, where 0 <= j < n_chars
    index = np.where(s < 0, len(table) - 1, np.where(j < 0, s, model_start + j - n_chars))
    if n_chars:
        jc = np.clip(j, 0, n_chars - 1)
        b = np.take_along_axis(bins, jc, axis=1).astype(np.int64) % prep.n_codes[jc]  # bin -1 (missing) is last
        index = np.where((j >= 0) & (j < n_chars), prep.code_offsets[jc] + b, index)
    out: np.ndarray = table[index]
    return out


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


def _until_fields(rs: RuleSet) -> list[str]:
    """The date fields that end a decision's validity sooner: `valid_until.not_after` and the validity of
    every graded signal the rule set reads."""
    read = rs.fields_read
    signals = [f"{g.prefix}_valid_until" for g in SIGNALS if {g.field, g.in_force, f"{g.prefix}_stale"} & read]
    return list(dict.fromkeys([*rs.valid_until_fields, *signals]))


def _valid_until(cols: Columns | pd.DataFrame, rs: RuleSet, prep: _Prepared | None = None) -> np.ndarray:
    """as_of + N months, or earlier when a certificate or grade the score relied on expires: the
    `valid_until.not_after` dates, and the validity of every graded signal the rule set reads.

    Calendar months as `pd.DateOffset(months=N)` counts them (Jan 31 + 1 month = Feb 28/29),
    computed on numpy days (datetime64[D], NaT where missing); the summary shows them as an Arrow
    date column rather than building a Python date object per row."""
    if isinstance(cols, pd.DataFrame):
        cols = FrameColumns(cols)
    as_of = cols.dates("as_of")
    month = as_of.astype("datetime64[M]")
    target = month + rs.spec.valid_until.months
    first = target.astype("datetime64[D]")
    month_len = (target + 1).astype("datetime64[D]") - first
    until: np.ndarray = first + np.minimum(as_of - month.astype("datetime64[D]"), month_len - 1)
    # a graded signal the rule set reads ends the decision's validity with its own (profile.freshness)
    for name in prep.until_fields if prep is not None else _until_fields(rs):
        date = cols.dates(name)
        with np.errstate(invalid="ignore"):
            ends_sooner = (date >= as_of) & (date < until)  # NaT compares false
        until = np.where(ends_sooner, date, until)
    return until
