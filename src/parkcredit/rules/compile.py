"""Load, check and compile a rule-set file into a `RuleSet` ready for vectorised scoring.

Everything is checked here, at load, never at decision time: the YAML shape (pydantic), every
field name and expression (type-checked against the profile schema), bins that cover the whole
number line with no gap or overlap, categories that cover every value of their enum exactly
once, cases that end in `otherwise` with nothing after it. A bad file is refused with
`RuleSetError`: file, line, rule id and reason.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from parkcredit.profile.derive import DERIVED
from parkcredit.profile.schema import FIELDS, FieldInfo
from parkcredit.rules.expr import BOOL, NUM, Compiled, Context, ExprError, Text, Type, compile_expr, isna
from parkcredit.rules.spec import Bin, Case, Category, Characteristic, RuleSetSpec
from parkcredit.rules.yamltext import load_document

__all__ = ["CompiledCharacteristic", "RuleSet", "RuleSetError", "field_types", "load_ruleset", "parse_ruleset"]

Loc = tuple[str | int, ...]
ECHO_CHARS = 200  # the most of the text itself an error quotes (a file name, a value, a rule id)


class RuleSetError(ValueError):
    """A rule-set file that cannot be used; says where (file, line), which rule, and why."""

    def __init__(self, source: str, line: int | None, rule_id: str | None, reason: str):
        source, reason = (
            source[:ECHO_CHARS],
            reason if len(reason) <= 2 * ECHO_CHARS else reason[: 2 * ECHO_CHARS] + "…",
        )
        rule_id = rule_id[:ECHO_CHARS] if rule_id else rule_id
        self.source, self.line, self.rule_id, self.reason = source, line, rule_id, reason
        where = f"{source}:{line}" if line else source
        rule = f" rule {rule_id}:" if rule_id else ""
        super().__init__(f"{where}:{rule} {reason}")


def _kind_type(info: FieldInfo) -> Type:
    if info.kind in ("int", "float"):
        return NUM
    if info.kind == "bool":
        return BOOL
    if info.kind == "date":
        return Type("date")
    if info.kind == "enum":
        return Type("str", info.choices)
    return Type("str")


def field_types() -> dict[str, Type]:
    """The typed names a rule expression may use: profile fields and derived fields."""
    return {name: _kind_type(info) for name, info in {**FIELDS, **DERIVED}.items() if not info.pii}


def _line_map(root: yaml.Node | None) -> dict[Loc, int]:
    """YAML path -> 1-based line, so pydantic and semantic errors can name the line."""
    lines: dict[Loc, int] = {}

    def walk(node: yaml.Node, path: Loc) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
                lines[sub] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


@dataclass
class CompiledCharacteristic:
    """One scored characteristic, compiled: returns (bin index, points) per row; -1 = missing."""

    spec: Characteristic
    dimension: int
    weight: float  # of its dimension: a point lost here costs weight points of total score
    value: Compiled | None
    missing: Compiled | None
    cases: list[Compiled]
    points: np.ndarray  # per bin in file order, then the missing bin last
    edges: np.ndarray | None = None
    categories: list[np.ndarray] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # reason code per bin, missing last
    ratio: bool = False  # show bounds as percentages

    def label(self, index: int) -> tuple[str, str]:
        """Chinese and English text of bin `index` (-1: the missing bin)."""
        if index < 0:
            m = self.spec.missing
            return m.zh or "数据缺失", m.en or "data missing"
        return bin_label(self.spec.outcomes()[index], self.ratio)

    @property
    def max_points(self) -> float:
        return float(self.points.max())

    def evaluate(self, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
        n = ctx.n
        kind = "cases" if self.spec.cases is not None else ("bins" if self.spec.bins is not None else "categories")
        value: np.ndarray | Text | str | None = None
        if self.value is not None:
            value = self.value.text(ctx) if self.value.type.kind == "str" else self.value(ctx)
        if kind == "bins":
            assert isinstance(value, np.ndarray) and self.edges is not None
            idx = np.searchsorted(self.edges, value, side="right").astype(np.int16)
        elif kind == "categories":
            assert value is not None
            if isinstance(value, Text):  # category of each code, gathered: no string compares
                of_code = value.table({v: i for i, allowed in enumerate(self.categories) for v in allowed}, -1)
                idx = of_code.astype(np.int16)[value.codes]
            else:  # true/false (1.0 / 0.0 / NaN) or a literal
                idx = np.full(n, -1, dtype=np.int16)
                for i, allowed in enumerate(self.categories):
                    idx[np.isin(value, allowed)] = i
        else:
            idx = np.full(n, -1, dtype=np.int16)
            for i in range(len(self.cases) - 1, -1, -1):  # the first case that holds wins
                np.copyto(idx, np.int16(i), where=self.cases[i](ctx))
        if self.missing is not None:
            missing = self.missing(ctx)
        else:
            assert value is not None
            missing = isna(value)
        idx = np.where(missing | (idx < 0), np.int16(-1), idx)
        return idx, self.points[idx]  # idx -1 picks the missing bin, stored last


@dataclass
class RuleSet:
    """A loaded, checked and compiled rule set. `content_hash` identifies it in every decision."""

    spec: RuleSetSpec
    source: str
    text: str
    content_hash: str
    types: dict[str, Type]
    preconditions: list[Compiled]
    knockouts: list[Compiled]
    characteristics: list[CompiledCharacteristic]
    limit_lets: list[tuple[str, Compiled]]
    limit_formula: Compiled
    valid_until_fields: list[str]
    limit_deduct: Compiled | None = None
    # what `decide` precomputes of this rule set once (gates, code tables, ...): not part of its identity
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def fields_read(self) -> frozenset[str]:
        """Every profile or derived field a rule of this set reads (preconditions, knock-outs,
        characteristics, the limit and its validity)."""
        exprs = [*self.preconditions, *self.knockouts, self.limit_formula, *(e for _, e in self.limit_lets)]
        if self.limit_deduct is not None:
            exprs.append(self.limit_deduct)
        for c in self.characteristics:
            exprs += [e for e in (c.value, c.missing) if e is not None] + c.cases
        names: set[str] = set(self.valid_until_fields)
        for e in exprs:
            names |= e.names
        return frozenset(n for n in names if n in self.types)

    @property
    def product(self) -> str:
        return self.spec.product.code

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def cap_yuan(self) -> int:
        return self.spec.product.max_amount_yuan

    def describe(self) -> dict[str, Any]:
        """The identity a decision records."""
        return {
            "product": self.product,
            "version": self.version,
            "effective_from": self.spec.effective_from.isoformat(),
            "hash": self.content_hash,
        }


def load_ruleset(path: str | Path) -> RuleSet:
    """Read, check and compile one rule-set YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleSetError(str(path), None, None, f"cannot read: {exc.strerror}") from None
    return parse_ruleset(text, source=str(path))


