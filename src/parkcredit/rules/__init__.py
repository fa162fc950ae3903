"""Rule sets: the YAML format, the expression language, the compiler."""

from parkcredit.rules.compile import RuleSet, RuleSetError, load_ruleset, parse_ruleset
from parkcredit.rules.expr import ExprError

__all__ = ["ExprError", "RuleSet", "RuleSetError", "load_ruleset", "parse_ruleset"]
