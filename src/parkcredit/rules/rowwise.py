"""A straightforward per-row evaluation of a rule set, in plain Python: the oracle and the baseline.

`decide` evaluates a rule set column by column with numpy. This module evaluates the same
compiled rule set one enterprise at a time, re-reading each expression's source with `ast`
into scalar closures (still no `eval`) and walking preconditions, knock-outs, characteristics,
dimensions, bands and the limit formula the way a hand-written loop would. It exists for two
reasons only: the tests check that both paths reach the same decisions (an independent
implementation of the language's missing-value semantics), and `benchmarks/bench_rules.py`
measures the vectorised path against it. It is not used to decide anything in the service.
"""

from __future__ import annotations

import ast
import math
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from parkcredit.rules.compile import RuleSet
from parkcredit.rules.expr import DAYS_PER_MONTH, Context

__all__ = ["decide_rows", "rows_of"]

Row = dict[str, Any]
Fn = Callable[[Row], Any]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _truth(v: Any) -> bool:
    return v is True or (not isinstance(v, bool) and isinstance(v, float) and v == 1.0)


_CMP: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
}  # fmt: skip


def _div(a: float, b: float) -> float:
    return math.nan if b == 0 or _missing(a) or _missing(b) else a / b


_ARITH: dict[type, Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b, ast.Div: _div,
}  # fmt: skip


