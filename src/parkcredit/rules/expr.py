"""The rule expression language: small, declared, type-checked, compiled to numpy.

Grammar (a strict subset of Python expression syntax, parsed with `ast` in "eval" mode and
then whitelisted node by node; nothing is ever passed to `eval`):

    expr     := expr ("and" | "or") expr | "not" expr | comparison
    comparison := arith (("<" | "<=" | ">" | ">=" | "==" | "!=") arith)+
                | arith ("in" | "not in") "[" literal, ... "]"
    arith    := arith ("+" | "-" | "*" | "/") arith | "-" arith | atom
    atom     := NUMBER | "STRING" | true | false | FIELD | FUNC "(" args ")" | "(" expr ")"

Types: num, bool, str (enum fields carry their allowed values), date.
Functions: min max abs floor coalesce is_missing where lookup date months_since days_since.

Semantics of missing values (a field may always be missing):
  * numbers are NaN; arithmetic on a missing value is missing; `coalesce` supplies defaults;
  * a comparison with a missing value is false, and so is a missing bool field used as a
    condition - `not x` is therefore true when x is missing: write `is_missing(x)` to tell;
  * `months_since(d)` is counted from the snapshot's `as_of` (never the server clock).

Errors are `ExprError` with a message that names the offending part, raised at compile time:
unknown field (with a suggestion), a string that is not a value of the enum it is compared
with (the silent-typo failure of other engines), wrong types, anything outside the grammar.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from parkcredit.profile.frame import Columns, FrameColumns, encode_text

__all__ = ["Compiled", "Context", "ExprError", "Text", "Type", "compile_expr"]

Kind = Literal["num", "bool", "str", "date"]
DAYS_PER_MONTH = 30.4375


class ExprError(ValueError):
    """An expression that does not parse, type-check or refers to unknown names."""


@dataclass(frozen=True)
class Type:
    """The static type of an expression; `choices` are the allowed values of an enum."""

    kind: Kind
    choices: tuple[str, ...] | None = None


NUM, BOOL, STR, DATE = Type("num"), Type("bool"), Type("str"), Type("date")


class Text:
    """A text column as integer codes into `vocab`; -1 = missing. Rules compare, test and look
    up enums many times per batch: on codes those are integer operations, not string ones."""

    __slots__ = ("codes", "index", "vocab")

    def __init__(self, codes: np.ndarray, vocab: tuple[str, ...]):
        self.codes = codes
        self.vocab = vocab
        self.index = {v: i for i, v in enumerate(vocab)}

    @classmethod
    def encode(cls, values: pd.Series | np.ndarray, choices: tuple[str, ...] | None = None) -> Text:
        """Codes of `values` (a Series or array; None/NaN missing). An enum's codes index its
        `choices`, so a literal's code is known from the choices; values outside them (never
        after `coerce`) get codes of their own, matching no literal a rule may write."""
        return cls(*encode_text(values, choices))

    def decode(self) -> np.ndarray:
        """The values as an object array, None where missing."""
        out: np.ndarray = np.array([*self.vocab, None], dtype=object)[self.codes]
        return out

    def table(self, mapping: Mapping[str, float], default: float = np.nan) -> np.ndarray:
        """Per-code values of `mapping` (then `default` for codes it lacks and for missing,
        stored last so code -1 picks it): `table(m)[codes]` is the per-row lookup."""
        return np.array([mapping.get(v, default) for v in self.vocab] + [default], dtype="float64")


class Context:
    """Columns of one batch (a frame, or `profile.frame.Columns`), converted lazily to the arrays compiled
    code expects; each column once (`Columns` caches it, and `decide` shares them with `derive`)."""

    def __init__(
        self, frame: pd.DataFrame | Columns, types: Mapping[str, Type], extra: Mapping[str, Any] | None = None
    ):
        self.columns = frame if isinstance(frame, Columns) else FrameColumns(frame)
        self.types = types
        self.n = self.columns.n
        self._texts: dict[str, Text] = {}
        self.extra: dict[str, Any] = dict(extra or {})

    def __getitem__(self, name: str) -> np.ndarray:
        """Numbers, bools and dates as float64 arrays (dates in days, NaN missing); text as
        object arrays with None where missing."""
        if name in self.extra:
            value = self.extra[name]
            out: np.ndarray = value.decode() if isinstance(value, Text) else np.asarray(value)
            return out
        kind = self.types[name].kind
        if kind == "str":
            return self.text(name).decode()
        return self.columns.days(name) if kind == "date" else self.columns.num(name)

    def text(self, name: str) -> Text:
        """A text field (or a text value in `extra`) as codes."""
        if name in self.extra:
            value = self.extra[name]
            return value if isinstance(value, Text) else Text.encode(np.asarray(value, dtype=object))
        hit = self._texts.get(name)
        if hit is None:
            hit = self._texts[name] = Text(*self.columns.codes(name, self.types[name].choices))
        return hit

    @property
    def as_of_days(self) -> np.ndarray:
        return self["as_of"]


# A compiled node: a float64 or bool array, a `Text`, or a literal (float, bool, str) broadcast
# later. Which one is fixed by the node's static `Type`, checked when the rule set is compiled;
# the closures below rely on that, not on the Python type system.
Fn = Callable[[Context], Any]


@dataclass
class Compiled:
    """A compiled expression: call it on a `Context` to get one value per row."""

    source: str
    type: Type
    names: frozenset[str]
    _fn: Fn = field(repr=False)

    def __call__(self, ctx: Context) -> np.ndarray:
        """One value per row, read-only (a literal broadcast; a column or result as a read-only view)."""
        out = self._fn(ctx)
        kind = self.type.kind
        if kind == "str" and isinstance(out, Text):
            out = out.decode()
        arr = np.asarray(out, dtype=bool if kind == "bool" else object if kind == "str" else "float64")
        if arr.shape != (ctx.n,):
            return np.broadcast_to(arr, (ctx.n,))
        view = arr.view()  # what broadcast_to gave, without its cost (~5 µs a call, ~60 calls a decision)
        view.flags.writeable = False
        return view

    def text(self, ctx: Context) -> Text | str:
        """A text expression's value as it is computed: codes for a field, a str for a literal."""
        assert self.type.kind == "str"
        return self._fn(ctx)  # type: ignore[no-any-return]


