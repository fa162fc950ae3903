"""What changed between two rule-set versions, as a committee officer reads it.

`diff_rulesets(old, new)` compares the checked rule sets (not the YAML text, so comments and
layout do not count, like the content hash) and lists every change: thresholds, weights and
floors, bins and their points, knock-outs and preconditions added, removed or changed, bands,
the limit formula, the model policy. Each change carries a Chinese and an English sentence.
Rules are matched by their stable ids; bins by their ids within a characteristic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from parkcredit.rules.spec import RuleSetSpec

__all__ = ["AREAS", "Change", "diff_rulesets", "render"]

# area -> (zh, en)
AREAS: dict[str, tuple[str, str]] = {
    "product": ("产品", "Product"),
    "meta": ("版本信息", "Version"),
    "threshold": ("准入门槛分", "Eligibility threshold"),
    "precondition": ("前置条件", "Precondition"),
    "knockout": ("一票否决", "Knock-out"),
    "dimension": ("评分维度", "Dimension"),
    "characteristic": ("评分项", "Characteristic"),
    "bin": ("分箱", "Bin"),
    "band": ("评级档", "Band"),
    "limit": ("额度公式", "Limit formula"),
    "valid_until": ("有效期", "Validity"),
    "model": ("模型参与方式", "Model policy"),
}
_FIELDS: dict[str, tuple[str, str]] = {
    "code": ("代码", "code"), "name_zh": ("中文名", "Chinese name"), "name_en": ("英文名", "English name"),
    "max_amount_yuan": ("最高额度(元)", "maximum amount (yuan)"), "version": ("版本号", "version"),
    "effective_from": ("生效日期", "effective from"), "description_zh": ("中文说明", "Chinese description"),
    "description_en": ("英文说明", "English description"), "format": ("格式", "format"),
    "threshold": ("门槛分", "threshold"), "require": ("条件", "condition"), "when": ("条件", "condition"),
    "zh": ("中文表述", "Chinese text"), "en": ("英文表述", "English text"), "basis": ("依据", "basis"),
    "weight": ("权重", "weight"), "floor": ("最低分", "floor"), "field": ("字段", "field"),
    "value": ("取值表达式", "value expression"), "dimension": ("所属维度", "dimension"),
    "points": ("分值", "points"), "ge": ("下限(含)", "lower bound (incl.)"),
    "lt": ("上限(不含)", "upper bound (excl.)"), "values": ("类别取值", "values"),
    "otherwise": ("其余情形", "otherwise"), "min_score": ("最低总分", "minimum score"),
    "formula": ("公式", "formula"), "round_down_to_yuan": ("取整单位(元)", "round down to (yuan)"),
    "minimum_yuan": ("最低额度(元)", "minimum (yuan)"), "months": ("月数", "months"),
    "not_after": ("不晚于字段", "not after fields"), "mode": ("方式", "mode"),
    "pd_ceiling": ("违约概率上限", "PD ceiling"),
    "limit_scaling": ("额度调整表", "limit scaling"), "missing.points": ("缺失分值", "missing-bin points"),
    "missing.when": ("缺失条件", "missing condition"), "missing.zh": ("缺失中文表述", "missing-bin Chinese text"),
    "missing.en": ("缺失英文表述", "missing-bin English text"),
}  # fmt: skip


@dataclass(frozen=True)
class Change:
    """One change. `kind` is added | removed | changed; `field` is None for a whole rule added or removed."""

    area: str
    kind: str
    rule_id: str | None
    item: str | None
    field: str | None
    before: Any
    after: Any
    zh: str
    en: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _HasSpec(Protocol):
    """A compiled `RuleSet` (or anything else carrying a checked spec)."""

    @property
    def spec(self) -> RuleSetSpec: ...


def _spec(x: _HasSpec | RuleSetSpec) -> RuleSetSpec:
    return x if isinstance(x, RuleSetSpec) else x.spec  # a compiled RuleSet or its spec


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:,g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


class _Diff:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def _where(self, area: str, rule_id: str | None, item: str | None) -> tuple[str, str]:
        zh, en = AREAS[area]
        ident = "/".join(x for x in (rule_id, item) if x)
        return (f"{zh} {ident}" if ident else zh), (f"{en} {ident}" if ident else en)

    def field(self, area: str, rule_id: str | None, item: str | None, name: str, before: Any, after: Any) -> None:
        if before == after:
            return
        wz, we = self._where(area, rule_id, item)
        fz, fe = _FIELDS.get(name, (name, name))
        kind = "changed"
        self.changes.append(
            Change(area, kind, rule_id, item, name, before, after,
                   f"{wz}：{fz} {_fmt(before)} → {_fmt(after)}", f"{we}: {fe} {_fmt(before)} → {_fmt(after)}")
        )  # fmt: skip

    def whole(self, area: str, kind: str, rule_id: str | None, item: str | None, obj: dict[str, Any]) -> None:
        wz, we = self._where(area, rule_id, item)
        label_zh = obj.get("zh") or ""
        label_en = obj.get("en") or ""
        what = _summary(obj)
        zh = (
            f"{'新增' if kind == 'added' else '删除'}{wz}"
            + (f"（{label_zh}）" if label_zh else "")
            + (f"：{what}" if what else "")
        )
        en = f"{'Added' if kind == 'added' else 'Removed'} {we[0].lower()}{we[1:]}" + (
            f" ({label_en})" if label_en else ""
        )
        en += f": {what}" if what else ""
        before, after = (None, obj) if kind == "added" else (obj, None)
        self.changes.append(Change(area, kind, rule_id, item, None, before, after, zh, en))

    def fields(self, area: str, rule_id: str | None, item: str | None, a: dict[str, Any], b: dict[str, Any],
               skip: tuple[str, ...] = ()) -> None:  # fmt: skip
        for name in list(dict.fromkeys([*a, *b])):
            if name in skip:
                continue
            self.field(area, rule_id, item, name, a.get(name), b.get(name))

    def keyed(self, area: str, a: list[dict[str, Any]], b: list[dict[str, Any]], parent: str | None = None,
              skip: tuple[str, ...] = ("id",)) -> list[tuple[dict[str, Any], dict[str, Any]]]:  # fmt: skip
        """Added/removed by id; returns the pairs present in both (in the new order)."""
        old = {x["id"]: x for x in a}
        new = {x["id"]: x for x in b}
        for k, x in old.items():
            if k not in new:
                self.whole(area, "removed", parent or k, k if parent else None, x)
        pairs = []
        for k, x in new.items():
            if k not in old:
                self.whole(area, "added", parent or k, k if parent else None, x)
            else:
                pairs.append((old[k], x))
        return pairs


def _summary(obj: dict[str, Any]) -> str:
    for key in ("when", "require", "formula"):
        if obj.get(key):
            return str(obj[key])
    if "points" in obj:
        bounds = []
        if obj.get("ge") is not None:
            bounds.append(f"≥{_fmt(obj['ge'])}")
        if obj.get("lt") is not None:
            bounds.append(f"<{_fmt(obj['lt'])}")
        if obj.get("values"):
            bounds.append(_fmt(obj["values"]))
        return " ".join(bounds + [f"{_fmt(obj['points'])} pts"])
    if "min_score" in obj:
        return f"≥{_fmt(obj['min_score'])}"
    return ""


def _bins(c: dict[str, Any]) -> list[dict[str, Any]]:
    return list(c.get("bins") or c.get("categories") or c.get("cases") or [])


def diff_rulesets(old: _HasSpec | RuleSetSpec, new: _HasSpec | RuleSetSpec) -> list[Change]:
    """Every change from `old` to `new` (RuleSet or RuleSetSpec), in the rule file's order."""
    a = _spec(old).model_dump(mode="python")
    b = _spec(new).model_dump(mode="python")
    d = _Diff()
    d.fields("product", None, None, a["product"], b["product"])
    for name in ("format", "version", "effective_from", "description_zh", "description_en"):
        d.field("meta", None, None, name, a.get(name), b.get(name))
    for area, key in (("precondition", "preconditions"), ("knockout", "knockouts")):
        for x, y in d.keyed(area, a[key], b[key]):
            d.fields(area, x["id"], None, x, y, skip=("id",))
    for x, y in d.keyed("dimension", a["dimensions"], b["dimensions"]):
        d.fields("dimension", x["id"], None, x, y, skip=("id", "characteristics"))
    chars_a = {c["id"]: (dim["id"], c) for dim in a["dimensions"] for c in dim["characteristics"]}
    chars_b = {c["id"]: (dim["id"], c) for dim in b["dimensions"] for c in dim["characteristics"]}
    for cid, (_, c) in chars_a.items():
        if cid not in chars_b:
            d.whole("characteristic", "removed", cid, None, c)
    for cid, (dim_b, c) in chars_b.items():
        if cid not in chars_a:
            d.whole("characteristic", "added", cid, None, c)
            continue
        dim_a, ca = chars_a[cid]
        d.field("characteristic", cid, None, "dimension", dim_a, dim_b)
        d.fields("characteristic", cid, None, ca, c, skip=("id", "missing", "bins", "categories", "cases"))
        for name in ("points", "when", "zh", "en"):
            d.field(
                "characteristic", cid, "MISSING", f"missing.{name}", ca["missing"].get(name), c["missing"].get(name)
            )
        kind_a = next(k for k in ("bins", "categories", "cases") if ca.get(k) is not None)
        kind_b = next(k for k in ("bins", "categories", "cases") if c.get(k) is not None)
        d.field("characteristic", cid, None, "kind", kind_a, kind_b)
        for x, y in d.keyed("bin", _bins(ca), _bins(c), parent=cid):
            d.fields("bin", cid, x["id"], x, y, skip=("id",))
    d.field("threshold", None, None, "threshold", a["threshold"], b["threshold"])
    for x, y in d.keyed("band", a["bands"], b["bands"]):
        d.fields("band", x["id"], None, x, y, skip=("id",))
    la, lb = a["limit"], b["limit"]
    for var in dict.fromkeys([*la["let"], *lb["let"]]):
        if var not in lb["let"]:
            d.whole("limit", "removed", var, None, {"formula": la["let"][var]})
        elif var not in la["let"]:
            d.whole("limit", "added", var, None, {"formula": lb["let"][var]})
        else:
            d.field("limit", var, None, "formula", la["let"][var], lb["let"][var])
    d.fields("limit", None, None, la, lb, skip=("let",))
    d.fields("valid_until", None, None, a["valid_until"], b["valid_until"])
    d.fields("model", None, None, a["model"], b["model"])
    return d.changes


def render(changes: list[Change], lang: str = "zh") -> str:
    """The changes as lines of text, one per change (`lang` zh or en)."""
    if not changes:
        return "无变化" if lang == "zh" else "no change"
    return "\n".join(
        f"{'+' if c.kind == 'added' else '-' if c.kind == 'removed' else '~'} {getattr(c, lang)}" for c in changes
    )
