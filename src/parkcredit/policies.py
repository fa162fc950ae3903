"""政策找企业 (policies find the enterprise): policy rules in the rule language over the same profile.

A policy file (`scoring_rules/policies/*.yaml`, format `parkcredit/policy@1`) names a support
measure, a reward or a product's pre-qualification and lists its criteria as rule expressions —
the same language, field names and compiler as the rule sets (`rules.expr`), checked at load.
`evaluate(frame, policies, rulesets)` returns, per enterprise and policy, whether it matches and
which criteria it meets; a policy with `prequalify: <product>` also needs that product's
preconditions met and no knock-out (the rule set in force, passed in by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parkcredit.profile.derive import DERIVED, derive
from parkcredit.rules.compile import RuleSet, RuleSetError, field_types
from parkcredit.rules.expr import Compiled, Context, ExprError, compile_expr

__all__ = ["Criterion", "Policy", "PolicySpec", "evaluate", "load_policies", "parse_policy"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CriterionSpec(_Strict):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64)
    require: str = Field(min_length=1, max_length=2000)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class PolicySpec(_Strict):
    """One policy: what it offers, who issues it, and the criteria an enterprise must meet."""

    format: str = Field("parkcredit/policy@1", pattern=r"^parkcredit/policy@1$")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64, description="stable id, e.g. srdi_support")
    kind: str = Field(pattern=r"^(support|reward|prequalification)$")
    name_zh: str
    name_en: str
    issuer_zh: str
    issuer_en: str
    offer_zh: str
    offer_en: str
    basis: str | None = None
    products: list[str] = Field(default_factory=list, description="loan products the policy points to")
    prequalify: str | None = Field(None, description="a product whose preconditions and knock-outs must pass")
    criteria: list[CriterionSpec] = Field(min_length=1)


@dataclass(frozen=True)
class Criterion:
    spec: CriterionSpec
    compiled: Compiled


@dataclass(frozen=True)
class Policy:
    spec: PolicySpec
    source: str
    criteria: list[Criterion]

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def fields_read(self) -> frozenset[str]:
        names: set[str] = set()
        for c in self.criteria:
            names |= c.compiled.names
        return frozenset(names)


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Check and compile one policy file's text; errors name the file, line and criterion."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RuleSetError(source, mark.line + 1 if mark else None, None, f"not valid YAML: {exc}") from None
    try:
        spec = PolicySpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RuleSetError(source, None, None, f"{where}: {first['msg']}") from None
    types = field_types()
    criteria = []
    for c in spec.criteria:
        try:
            compiled = compile_expr(c.require, types)
        except ExprError as exc:
            raise RuleSetError(source, _line_of(text, c.id), c.id, str(exc)) from None
        if compiled.type.kind != "bool":
            raise RuleSetError(source, _line_of(text, c.id), c.id, f"expected a condition, got {compiled.type.kind}")
        criteria.append(Criterion(c, compiled))
    return Policy(spec, source, criteria)


def _line_of(text: str, rule_id: str) -> int | None:
    for i, line in enumerate(text.splitlines(), start=1):
        if f"id: {rule_id}" in line:
            return i
    return None


def load_policies(folder: Path | None = None) -> list[Policy]:
    """The policy files of `folder` (default: the bundled `scoring_rules/policies/`), sorted by id."""
    if folder is None:
        root = resources.files("parkcredit") / "bundled" / "scoring_rules" / "policies"
        files = sorted((p.name, p.read_text(encoding="utf-8")) for p in root.iterdir() if p.name.endswith(".yaml"))
        sources = [(f"scoring_rules/policies/{n}", t) for n, t in files]
    else:
        sources = [(str(p), p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))]
    policies = [parse_policy(text, source=src) for src, text in sources]
    ids = [p.id for p in policies]
    if len(set(ids)) != len(ids):
        raise RuleSetError(str(folder or "scoring_rules/policies"), None, None, "policy ids must be unique")
    return sorted(policies, key=lambda p: p.id)


def evaluate(
    profiles: pd.DataFrame, policies: list[Policy], rulesets: dict[str, RuleSet] | None = None
) -> list[list[dict[str, Any]]]:
    """Per row of `profiles`, per policy: ``{"policy", "matched", "criteria": [{"id", "met", "zh", "en"}]}``.

    Vectorised per criterion; a `prequalify` product missing from `rulesets` counts as not met."""
    from parkcredit.decision import decide

    frame = derive(profiles) if not set(DERIVED) <= set(profiles.columns) else profiles
    frame = frame.reset_index(drop=True)
    n = len(frame)
    ctx = Context(frame, field_types())
    per_policy: list[tuple[Policy, list[tuple[CriterionSpec, np.ndarray]]]] = []
    for p in policies:
        met = [(c.spec, np.asarray(c.compiled(ctx), dtype=bool)) for c in p.criteria]
        if p.spec.prequalify:
            rs = (rulesets or {}).get(p.spec.prequalify)
            ok = np.zeros(n, dtype=bool)
            if rs is not None and n:
                d = decide(frame, rs)
                gated = [j for j, g in enumerate(d.gates) if g.kind in ("precondition", "knockout")]
                ok = np.asarray(~d.gate_hits[:, gated].any(axis=1), dtype=bool)
            name = p.spec.prequalify.upper()
            pre = CriterionSpec(
                id=f"PREQUALIFY_{name}", require="true", zh="满足该产品的准入条件且无一票否决项",
                en="meets the product's preconditions, no knock-out",
            )  # fmt: skip
            met.append((pre, ok))
        per_policy.append((p, met))
    out: list[list[dict[str, Any]]] = []
    for i in range(n):
        row = []
        for p, met in per_policy:
            criteria = [{"id": c.id, "met": bool(m[i]), "zh": c.zh, "en": c.en} for c, m in met]
            row.append({"policy": p.id, "matched": all(c["met"] for c in criteria), "criteria": criteria})
        out.append(row)
    return out
