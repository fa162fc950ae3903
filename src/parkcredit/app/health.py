"""Readiness: database reachable and migrated, rule sets loaded, model status."""

from __future__ import annotations

from parkcredit.app import schemas as s
from parkcredit.app.context import AppContext
from parkcredit.store import audit

__all__ = ["readiness"]


def readiness(ctx: AppContext) -> s.Ready:
    try:
        with ctx.read() as session:
            audit.ping(session)
        database = "ok"
    except Exception as exc:  # readiness reports, it does not crash
        database = f"error: {type(exc).__name__}"
    ok = database == "ok" and bool(ctx.latest)
    return s.Ready(
        status="ready" if ok else "not_ready", database=database,
        rulesets={k: v.version for k, v in ctx.latest.items()}, model=ctx.model_status, rule_errors=ctx.rule_errors,
    )  # fmt: skip