_CMP = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_ARITH = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}
_FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda",
    ast.NamedExpr: "assignment",
    ast.JoinedStr: "f-strings",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.Starred: "starred arguments",
    ast.IfExp: "inline if (use where(cond, a, b))",
    ast.Await: "await",
    ast.Yield: "yield",
}


def isna(value: ArrayLike | Text) -> np.ndarray:
    """Missing mask: NaN for numbers; code -1 for text; None or NaN in object arrays.

    Faster than `pd.isna` on object arrays, which checks every element for every NA kind."""
    missing: np.ndarray
    if isinstance(value, Text):
        missing = value.codes < 0
        return missing
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        missing = np.isnan(arr)
        return missing
    if arr.dtype.kind == "O":
        missing = (arr == None) | (arr != arr)  # noqa: E711 (elementwise: np.equal(arr, None))
        return missing
    return np.zeros(arr.shape, dtype=bool)


def _missing(value: Any, kind: str) -> Any:
    if kind in ("num", "date"):
        return np.isnan(value)
    if kind == "bool":
        return np.isnan(value) if np.asarray(value).dtype.kind == "f" else np.zeros(np.shape(value), bool)
    return isna(value)


def _truth(fn: Fn, kind: str) -> Fn:
    """A bool-typed value as a numpy bool (bool fields are stored as 1.0 / 0.0 / NaN)."""
    if kind != "bool":
        raise ExprError("a condition must be true/false")

    def run(ctx: Context) -> Any:
        value = fn(ctx)
        arr = np.asarray(value)
        return arr == 1.0 if arr.dtype.kind == "f" else arr

    return run