def _scalar(node: ast.AST) -> Fn:  # noqa: C901 - one branch per node type, as an interpreter reads
    if isinstance(node, ast.Expression):
        return _scalar(node.body)
    if isinstance(node, ast.Constant):
        v = node.value
        if not isinstance(v, bool | str | int | float):
            raise ValueError(f"not in the rule language: {ast.dump(node)}")  # the compiler refused it already
        value = v if isinstance(v, bool | str) else float(v)
        return lambda r: value
    if isinstance(node, ast.Name):
        if node.id in ("true", "True", "false", "False"):
            flag = node.id in ("true", "True")
            return lambda r: flag
        name = node.id
        return lambda r: r[name]
    if isinstance(node, ast.BoolOp):
        parts = [_scalar(v) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda r: all(_truth(p(r)) for p in parts)
        return lambda r: any(_truth(p(r)) for p in parts)
    if isinstance(node, ast.UnaryOp):
        inner = _scalar(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda r: not _truth(inner(r))
        return lambda r: -inner(r)
    if isinstance(node, ast.BinOp):
        a, b, op = _scalar(node.left), _scalar(node.right), _ARITH[type(node.op)]
        return lambda r: op(a(r), b(r))
    if isinstance(node, ast.Compare):
        return _compare(node)
    if isinstance(node, ast.Call):
        return _call(node)
    raise ValueError(f"not in the rule language: {ast.dump(node)}")


def _compare(node: ast.Compare) -> Fn:
    operands = [_scalar(node.left)]
    steps: list[Callable[[Any, Any], bool] | tuple[bool, set[Any]]] = []
    for op, right in zip(node.ops, node.comparators, strict=True):
        if isinstance(op, ast.In | ast.NotIn):
            values = {e.value if isinstance(e.value, str) else float(e.value) for e in right.elts}  # type: ignore[attr-defined]
            steps.append((isinstance(op, ast.NotIn), values))
            operands.append(lambda r: None)
        else:
            steps.append(_CMP[type(op)])
            operands.append(_scalar(right))

    def run(r: Row) -> bool:
        left = operands[0](r)
        for step, right_fn in zip(steps, operands[1:], strict=True):
            if isinstance(step, tuple):
                negate, values = step
                if _missing(left) or (left in values) == negate:
                    return False
                continue
            right = right_fn(r)
            if _missing(left) or _missing(right) or not step(left, right):
                return False  # a comparison with a missing value is false
            left = right
        return True

    return run


def _call(node: ast.Call) -> Fn:  # noqa: C901
    name = node.func.id  # type: ignore[attr-defined]
    if name == "lookup":
        key = _scalar(node.args[0])
        table = {k.value: float(v.value) for k, v in zip(node.args[1].keys, node.args[1].values, strict=True)}  # type: ignore[attr-defined]
        default = _scalar(node.args[2])
        return lambda r: table.get(key(r), default(r)) if not _missing(key(r)) else default(r)
    if name == "date":
        arg = node.args[0]
        assert isinstance(arg, ast.Constant) and isinstance(arg.value, str)  # checked by the compiler
        days = float(np.datetime64(arg.value, "D").astype("int64"))
        return lambda r: days
    args = [_scalar(a) for a in node.args]
    if name in ("min", "max"):
        pick = min if name == "min" else max

        def extreme(r: Row) -> float:
            vals = [a(r) for a in args]
            return math.nan if any(_missing(v) for v in vals) else pick(vals)

        return extreme
    if name == "abs":
        return lambda r: abs(args[0](r))
    if name == "floor":
        return lambda r: math.nan if _missing(v := args[0](r)) else float(math.floor(v))
    if name == "coalesce":
        return lambda r: next((v for a in args if not _missing(v := a(r))), math.nan)
    if name == "is_missing":
        return lambda r: _missing(args[0](r))
    if name == "where":
        return lambda r: args[1](r) if _truth(args[0](r)) else args[2](r)
    if name in ("months_since", "days_since"):
        scale = DAYS_PER_MONTH if name == "months_since" else 1.0
        return lambda r: (r["as_of"] - args[0](r)) / scale
    raise ValueError(f"unknown function {name}")


def _fn(source: str) -> Fn:
    return _scalar(ast.parse(source, mode="eval"))


def rows_of(frame: pd.DataFrame, ruleset: RuleSet) -> list[Row]:
    """The derived frame as one dict per enterprise, with the language's value types
    (numbers and bools as floats, NaN missing; text or None; dates as days since 1970)."""
    ctx = Context(frame.reset_index(drop=True), ruleset.types)
    names = [n for n in ruleset.types if n in frame.columns]
    columns = {n: ctx[n].tolist() for n in names}
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def decide_rows(rows: list[Row], ruleset: RuleSet) -> list[dict[str, Any]]:
    """Rules-only decision of each row: status, eligible, limit_yuan, band, total_score."""
    rs, spec = ruleset, ruleset.spec
    pre = [_fn(p.source) for p in rs.preconditions]
    kos = [_fn(k.source) for k in rs.knockouts]
    chars = []
    for c in rs.characteristics:
        kind = "cases" if c.spec.cases is not None else ("bins" if c.spec.bins is not None else "categories")
        chars.append((c, kind, c.value and _fn(c.value.source), c.missing and _fn(c.missing.source),
                      [_fn(x.source) for x in c.cases], [set(a.tolist()) for a in c.categories],
                      c.edges.tolist() if c.edges is not None else None))  # fmt: skip
    lets = [(var, _fn(e.source)) for var, e in rs.limit_lets]
    formula = _fn(rs.limit_formula.source)
    deduct = _fn(rs.limit_deduct.source) if rs.limit_deduct is not None else None
    weights = [d.weight for d in spec.dimensions]
    step, cap = spec.limit.round_down_to_yuan, rs.cap_yuan
    out = []
    for r in rows:
        applicable = all(_truth(p(r)) for p in pre)
        knocked = any(_truth(k(r)) for k in kos)
        scores = [0.0] * len(weights)
        for c, kind, value_fn, missing_fn, cases, cats, edges in chars:
            value = value_fn(r) if value_fn else None
            idx = -1
            if kind == "bins":
                idx = bisect_right(edges, value) if edges is not None and not _missing(value) else -1
            elif kind == "categories":
                for i, allowed in enumerate(cats):
                    if value in allowed:
                        idx = i  # the last matching category, as the vectorised loop does
            else:
                idx = next((i for i, case in enumerate(cases) if _truth(case(r))), -1)
            if (_truth(missing_fn(r)) if missing_fn else _missing(value)) or idx < 0:
                idx = -1
            scores[c.dimension] += float(c.points[idx])
        scores = [round(s, 6) for s in scores]
        total = round(sum(s * w for s, w in zip(scores, weights, strict=True)), 6)
        floor_fail = any(s < d.floor for s, d in zip(scores, spec.dimensions, strict=True))
        band = next((b.id for b in spec.bands if b.min_score is None or total >= b.min_score), spec.bands[-1].id)
        eligible = applicable and not knocked and not floor_fail and total >= spec.threshold
        env = {**r, "band": band, "total_score": total, "pd": math.nan}
        env.update({f"score_{d.id}": s for d, s in zip(spec.dimensions, scores, strict=True)})
        for var, fn in lets:
            env[var] = fn(env)
        gross = formula(env)
        gross = 0.0 if _missing(gross) or math.isinf(gross) else gross
        capped = min(gross, cap)
        if deduct is not None:  # after the cap
            less = deduct(env)
            capped -= 0.0 if _missing(less) else less
        limit = int(math.floor(max(capped, 0.0) / step) * step)
        if eligible and limit < max(spec.limit.minimum_yuan, 1):
            eligible = False
        out.append({
            "status": "NOT_APPLICABLE" if not applicable else ("ELIGIBLE" if eligible else "INELIGIBLE"),
            "eligible": eligible, "limit_yuan": limit if eligible else 0, "band": band, "total_score": total,
        })  # fmt: skip
    return out
