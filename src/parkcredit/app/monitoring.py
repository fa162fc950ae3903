"""Monitoring: population stability (PSI) between two windows of snapshots, approval over time, and
realised performance on the banks' outcomes. The windows are computed here, for every surface."""

from __future__ import annotations

import datetime as dt
from typing import Any

from parkcredit.app.context import AppContext
from parkcredit.app.rulesets import in_force
from parkcredit.errors import InvalidInput
from parkcredit.governance.monitoring import approval_over_time, monitoring_report
from parkcredit.governance.performance import performance_report
from parkcredit.store import disputes as store_disputes
from parkcredit.store import frames
from parkcredit.store.tables import utcnow

__all__ = ["monitoring", "performance"]


def monitoring(
    ctx: AppContext,
    product: str,
    *,
    park_id: str | None = None,
    ref_from: dt.date | None = None,
    ref_to: dt.date | None = None,
    cur_from: dt.date | None = None,
    cur_to: dt.date | None = None,
) -> dict[str, Any]:
    """The whole monitoring report, JSON-able.

    Windows not given: current = the 90 days up to the newest snapshot as_of, reference = the 365
    days before it. Decided with the version of `product` in force at the current window's end.
    InvalidInput for a window that ends before it starts, or an unknown product.
    """
    ctx.product(product)
    with ctx.read() as session:
        try:
            rf, rt, cf, ct = frames.default_windows(session, park_id, ref_from, ref_to, cur_from, cur_to)
        except ValueError as exc:
            raise InvalidInput(("query", str(exc).split(":")[0]), str(exc)) from None
        ruleset = in_force(ctx, session, product, ct)
        report = monitoring_report(
            frames.snapshot_window(session, rf, rt, park_id), frames.snapshot_window(session, cf, ct, park_id),
            ruleset, model=ctx.model,
        )  # fmt: skip
        approval = approval_over_time(frames.decisions_frame(session, product))
        overdue = store_disputes.count_overdue(session, now=utcnow())  # issue 15: 条例 art. 25's 20 days
    return {
        "product": product,
        "park_id": park_id,
        "reference": {"from": rf.isoformat(), "to": rt.isoformat()},
        "current": {"from": cf.isoformat(), "to": ct.isoformat()},
        **report,
        "approval_over_time": approval,
        "overdue_disputes": overdue,
    }


def performance(ctx: AppContext, *, product: str | None = None, freq: str = "quarter") -> dict[str, Any]:
    """Realised default rates by band and product over time; AUC/KS of rules, model and blend."""
    bands = [b.id for b in ctx.product(product).spec.bands] if product is not None else None
    with ctx.read() as session:
        loans = frames.linked_loans(session, product)
    return {"product": product, **performance_report(loans, freq=freq, bands=bands)}