class _Compiler:
    def __init__(self, source: str, names: Mapping[str, Type]):
        self.source = source
        self.names = names
        self.used: set[str] = set()

    def fail(self, node: ast.AST, message: str) -> ExprError:
        col = getattr(node, "col_offset", None)
        where = f" (at column {col + 1})" if col is not None else ""
        return ExprError(f"{message}{where} in `{self.source}`")

    def visit(self, node: ast.AST) -> tuple[Fn, Type]:
        for banned, what in _FORBIDDEN.items():
            if isinstance(node, banned):
                raise self.fail(node, f"not allowed in rule expressions: {what}")
        method = getattr(self, "v_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"{type(node).__name__} is not part of the rule expression language")
        return method(node)  # type: ignore[no-any-return]

    # -- atoms
    def v_Expression(self, node: ast.Expression) -> tuple[Fn, Type]:
        return self.visit(node.body)

    def v_Constant(self, node: ast.Constant) -> tuple[Fn, Type]:
        value = node.value
        if isinstance(value, bool):
            return (lambda ctx, v=value: v), BOOL
        if isinstance(value, int | float):
            return (lambda ctx, v=float(value): v), NUM
        if isinstance(value, str):
            return (lambda ctx, v=value: v), Type("str", (value,))
        raise self.fail(node, f"constant {value!r} is not allowed")

    def v_Name(self, node: ast.Name) -> tuple[Fn, Type]:
        if node.id in ("true", "True"):
            return (lambda ctx: True), BOOL
        if node.id in ("false", "False"):
            return (lambda ctx: False), BOOL
        typ = self.names.get(node.id)
        if typ is None:
            close = difflib.get_close_matches(node.id, list(self.names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.fail(node, f"unknown field {node.id!r}{hint}")
        self.used.add(node.id)
        name = node.id
        if typ.kind == "str":
            return (lambda ctx: ctx.text(name)), typ
        return (lambda ctx: ctx[name]), typ

    # -- boolean logic
    def v_BoolOp(self, node: ast.BoolOp) -> tuple[Fn, Type]:
        parts = [self.cond(v) for v in node.values]
        op = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def run(ctx: Context) -> Any:
            acc = parts[0](ctx)
            for part in parts[1:]:
                acc = op(acc, part(ctx))
            return acc

        return run, BOOL

    def v_UnaryOp(self, node: ast.UnaryOp) -> tuple[Fn, Type]:
        if isinstance(node.op, ast.Not):
            inner = self.cond(node.operand)
            return (lambda ctx: np.logical_not(inner(ctx))), BOOL
        if isinstance(node.op, ast.USub):
            fn, typ = self.visit(node.operand)
            self.expect(node, typ, "num")
            return (lambda ctx: np.negative(fn(ctx))), NUM
        raise self.fail(node, "only `not` and unary `-` are allowed")

    def cond(self, node: ast.AST) -> Fn:
        fn, typ = self.visit(node)
        if typ.kind != "bool":
            raise self.fail(node, f"expected a condition (true/false), got a {typ.kind}")
        return _truth(fn, "bool")

    def expect(self, node: ast.AST, typ: Type, *kinds: str) -> None:
        if typ.kind not in kinds:
            raise self.fail(node, f"expected {' or '.join(kinds)}, got {typ.kind}")

    # -- comparisons
    def check_literal(self, node: ast.AST, enum: Type, literal: Type) -> None:
        if enum.choices and len(enum.choices) > 0 and literal.choices and len(literal.choices) == 1:
            (value,) = literal.choices
            if value not in enum.choices:
                raise self.fail(node, f"{value!r} is not one of the allowed values {', '.join(enum.choices)}")

    def v_Compare(self, node: ast.Compare) -> tuple[Fn, Type]:
        left_fn, left_t = self.visit(node.left)
        steps: list[Fn] = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                steps.append(self.membership(node, left_fn, left_t, op, right))
                left_fn, left_t = (lambda ctx: None), left_t
                continue
            right_fn, right_t = self.visit(right)
            ufunc = _CMP.get(type(op))
            if ufunc is None:
                raise self.fail(node, "`is` comparisons are not allowed; use == or is_missing()")
            steps.append(self.comparison(node, ufunc, (left_fn, left_t), (right_fn, right_t), op))
            left_fn, left_t = right_fn, right_t
        if len(steps) == 1:
            return steps[0], BOOL

        def run(ctx: Context) -> Any:
            acc = steps[0](ctx)
            for step in steps[1:]:
                acc = np.logical_and(acc, step(ctx))
            return acc

        return run, BOOL

    def comparison(
        self, node: ast.AST, ufunc: np.ufunc, left: tuple[Fn, Type], right: tuple[Fn, Type], op: ast.cmpop
    ) -> Fn:
        (lf, lt), (rf, rt) = left, right
        kinds = {lt.kind, rt.kind}
        if kinds <= {"num", "date"} and (lt.kind == rt.kind or kinds == {"num"}):

            def num(ctx: Context) -> Any:
                a, b = lf(ctx), rf(ctx)
                with np.errstate(invalid="ignore"):
                    out = ufunc(a, b)
                # NaN already compares false except under !=, where missing must be false too
                return out & ~np.isnan(a) & ~np.isnan(b) if ufunc is np.not_equal else out

            return num
        if kinds == {"str"}:
            if not isinstance(op, ast.Eq | ast.NotEq):
                raise self.fail(node, "text can only be compared with == or !=")
            self.check_literal(node, lt, rt)
            self.check_literal(node, rt, lt)
            eq = isinstance(op, ast.Eq)

            def text(ctx: Context) -> Any:
                a, b = lf(ctx), rf(ctx)
                if isinstance(a, str) and isinstance(b, str):
                    return (a == b) == eq
                if isinstance(a, str):
                    a, b = b, a
                if isinstance(b, str):  # field vs literal: one integer compare
                    same = a.codes == a.index.get(b, -2)  # -2: a value no row has
                    return same if eq else ~same & (a.codes >= 0)
                same = a.decode() == b.decode()  # two text fields (rare): compare the values
                return (same if eq else ~same) & (a.codes >= 0) & (b.codes >= 0)

            return text
        if kinds == {"bool"} and isinstance(op, ast.Eq | ast.NotEq):
            la, ra = _truth(lf, "bool"), _truth(rf, "bool")

            def present(ctx: Context) -> Any:
                return ~_missing(lf(ctx), "bool") & ~_missing(rf(ctx), "bool")

            if isinstance(op, ast.Eq):
                return lambda ctx: (la(ctx) == ra(ctx)) & present(ctx)
            return lambda ctx: (la(ctx) != ra(ctx)) & present(ctx)
        raise self.fail(node, f"cannot compare {lt.kind} with {rt.kind}")

    def membership(self, node: ast.AST, lf: Fn, lt: Type, op: ast.cmpop, right: ast.AST) -> Fn:
        if not isinstance(right, ast.List | ast.Tuple) or not right.elts:
            raise self.fail(node, '`in` needs a non-empty list of literals, e.g. x in ["C", "D"]')
        values = []
        for elt in right.elts:
            if not isinstance(elt, ast.Constant) or isinstance(elt.value, bool):
                raise self.fail(elt, "`in` lists may hold only numbers or strings")
            values.append(elt.value)
        negate = isinstance(op, ast.NotIn)
        if lt.kind == "str":
            for v in values:
                if not isinstance(v, str):
                    raise self.fail(node, f"cannot test text against number {v!r}")
                self.check_literal(node, lt, Type("str", (v,)))
            wanted = dict.fromkeys(values, 1.0)

            def text(ctx: Context) -> Any:
                value = lf(ctx)
                if isinstance(value, str):
                    return (value in wanted) != negate
                hit = value.table(wanted, 0.0)[value.codes] > 0  # per-code membership; missing -> no
                return ~hit & (value.codes >= 0) if negate else hit

            return text
        if lt.kind != "num":
            raise self.fail(node, f"`in` does not apply to {lt.kind}")
        if any(isinstance(v, str) for v in values):
            raise self.fail(node, "cannot test a number against text")
        allowed = np.array(values, dtype="float64")

        def num(ctx: Context) -> Any:
            value = np.atleast_1d(lf(ctx))
            hit = np.isin(value, allowed)
            return (~hit & ~np.isnan(value)) if negate else hit

        return num

    # -- arithmetic
    def v_BinOp(self, node: ast.BinOp) -> tuple[Fn, Type]:
        ufunc = _ARITH.get(type(node.op))
        if ufunc is None:
            raise self.fail(node, "only + - * / are allowed")
        lf, lt = self.visit(node.left)
        rf, rt = self.visit(node.right)
        self.expect(node.left, lt, "num")
        self.expect(node.right, rt, "num")

        def run(ctx: Context) -> Any:
            with np.errstate(divide="ignore", invalid="ignore"):
                out = ufunc(lf(ctx), rf(ctx))
            # x / 0 is missing, not infinite: the `missing` bin decides
            return np.where(np.isinf(out), np.nan, out) if ufunc is np.divide else out

        return run, NUM

    # -- functions
    def v_Call(self, node: ast.Call) -> tuple[Fn, Type]:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "not allowed in rule expressions: calling anything but a named function")
        if node.keywords:
            raise self.fail(node, "keyword arguments are not allowed")
        name = node.func.id
        handler = getattr(self, "f_" + name, None)
        if handler is None:
            raise self.fail(node, f"unknown function {name!r} (allowed: {', '.join(FUNCTIONS)})")
        return handler(node)  # type: ignore[no-any-return]

    def nums(self, node: ast.Call, low: int, high: int | None = None) -> list[Fn]:
        n = len(node.args)
        if n < low or (high is not None and n > high):
            raise self.fail(node, f"{node.func.id}() takes {low}{'' if high == low else '+'} argument(s)")  # type: ignore[attr-defined]
        out = []
        for arg in node.args:
            fn, typ = self.visit(arg)
            self.expect(arg, typ, "num")
            out.append(fn)
        return out

    def f_min(self, node: ast.Call) -> tuple[Fn, Type]:
        args = self.nums(node, 2)
        return (lambda ctx: _reduce(np.minimum, args, ctx)), NUM

    def f_max(self, node: ast.Call) -> tuple[Fn, Type]:
        args = self.nums(node, 2)
        return (lambda ctx: _reduce(np.maximum, args, ctx)), NUM

    def f_abs(self, node: ast.Call) -> tuple[Fn, Type]:
        (arg,) = self.nums(node, 1, 1)
        return (lambda ctx: np.abs(arg(ctx))), NUM

    def f_floor(self, node: ast.Call) -> tuple[Fn, Type]:
        (arg,) = self.nums(node, 1, 1)
        return (lambda ctx: np.floor(arg(ctx))), NUM

    def f_coalesce(self, node: ast.Call) -> tuple[Fn, Type]:
        args = self.nums(node, 2)
        return (lambda ctx: _reduce(lambda a, b: np.where(np.isnan(a), b, a), args, ctx)), NUM

    def f_is_missing(self, node: ast.Call) -> tuple[Fn, Type]:
        if len(node.args) != 1:
            raise self.fail(node, "is_missing() takes 1 argument")
        fn, typ = self.visit(node.args[0])
        kind = typ.kind
        return (lambda ctx: _missing(fn(ctx), kind)), BOOL

    def f_where(self, node: ast.Call) -> tuple[Fn, Type]:
        if len(node.args) != 3:
            raise self.fail(node, "where(condition, if_true, if_false) takes 3 arguments")
        cond = self.cond(node.args[0])
        a, b = self.nums(ast.Call(func=node.func, args=node.args[1:], keywords=[]), 2, 2)
        return (lambda ctx: np.where(cond(ctx), a(ctx), b(ctx))), NUM

    def f_lookup(self, node: ast.Call) -> tuple[Fn, Type]:
        if len(node.args) != 3 or not isinstance(node.args[1], ast.Dict):
            raise self.fail(node, 'lookup(field, {"A": 8, "B": 6}, default) takes a field, a table and a default')
        key_fn, key_t = self.visit(node.args[0])
        if key_t.kind != "str":
            raise self.fail(node, "lookup() keys must be text (an enum field)")
        table: dict[str, float] = {}
        for k, v in zip(node.args[1].keys, node.args[1].values, strict=True):
            if not isinstance(k, ast.Constant) or not isinstance(k.value, str):
                raise self.fail(node, "lookup() table keys must be strings")
            self.check_literal(node, key_t, Type("str", (k.value,)))
            if not isinstance(v, ast.Constant) or not isinstance(v.value, int | float) or isinstance(v.value, bool):
                raise self.fail(node, "lookup() table values must be numbers")
            table[k.value] = float(v.value)
        (default,) = self.nums(ast.Call(func=node.func, args=[node.args[2]], keywords=[]), 1, 1)

        def run(ctx: Context) -> Any:
            key = key_fn(ctx)
            if isinstance(key, str):
                return table[key] if key in table else default(ctx)
            out = key.table(table)[key.codes]  # NaN: not in the table, or missing
            return np.where(np.isnan(out), default(ctx), out)

        return run, NUM

    def f_date(self, node: ast.Call) -> tuple[Fn, Type]:
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Constant) or not isinstance(node.args[0].value, str):
            raise self.fail(node, 'date() takes one literal "YYYY-MM-DD"')
        try:
            days = float(np.datetime64(node.args[0].value, "D").astype("int64"))
        except ValueError:
            raise self.fail(node, f"not a date: {node.args[0].value!r}") from None
        return (lambda ctx: days), DATE

    def since(self, node: ast.Call, scale: float) -> tuple[Fn, Type]:
        if len(node.args) != 1:
            raise self.fail(node, f"{node.func.id}() takes 1 date")  # type: ignore[attr-defined]
        fn, typ = self.visit(node.args[0])
        self.expect(node.args[0], typ, "date")
        if "as_of" in self.names:
            self.used.add("as_of")
        return (lambda ctx: (ctx.as_of_days - fn(ctx)) / scale), NUM

    def f_months_since(self, node: ast.Call) -> tuple[Fn, Type]:
        return self.since(node, DAYS_PER_MONTH)

    def f_days_since(self, node: ast.Call) -> tuple[Fn, Type]:
        return self.since(node, 1.0)


FUNCTIONS = sorted(n[2:] for n in dir(_Compiler) if n.startswith("f_"))


def _reduce(op: Callable[[Any, Any], Any], args: list[Fn], ctx: Context) -> Any:
    acc = args[0](ctx)
    for arg in args[1:]:
        acc = op(acc, arg(ctx))
    return acc


def compile_expr(source: str | bool | int | float, names: Mapping[str, Type]) -> Compiled:
    """Parse, check and compile `source` against the typed `names` it may use."""
    if isinstance(source, bool):
        source = "true" if source else "false"
    text = str(source).strip()
    if not text:
        raise ExprError("empty expression")
    if len(text) > 2000:
        raise ExprError("expression longer than 2000 characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"syntax error at column {exc.offset}: {exc.msg} in `{text}`") from None
    compiler = _Compiler(text, names)
    fn, typ = compiler.visit(tree)
    if typ.kind == "bool":
        fn = _truth(fn, "bool")  # a bare bool field: 1.0 -> true, 0.0 and missing -> false
    return Compiled(text, typ, frozenset(compiler.used), fn)
