"""The bundled rule sets of the configured folder (settings.rules_dir), through the one `RuleSource`."""

from __future__ import annotations

from pathlib import Path

from parkcredit.rules.compile import RuleSet
from parkcredit.rules.source import RuleSource
from parkcredit.settings import get_settings

__all__ = ["load_product", "product_codes"]


def _source(rules_dir: Path | None) -> RuleSource:
    return RuleSource(rules_dir or get_settings().rules_dir)


def product_codes(rules_dir: Path | None = None) -> list[str]:
    """Product codes of the rule files in `rules_dir` (default: settings.rules_dir)."""
    return _source(rules_dir).product_codes()


def load_product(code: str, rules_dir: Path | None = None) -> RuleSet:
    """The bundled rule set of product `code`; `InvalidInput` (a ValueError) for an unknown product."""
    return _source(rules_dir).product(code)
