"""The rule-set file format (`scoring_rules/*.yaml`) as a pydantic model.

This model is the format's single definition: it validates files at load, and
`scoring_rules/schema.json` (for editors) is generated from it. Structural checks live here;
checks that need the profile schema (field names, types, coverage of bins and categories,
reachability) live in `rules.compile`, which runs at load too - never at decision time.

Bins are half-open intervals `[ge, lt)`: the first bin has no `ge` (from minus infinity), the
last no `lt` (to plus infinity), and each bin starts where the previous one ends, so a value
falls in exactly one bin. Every characteristic has an explicit `missing` bin.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = [
    "Band", "Bin", "Case", "Category", "Characteristic", "Dimension", "Knockout", "LimitSpec",
    "MissingBin", "ModelPolicy", "Precondition", "Product", "RuleSetSpec", "ValidUntil",
]  # fmt: skip

RuleId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64, description="stable id, UPPER_SNAKE")]
BinId = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9_]*$", max_length=32)]
Expr = Annotated[
    str,
    # YAML reads a bare `true` / `false` as a boolean: keep it as the expression it is
    BeforeValidator(lambda v: ("true" if v else "false") if isinstance(v, bool) else v),
    Field(min_length=1, max_length=2000, description="rule expression (see docs/rules.md)"),
]
Points = Annotated[float, Field(ge=0, le=1000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Labelled(_Strict):
    zh: str = Field(min_length=1, description="Chinese text a person reads")
    en: str = Field(min_length=1, description="English text a person reads")


class Product(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="e.g. chengxindai")
    name_zh: str
    name_en: str
    max_amount_yuan: int = Field(gt=0, description="the cap: no limit is ever above it")


class Precondition(Labelled):
    """Must hold for the product to apply at all; fails -> NOT_APPLICABLE with this reason."""

    id: RuleId
    require: Expr
    basis: str | None = Field(None, description="source or rationale")


class Knockout(Labelled):
    """一票否决: when true the enterprise is ineligible whatever its score."""

    id: RuleId
    when: Expr
    basis: str | None = None


class MissingBin(_Strict):
    points: Points
    when: Expr | None = Field(None, description="what counts as missing; default: the field is missing")
    zh: str | None = None
    en: str | None = None


class Bin(_Strict):
    id: BinId
    ge: float | None = Field(None, description="lower bound, inclusive; omitted on the first bin")
    lt: float | None = Field(None, description="upper bound, exclusive; omitted on the last bin")
    points: Points
    zh: str | None = None
    en: str | None = None


class Category(_Strict):
    id: BinId
    values: list[str | bool] = Field(min_length=1)
    points: Points
    zh: str | None = None
    en: str | None = None


class Case(_Strict):
    id: BinId
    when: Expr | None = None
    otherwise: bool = False
    points: Points
    zh: str | None = None
    en: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Case:
        if (self.when is None) == (not self.otherwise):
            raise ValueError("a case has either `when: <condition>` or `otherwise: true`")
        return self


class Characteristic(Labelled):
    """A scored characteristic: one of `bins` (numbers), `categories` (enums) or `cases`."""

    id: RuleId
    field: str | None = Field(None, description="a profile field; or use `value` for an expression")
    value: Expr | None = Field(None, description="an expression whose value is binned")
    missing: MissingBin
    bins: list[Bin] | None = None
    categories: list[Category] | None = None
    cases: list[Case] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Characteristic:
        kinds = [k for k in ("bins", "categories", "cases") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of `bins`, `categories` or `cases`")
        if kinds[0] != "cases" and (self.field is None) == (self.value is None):
            raise ValueError("bins and categories need exactly one of `field` or `value`")
        if kinds[0] == "cases" and self.missing.when is None:
            raise ValueError("a `cases` characteristic must say what counts as missing (`missing.when`)")
        ids = [b.id for b in self.outcomes()]
        dup = {i for i in ids if ids.count(i) > 1} | ({"MISSING"} & set(ids))
        if dup:
            raise ValueError(f"bin ids must be unique and not MISSING: {', '.join(sorted(dup))}")
        return self

    def outcomes(self) -> list[Bin | Category | Case]:
        """The bins in file order (the missing bin excluded)."""
        return list(self.bins or self.categories or self.cases or [])

    @property
    def max_points(self) -> float:
        return max([b.points for b in self.outcomes()] + [self.missing.points])


class Dimension(Labelled):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    weight: float = Field(gt=0, le=1)
    floor: float = Field(0, ge=0, le=100, description="the dimension score must reach this to be eligible")
    characteristics: list[Characteristic] = Field(min_length=1)

    @model_validator(mode="after")
    def _scale(self) -> Dimension:
        best = sum(c.max_points for c in self.characteristics)
        if abs(best - 100) > 1e-9:
            raise ValueError(f"the best bins of its characteristics add up to {best:g} points, not 100")
        return self


class Band(_Strict):
    id: BinId
    min_score: float | None = Field(None, ge=0, le=100, description="omitted on the lowest band")
    zh: str | None = None
    en: str | None = None


class LimitSpec(_Strict):
    """The limit in yuan: `formula` after `let` variables, capped, less `deduct`, rounded down, with a minimum.

    `deduct` (e.g. existing unsecured loans) is subtracted *after* the cap, so the cap bounds the
    enterprise's total unsecured credit: limit = min(cap, formula) − deduct."""

    let: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], Expr] = Field(default_factory=dict)
    formula: Expr
    deduct: Expr | None = Field(None, description="subtracted after the cap (a missing value counts as 0)")
    round_down_to_yuan: int = Field(10_000, gt=0)
    minimum_yuan: int = Field(0, ge=0, description="below this no loan is offered (LIMIT_BELOW_MINIMUM)")