def parse_ruleset(text: str, *, source: str = "<rules>") -> RuleSet:
    """Check and compile rule-set YAML text; `source` names it in errors."""
    try:
        root, data = load_document(text)  # no aliases, bounded size: a hostile text costs milliseconds
        lines = _line_map(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RuleSetError(source, mark.line + 1 if mark else None, None, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RuleSetError(source, 1, None, "a rule set is a YAML mapping")

    def error(loc: Loc, reason: str) -> RuleSetError:
        line = None
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in lines:
                line = lines[loc[:cut]]
                break
        return RuleSetError(source, line, _rule_id(data, loc), reason)

    try:
        spec = RuleSetSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tagged-"))))
        where = ".".join(str(p) for p in loc if isinstance(p, str) and not p[:1].isupper())
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] != "value_error" and where:
            msg = f"{where}: {msg} (got {_echo(first.get('input'))})"
        raise error(loc, msg) from None
    return _Builder(spec, source, text, error).build()


def _echo(value: Any) -> str:
    """A bad value as an error quotes it: its repr, at most `ECHO_CHARS` characters."""
    text = repr(value)
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + f"… ({len(text):,} characters)"


def _rule_id(data: Any, loc: Loc) -> str | None:
    """The id of the innermost rule (knock-out, characteristic, ...) on the path `loc`."""
    found, node = None, data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("id"), str) and "points" not in node:
            found = node["id"]
    return found


