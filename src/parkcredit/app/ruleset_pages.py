"""What the rule-governance pages show (issue 17): the history as the committee reads it, and one version
with its text, its diff against the version in force and its backtest on the current portfolio."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from parkcredit.app import governance_schemas as g
from parkcredit.app import rulesets
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.errors import Forbidden, InvalidInput, NotFound

__all__ = ["READERS", "TextError", "VersionPage", "text_error", "version_page", "versions"]

READERS = ("committee", "auditor", "approver")
_LINE = re.compile(r":(\d+):\s*(?:rule (\S+):)?\s*(.*)$", re.S)


@dataclass
class TextError:
    """A refused rule file as the page shows it: the line (None when the file as a whole) and the reason."""

    line: int | None
    rule_id: str | None
    reason: str


def text_error(exc: InvalidInput) -> TextError:
    """The line, rule id and reason of a refused rule file (`check_text` names them as `file:line: rule X: why`)."""
    found = _LINE.search(exc.message)
    if found is None:
        return TextError(None, None, exc.message)
    return TextError(int(found.group(1)), found.group(2), found.group(3).strip())


def _may_read(actor: Actor) -> None:
    if actor.role not in READERS:
        raise Forbidden("rule-set versions are for the committee, the approver and the auditor")


def versions(ctx: AppContext, actor: Actor) -> list[g.RuleSetOut]:
    """Every stored version, newest first within each product."""
    _may_read(actor)
    rows = rulesets.list_versions(ctx)
    return sorted(rows, key=lambda r: (r.product, -r.ruleset_id))


@dataclass
class VersionPage:
    """One version with its text, the diff and backtest against the version in force (when there is one)."""

    version: g.RuleSetDetail
    diff: g.DiffOut | None
    backtest: g.BacktestOut | None
    why_no_diff: str | None
    lines: list[str] = field(default_factory=list)


def version_page(ctx: AppContext, actor: Actor, ruleset_id: int, *, with_backtest: bool = True) -> VersionPage:
    """The version, its diff against the latest published version of its product and the backtest of that."""
    _may_read(actor)
    detail = rulesets.read_version(ctx, ruleset_id)
    diff = backtest = None
    why: str | None = None
    try:
        diff = rulesets.diff_versions(ctx, ruleset_id)
        if with_backtest:
            backtest = rulesets.backtest_version(ctx, ruleset_id)
    except NotFound as exc:  # the first version of a product has nothing to compare with
        why = exc.message
    return VersionPage(detail, diff, backtest, why, detail.text.splitlines())


def page_rows(report: g.BacktestOut) -> dict[str, Any]:
    """The backtest's industry rows that moved, largest move first (the page shows at most 30)."""
    moved = [r for r in report.by_industry if r["swap_in"] or r["swap_out"] or
             r["total_limit_before_yuan"] != r["total_limit_after_yuan"]]  # fmt: skip
    moved.sort(key=lambda r: (-(r["swap_in"] + r["swap_out"]), r["industry"]))
    return {"industries": moved[:30], "more": max(0, len(moved) - 30)}
