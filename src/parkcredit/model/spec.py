"""The model spec file (`models/spec.yaml`): which profile fields feed the PD model, how each is
encoded, which way it may move risk, which reason code it reports under, and LightGBM params.

Format ``parkcredit/model-spec@1``::

    features:
      - {name: tax_grade, field: tax_credit_grade, encoding: ordinal, order: [D, C, M, B, A],
         monotone: -1, reason: MODEL_TAX_GRADE}
      - {name: debt_ratio, monotone: 1, reason: MODEL_LEVERAGE}
      - {name: industry, field: industry_code, encoding: category, prefix: 3, reason: MODEL_INDUSTRY}
    reasons:
      MODEL_TAX_GRADE: {zh: 纳税信用等级, en: Tax credit grade}
    params: {learning_rate: 0.05, n_estimators: 300, max_depth: 4, num_leaves: 15}
    calibration: auto   # auto | isotonic | platt | none

Encodings: ``numeric`` (int/float/bool fields, NaN kept for LightGBM), ``ordinal`` (an ordered
enum as its position in ``order``, worst first, so ``monotone: -1`` reads "a better grade never
raises risk"; values outside ``order`` — e.g. NOT_RATED — become NaN), ``indicator`` (1.0 where the
field equals ``value``, 0.0 otherwise, NaN where missing), ``category`` (LightGBM native
categorical, only for enums without an order; codes are learned at fit time when
``categories`` is not given). `monotone` is +1 (higher value never lowers PD), -1 or 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DEFAULT_PARAMS", "FeatureSpec", "ModelSpec", "ModelSpecError", "ReasonText", "generic_spec", "load_spec"]

# Shallow trees keep exact TreeSHAP cheap (DESIGN §10) and the model reviewable.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "n_estimators": 300,
    "max_depth": 4,
    "num_leaves": 15,
    "min_child_samples": 40,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "verbose": -1,
}


class ModelSpecError(ValueError):
    """A model spec file that cannot be used: names the file, the feature and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReasonText(_Strict):
    zh: str
    en: str


class FeatureSpec(_Strict):
    """One column of the model's feature matrix."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    field: str | None = None  # profile field it reads; defaults to `name`
    encoding: Literal["numeric", "ordinal", "indicator", "category"] = "numeric"
    order: list[str] | None = None  # ordinal: worst first
    value: str | None = None  # indicator
    categories: list[str] | None = None  # category: learned at fit time when None
    prefix: int | None = Field(None, ge=1)  # category: use the first `prefix` characters (industry division)
    monotone: Literal[-1, 0, 1] = 0
    reason: str | None = None  # reason code; defaults to MODEL_<NAME>

    @property
    def source(self) -> str:
        return self.field or self.name

    @property
    def reason_code(self) -> str:
        return self.reason or f"MODEL_{self.name.upper()}"

    @model_validator(mode="after")
    def _complete(self) -> FeatureSpec:
        if self.encoding == "ordinal" and not self.order:
            raise ValueError(f"feature {self.name}: ordinal encoding needs `order` (worst first)")
        if self.encoding == "indicator" and self.value is None:
            raise ValueError(f"feature {self.name}: indicator encoding needs `value`")
        if self.encoding == "category" and self.monotone:
            raise ValueError(f"feature {self.name}: a native categorical has no order, so no monotone direction")
        return self


class ModelSpec(_Strict):
    """A model spec: features, reason texts, LightGBM params, calibration choice."""

    format: Literal["parkcredit/model-spec@1"] = "parkcredit/model-spec@1"
    name: str = "pd"
    target: str = "default_12m"
    profile: bool = True  # features read the derived profile frame (False: any numeric table)
    features: list[FeatureSpec] = Field(min_length=1)
    reasons: dict[str, ReasonText] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    calibration: Literal["auto", "isotonic", "platt", "none"] = "auto"

    @model_validator(mode="after")
    def _unique(self) -> ModelSpec:
        names = [f.name for f in self.features]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate feature names: {', '.join(sorted(dup))}")
        return self

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def lgb_params(self) -> dict[str, Any]:
        """LightGBM sklearn-API params: defaults, then the file's, then monotone constraints."""
        params = {**DEFAULT_PARAMS, **self.params}
        mono = [f.monotone for f in self.features]
        if any(mono):
            params["monotone_constraints"] = mono
            # "advanced" broke the constraints here (PD fell as debt_ratio rose; tests/model
            # test_monotone_*); "intermediate" keeps them and is less conservative than "basic"
            params.setdefault("monotone_constraints_method", "intermediate")
        return params

    def group_text(self) -> dict[str, tuple[str, str]]:
        """reason code -> (zh, en), falling back to the profile field's labels."""
        from parkcredit.profile import DERIVED, FIELDS

        out: dict[str, tuple[str, str]] = {}
        for f in self.features:
            code = f.reason_code
            if code in self.reasons:
                out[code] = (self.reasons[code].zh, self.reasons[code].en)
            elif code not in out:
                info = FIELDS.get(f.source) or DERIVED.get(f.source)
                out[code] = (info.zh, info.en) if info else (f.name, f.name)
        return out

    def check_profile_schema(self) -> None:
        """Raise ModelSpecError unless every feature reads an existing profile field of a fitting kind."""
        if not self.profile:
            return
        from parkcredit.profile import DERIVED, FIELDS

        for f in self.features:
            info = FIELDS.get(f.source) or DERIVED.get(f.source)
            if info is None:
                raise ModelSpecError(f"feature {f.name}: {f.source!r} is not a profile field")
            if f.encoding == "numeric" and info.kind not in ("int", "float", "bool"):
                raise ModelSpecError(f"feature {f.name}: {f.source} is {info.kind}, numeric encoding needs a number")
            if f.encoding == "ordinal" and info.choices:
                unknown = set(f.order or ()) - set(info.choices)
                if unknown:
                    raise ModelSpecError(f"feature {f.name}: order has values not in {f.source}: {sorted(unknown)}")

    def dump(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), allow_unicode=True, sort_keys=False)


def load_spec(path: str | Path) -> ModelSpec:
    """Load and check a model spec file; ModelSpecError names the file and the reason."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = ModelSpec.model_validate(data)
        spec.check_profile_schema()
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ModelSpecError(f"{path}: {exc}") from None
    return spec


def generic_spec(columns: list[str], target: str, params: dict[str, Any] | None = None) -> ModelSpec:
    """A spec for any numeric table: every column but the target is a numeric feature."""
    feats = [FeatureSpec(name=_safe_name(c), field=c) for c in columns if c != target]
    return ModelSpec(name="table", target=target, profile=False, features=feats, params=params or {})


def _safe_name(column: str) -> str:
    import re

    name = re.sub(r"[^A-Za-z0-9_]", "_", str(column))
    return name if re.match(r"^[A-Za-z_]", name) else f"f_{name}"