def content_hash(spec: RuleSetSpec) -> str:
    """sha256 of the canonical JSON of the checked rule set (comments and layout do not count)."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _fmt(x: float, ratio: bool) -> str:
    return f"{x * 100:g}%" if ratio else f"{x:,g}"


def bin_label(b: Bin | Category | Case, ratio: bool) -> tuple[str, str]:
    """Chinese and English text of a bin, from its labels or its bounds."""
    if b.zh and b.en:
        return b.zh, b.en
    if isinstance(b, Bin):
        lo = None if b.ge is None else _fmt(b.ge, ratio)
        hi = None if b.lt is None else _fmt(b.lt, ratio)
        if lo and hi:
            zh, en = f"≥{lo} 且 <{hi}", f"≥{lo} and <{hi}"
        else:
            zh = en = f"≥{lo}" if lo else f"<{hi}"
    elif isinstance(b, Category):
        zh = "、".join(map(str, b.values))
        en = ", ".join(map(str, b.values))
    else:
        zh = en = "otherwise" if b.otherwise else str(b.when)
    return b.zh or zh, b.en or en


class _Builder:
    def __init__(self, spec: RuleSetSpec, source: str, text: str, error: Callable[[Loc, str], RuleSetError]):
        self.spec, self.source, self.text, self.error = spec, source, text, error
        self.types = field_types()

    def expr(self, source: str, loc: Loc, want: str | None = None, names: Mapping[str, Type] | None = None) -> Compiled:
        try:
            out = compile_expr(source, names or self.types)
        except ExprError as exc:
            raise self.error(loc, str(exc)) from None
        if want and out.type.kind != want:
            raise self.error(loc, f"expected a {want} expression, got a {out.type.kind}: `{source}`")
        if out.source in ("false", "False"):
            raise self.error(loc, "condition is always false: the rule can never apply")
        return out

    def build(self) -> RuleSet:
        s = self.spec
        pre = [self.expr(p.require, ("preconditions", i, "require"), "bool") for i, p in enumerate(s.preconditions)]
        kos = [self.expr(k.when, ("knockouts", i, "when"), "bool") for i, k in enumerate(s.knockouts)]
        chars = [
            self.characteristic(c, d, j)
            for d, dim in enumerate(s.dimensions)
            for j, c in enumerate(dim.characteristics)
        ]
        names = dict(self.types)
        names["band"] = Type("str", tuple(b.id for b in s.bands))
        names["total_score"] = NUM
        names["pd"] = NUM
        for dim in s.dimensions:
            names[f"score_{dim.id}"] = NUM
        lets = []
        for var, src in s.limit.let.items():
            if var in names:
                raise self.error(("limit", "let", var), f"`{var}` is already a field name")
            lets.append((var, self.expr(src, ("limit", "let", var), "num", names)))
            names[var] = NUM
        formula = self.expr(s.limit.formula, ("limit", "formula"), "num", names)
        deduct = self.expr(s.limit.deduct, ("limit", "deduct"), "num", names) if s.limit.deduct else None
        for i, name in enumerate(s.valid_until.not_after):
            if self.types.get(name, NUM).kind != "date":
                raise self.error(("valid_until", "not_after", i), f"{name!r} is not a date field")
        return RuleSet(
            spec=s, source=self.source, text=self.text, content_hash=content_hash(s), types=self.types,
            preconditions=pre, knockouts=kos, characteristics=chars, limit_lets=lets,
            limit_formula=formula, valid_until_fields=list(s.valid_until.not_after), limit_deduct=deduct,
        )  # fmt: skip

    def characteristic(self, c: Characteristic, d: int, j: int) -> CompiledCharacteristic:
        loc: Loc = ("dimensions", d, "characteristics", j)
        dim = self.spec.dimensions[d]
        value = None
        if c.field is not None or c.value is not None:
            value = self.expr(c.field or c.value or "", (*loc, "field" if c.field else "value"))
        missing = self.expr(c.missing.when, (*loc, "missing", "when"), "bool") if c.missing.when else None
        outcomes = c.outcomes()
        info = {**FIELDS, **DERIVED}.get(c.field or "")
        out = CompiledCharacteristic(
            spec=c, dimension=d, weight=dim.weight, value=value, missing=missing, cases=[],
            points=np.array([b.points for b in outcomes] + [c.missing.points], dtype="float64"),
            ratio=info is not None and info.unit == "ratio",
        )  # fmt: skip
        out.codes = [f"{c.id}_{b.id}" for b in outcomes] + [f"{c.id}_MISSING"]
        if c.bins is not None:
            assert value is not None
            if value.type.kind != "num":
                raise self.error(loc, f"bins need a number, but `{value.source}` is {value.type.kind}")
            out.edges = self.check_bins(c.bins, (*loc, "bins"))
        elif c.categories is not None:
            assert value is not None
            out.categories = self.check_categories(c.categories, value, (*loc, "categories"))
        else:
            assert c.cases is not None
            out.cases = self.check_cases(c.cases, (*loc, "cases"))
        return out

    def check_bins(self, bins: list[Bin], loc: Loc) -> np.ndarray:
        if bins[0].ge is not None:
            raise self.error(
                (*loc, 0), f"bin {bins[0].id}: the first bin must have no `ge` (it starts at minus infinity)"
            )
        if bins[-1].lt is not None:
            raise self.error(
                (*loc, len(bins) - 1), f"bin {bins[-1].id}: the last bin must have no `lt` (it runs to infinity)"
            )
        for i, (a, b) in enumerate(zip(bins, bins[1:], strict=False), start=1):
            if a.lt is None or b.ge is None:
                raise self.error((*loc, i), f"bin {b.id}: inner bins need both bounds (`ge` and `lt`)")
            if b.lt is not None and b.lt <= b.ge:
                raise self.error((*loc, i), f"bin {b.id}: empty (lt {b.lt:g} <= ge {b.ge:g})")
            if b.ge < a.lt:
                raise self.error((*loc, i), f"bin {b.id} overlaps bin {a.id} (both contain {b.ge:g})")
            if b.ge > a.lt:
                raise self.error((*loc, i), f"gap between bin {a.id} (< {a.lt:g}) and bin {b.id} (>= {b.ge:g})")
        for i, b in enumerate(bins):
            for bound in (b.ge, b.lt):
                if bound is not None and not math.isfinite(bound):
                    raise self.error((*loc, i), f"bin {b.id}: bounds must be finite numbers")
        return np.array([b.ge for b in bins[1:]], dtype="float64")

    def check_categories(self, cats: list[Category], value: Compiled, loc: Loc) -> list[np.ndarray]:
        kind, choices = value.type.kind, value.type.choices
        if kind == "bool":
            universe: tuple[Any, ...] = (True, False)
        elif kind == "str" and choices:
            universe = choices
        else:
            raise self.error(
                loc, f"categories need an enum or true/false field; `{value.source}` is {kind} (use cases)"
            )
        seen: dict[Any, str] = {}
        arrays = []
        for i, cat in enumerate(cats):
            for v in cat.values:
                if v not in universe or isinstance(v, bool) != (kind == "bool"):
                    raise self.error(
                        (*loc, i),
                        f"category {cat.id}: {v!r} is not a value of {value.source} ({', '.join(map(str, universe))})",
                    )
                if v in seen:
                    raise self.error((*loc, i), f"category {cat.id}: {v!r} is already in category {seen[v]}")
                seen[v] = cat.id
            if kind == "bool":
                arrays.append(np.array([float(v) for v in cat.values], dtype="float64"))
            else:
                arrays.append(np.array(cat.values, dtype=object))
        uncovered = [str(v) for v in universe if v not in seen]
        if uncovered:
            raise self.error(loc, f"values not covered by any category: {', '.join(uncovered)}")
        return arrays

    def check_cases(self, cases: list[Case], loc: Loc) -> list[Compiled]:
        out: list[Compiled] = []
        seen: dict[str, str] = {}
        for i, case in enumerate(cases):
            if case.otherwise:
                if i != len(cases) - 1:
                    raise self.error((*loc, i + 1), f"case {cases[i + 1].id} is unreachable: it follows `otherwise`")
                out.append(compile_expr("true", self.types))
                continue
            assert case.when is not None
            compiled = self.expr(case.when, (*loc, i, "when"), "bool")
            key = " ".join(compiled.source.split())
            if key in seen:
                raise self.error((*loc, i), f"case {case.id} is unreachable: same condition as case {seen[key]}")
            seen[key] = case.id
            out.append(compiled)
        if not cases[-1].otherwise:
            raise self.error((*loc, len(cases) - 1), "the last case must be `otherwise: true`, so every row gets a bin")
        return out
