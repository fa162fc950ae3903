"""Background jobs: the row is the only state, so any worker can answer a poll."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import Job, utcnow

__all__ = ["add", "get", "update"]


def add(session: Session, *, kind: str, params: dict[str, Any], actor: str) -> Job:
    """A queued job row."""
    job = Job(id=str(uuid.uuid4()), kind=kind, status="queued", params=params, created_by=actor)
    session.add(job)
    audit.append(session, actor, "job.create", "job", job.id, {"kind": kind, "params": params})
    return job


def get(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


def update(session: Session, job_id: str, **fields: Any) -> Job:
    """Set fields of a job (and its updated_at)."""
    job = session.get(Job, job_id)
    assert job is not None, job_id
    for k, v in fields.items():
        setattr(job, k, v)
    job.updated_at = utcnow()
    return job
