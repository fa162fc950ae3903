"""The monitoring page's data: population stability (PSI) comes from the governance package (issue 7).

Until that package provides a monitoring function, the page says so plainly instead of showing
made-up figures; `monitoring_view` returns {"available": False, "why": ...} then.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["monitoring_view"]


def monitoring_view(session: Session, services: Any) -> dict[str, Any]:
    """{"available": bool, "why": str | None, "report": Any}."""
    try:
        mod = importlib.import_module("parkcredit.governance.monitoring")
    except ImportError as exc:
        return {"available": False, "why": f"parkcredit.governance.monitoring is not installed ({exc})", "report": None}
    fn = getattr(mod, "monitoring_report", None)
    if fn is None:
        return {
            "available": False,
            "why": "parkcredit.governance.monitoring has no monitoring_report()",
            "report": None,
        }
    try:
        return {"available": True, "why": None, "report": fn(session)}
    except Exception as exc:  # the page reports the failure, the site stays up
        return {"available": False, "why": f"{type(exc).__name__}: {exc}", "report": None}
