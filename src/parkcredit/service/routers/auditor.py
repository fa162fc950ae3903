"""Auditor (纪检 / audit) routes: replay decisions, read and verify the audit chain. Read-only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from parkcredit.service import schemas as s
from parkcredit.service import views
from parkcredit.service.deps import Auditor, ReadSession, ServicesDep
from parkcredit.service.errors import NotFound
from parkcredit.service.scoring import replay
from parkcredit.store import audit
from parkcredit.store.tables import AuditEntry, Decision

router = APIRouter(prefix="/v1", tags=["auditor"])


@router.post("/decisions/{decision_id}/replay", response_model=s.ReplayOut)
def replay_decision(decision_id: str, session: ReadSession, caller: Auditor, services: ServicesDep) -> Any:
    """Recompute a decision from its stored snapshot, rule-set text and model; compare byte for byte."""
    d = session.get(Decision, decision_id)
    if d is None:
        raise NotFound(f"no decision {decision_id}")
    r = replay(session, d, services.model)
    return s.ReplayOut(
        decision_id=d.id,
        identical=r.identical,
        stored_sha256=r.stored_sha256,
        replayed_sha256=r.replayed_sha256,
        note=r.note,
        replayed=s.DecisionRecord.model_validate(r.replayed),
    )


@router.get("/audit/log", response_model=s.AuditPage)
def read_audit_log(
    session: ReadSession,
    caller: Auditor,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Audit-log entries in chain order, paged by `after_seq`."""
    rows = list(
        session.scalars(select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit))
    )
    return s.AuditPage(
        items=[views.audit_entry(r) for r in rows], next_after_seq=rows[-1].seq if len(rows) == limit else None
    )


@router.get("/audit/verify", response_model=s.VerifyOut)
def verify_audit_chain(session: ReadSession, caller: Auditor) -> Any:
    """Check the whole hash chain; name the first edited, deleted or re-ordered entry."""
    r = audit.verify(session)
    return s.VerifyOut(
        ok=r.ok, entries=r.entries, first_bad_seq=r.first_bad_seq, reason=r.reason, head_hash=r.head_hash
    )
