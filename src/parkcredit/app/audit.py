"""The audit chain as auditors read it: entries in order, and the whole chain verified."""

from __future__ import annotations

from parkcredit.app import schemas as s
from parkcredit.app import views
from parkcredit.app.context import AppContext
from parkcredit.store import audit
from parkcredit.store.tables import AuditEntry

__all__ = ["log_page", "recent", "verify"]


def verify(ctx: AppContext) -> s.VerifyOut:
    """Check the whole hash chain; name the first edited, deleted or re-ordered entry."""
    with ctx.read() as session:
        r = audit.verify(session)
    return s.VerifyOut(ok=r.ok, entries=r.entries, first_bad_seq=r.first_bad_seq, reason=r.reason,
                       head_hash=r.head_hash)  # fmt: skip


def log_page(ctx: AppContext, *, after_seq: int = 0, limit: int = 100) -> s.AuditPage:
    """Audit-log entries in chain order, paged by `after_seq`."""
    with ctx.read() as session:
        rows = audit.entries(session, after_seq=after_seq, limit=limit)
        return s.AuditPage(items=[views.audit_entry(r) for r in rows],
                           next_after_seq=rows[-1].seq if len(rows) == limit else None)  # fmt: skip


def recent(ctx: AppContext, *, limit: int = 30) -> list[AuditEntry]:
    with ctx.read() as session:
        rows = audit.newest(session, limit=limit)
        session.expunge_all()
        return rows
