"""The bundled rule sets by product code: `scoring_rules/<code>.yaml`."""

from __future__ import annotations

from pathlib import Path

from parkcredit.rules.compile import RuleSet, load_ruleset
from parkcredit.settings import get_settings

__all__ = ["load_product", "product_codes"]


def product_codes(rules_dir: Path | None = None) -> list[str]:
    """Product codes of the rule files in `rules_dir` (default: settings.rules_dir)."""
    folder = rules_dir or get_settings().rules_dir
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_product(code: str, rules_dir: Path | None = None) -> RuleSet:
    """Load the bundled rule set of product `code`; ValueError for an unknown product."""
    folder = rules_dir or get_settings().rules_dir
    path = folder / f"{code}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown product {code!r}; known: {', '.join(product_codes(folder))}")
    return load_ruleset(path)
