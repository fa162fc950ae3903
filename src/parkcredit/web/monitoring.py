"""The monitoring page's data: PSI and approval rates from the governance package (issue 7).

Windows as the governance API defaults them (`GET /v1/monitoring/psi`): current = the 90 days up
to the newest snapshot as_of, reference = the 365 days before. If the governance package is not
there, or fails, the page says so plainly instead of showing made-up figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parkcredit.store.tables import Snapshot

__all__ = ["monitoring_view"]


def monitoring_view(session: Session, services: Any, product: str) -> dict[str, Any]:
    """{"available": bool, "why": str | None, "report": dict | None, "windows": dict, "approval": list}."""
    try:
        from parkcredit.governance import store_io
        from parkcredit.governance.monitoring import approval_over_time, monitoring_report
    except ImportError as exc:
        return {"available": False, "why": f"parkcredit.governance is not available ({exc})", "report": None}
    try:
        newest = session.scalar(select(func.max(Snapshot.as_of))) or dt.date.today()
        cur_to, cur_from = newest, newest - dt.timedelta(days=89)
        ref_to = cur_from - dt.timedelta(days=1)
        ref_from = ref_to - dt.timedelta(days=364)
        ruleset = services.rulesets[product]
        ref = store_io.snapshot_window(session, ref_from, ref_to)
        cur = store_io.snapshot_window(session, cur_from, cur_to)
        report = monitoring_report(ref, cur, ruleset, model=services.model)
        approval = approval_over_time(store_io.decisions_frame(session, product))
    except Exception as exc:  # the page reports the failure, the site stays up
        return {"available": False, "why": f"{type(exc).__name__}: {exc}", "report": None}
    rows = [("score", x) for x in report["scores"]] + [("characteristic", x) for x in report["characteristics"]]
    rows += [("input", x) for x in report["inputs"]]
    rows.sort(key=lambda kx: -(kx[1]["psi"] or 0.0))
    return {
        "available": True, "why": None, "report": report, "rows": rows, "approval": approval,
        "windows": {"reference": (ref_from, ref_to), "current": (cur_from, cur_to)},
    }  # fmt: skip