class ValidUntil(_Strict):
    months: int = Field(12, gt=0, le=60, description="a decision is valid this long after as_of")
    not_after: list[str] = Field(default_factory=list, description="date fields that end validity earlier")


class ModelPolicy(_Strict):
    """How the optional PD model takes part in the decision."""

    mode: Literal["off", "advisory", "pd_ceiling", "limit_scaling"] = "advisory"
    pd_ceiling: float | None = Field(None, gt=0, lt=1, description="pd_ceiling: ineligible above this PD")
    limit_scaling: list[tuple[float, float]] = Field(
        default_factory=list, description="limit_scaling: [[pd_below, factor], ...] in ascending pd"
    )

    @model_validator(mode="after")
    def _complete(self) -> ModelPolicy:
        if self.mode == "pd_ceiling" and self.pd_ceiling is None:
            raise ValueError("mode pd_ceiling needs `pd_ceiling`")
        if self.mode == "limit_scaling":
            if not self.limit_scaling:
                raise ValueError("mode limit_scaling needs `limit_scaling`")
            edges = [edge for edge, _ in self.limit_scaling]
            if edges != sorted(edges) or any(not 0 <= f <= 1 for _, f in self.limit_scaling):
                raise ValueError("limit_scaling edges must ascend and factors lie in [0, 1]")
        return self


class RuleSetSpec(_Strict):
    """One product's rule set, one version: what a committee officer signs off."""

    format: Literal["parkcredit/ruleset@1"] = "parkcredit/ruleset@1"
    product: Product
    version: str = Field(pattern=r"^\d+\.\d+(\.\d+)?$")
    effective_from: dt.date
    description_zh: str | None = None
    description_en: str | None = None
    preconditions: list[Precondition] = Field(default_factory=list)
    knockouts: list[Knockout] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(min_length=1)
    threshold: float = Field(ge=0, le=100, description="eligible needs total score >= threshold")
    bands: list[Band] = Field(min_length=1)
    limit: LimitSpec
    valid_until: ValidUntil = Field(default_factory=ValidUntil)
    model: ModelPolicy = Field(default_factory=ModelPolicy)

    @model_validator(mode="after")
    def _consistent(self) -> RuleSetSpec:
        total = sum(d.weight for d in self.dimensions)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"dimension weights add up to {total:g}, not 1")
        ids = [r.id for r in self.preconditions] + [r.id for r in self.knockouts]
        ids += [c.id for d in self.dimensions for c in d.characteristics]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"rule ids must be unique: {', '.join(dup)}")
        dims = [d.id for d in self.dimensions]
        if len(set(dims)) != len(dims):
            raise ValueError("dimension ids must be unique")
        mins = [b.min_score for b in self.bands]
        if mins[-1] is not None or any(m is None for m in mins[:-1]):
            raise ValueError("every band but the last needs min_score; the last has none")
        if [m for m in mins[:-1]] != sorted((m for m in mins[:-1]), reverse=True) or len(set(mins)) != len(mins):  # type: ignore[type-var]
            raise ValueError("bands must be listed from the highest min_score down, without ties")
        return self
