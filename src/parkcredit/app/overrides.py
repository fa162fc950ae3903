"""Committee overrides of a decision (eligibility or limit, with a reason code); the decision is never changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from parkcredit.app import governance_schemas as g
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.errors import InvalidInput, NotFound
from parkcredit.governance.overrides import DIRECTIONS, REASON_CODES, overrides_report
from parkcredit.store import decisions, frames, overrides, rulesets
from parkcredit.store.tables import Override

__all__ = ["OVERRIDE_COLUMNS", "create_override", "list_overrides", "officer_counts", "override_out", "overrides_of",
           "report"]  # fmt: skip

OVERRIDE_COLUMNS = [c.key for c in Override.__table__.columns]


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def override_out(row: Override) -> g.OverrideOut:
    dz, de = DIRECTIONS.get(row.direction, (row.direction, row.direction))
    rz, re_ = REASON_CODES.get(row.reason_code, (row.reason_code, row.reason_code))
    return g.OverrideOut(
        override_id=row.id, decision_id=row.decision_id, uscc=row.uscc, product=row.product,
        original_eligible=row.original_eligible, original_limit_yuan=row.original_limit_yuan, eligible=row.eligible,
        limit_yuan=row.limit_yuan, direction=row.direction, direction_zh=dz, direction_en=de,
        reason_code=row.reason_code, reason_code_zh=rz, reason_code_en=re_, reason=row.reason,
        created_by=row.created_by, created_at=_utc(row.created_at),
    )  # fmt: skip


def create_override(
    ctx: AppContext, actor: Actor, decision_id: str, body: g.OverrideIn, *, idem: Idem | None = None
) -> g.OverrideOut | Replayed:
    """Override a decision (eligibility or limit) with a reason code and text; the decision itself is unchanged."""
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, {"decision_id": decision_id, **body.model_dump()})) is not None:
            return hit
        d = decisions.get(session, decision_id)
        if d is None:
            raise NotFound(f"no decision {decision_id}")
        rs_row = rulesets.get(session, d.ruleset_id) if d.ruleset_id else None
        cap = ctx.compiled(rs_row).cap_yuan if rs_row is not None else None
        if cap is not None and body.limit_yuan > cap:
            raise InvalidInput(("body", "limit_yuan"), f"above the product's cap of {cap:,} yuan")
        row = overrides.add(session, d, eligible=body.eligible, limit_yuan=body.limit_yuan,
                            reason_code=body.reason_code, reason=body.reason, actor=actor.key_id)  # fmt: skip
        out = override_out(row)
        remember(session, actor, idem, 201, out)
        return out


def overrides_of(ctx: AppContext, decision_id: str) -> list[g.OverrideOut]:
    """The overrides recorded beside one decision, oldest first (the last one is in force)."""
    with ctx.read() as session:
        if decisions.get(session, decision_id) is None:
            raise NotFound(f"no decision {decision_id}")
        return [override_out(r) for r in overrides.page(session, decision_id=decision_id)]


def list_overrides(ctx: AppContext, *, after_id: int = 0, limit: int = 100) -> g.OverridePage:
    """Every override, paged by `after_id`."""
    with ctx.read() as session:
        rows = overrides.page(session, after_id=after_id, limit=limit)
        return g.OverridePage(items=[override_out(r) for r in rows],
                              next_after_id=rows[-1].id if len(rows) == limit else None)  # fmt: skip


def report(ctx: AppContext) -> dict[str, Any]:
    """Overrides counted by officer, direction (eligible ↔ not, limit up/down), reason and product."""
    with ctx.read() as session:
        return overrides_report(frames.overrides_frame(session), decisions.count(session))


def officer_counts(ctx: AppContext) -> tuple[list[Override], list[tuple[tuple[str, str], int]]]:
    """The newest overrides and their counts by (officer, direction), for the auditor's page."""
    with ctx.read() as session:
        rows = overrides.newest(session, limit=500)
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        k = (r.created_by, str(r.direction or ("→ " + ("eligible" if r.eligible else "not eligible"))))
        counts[k] = counts.get(k, 0) + 1
    return rows, sorted(counts.items())
