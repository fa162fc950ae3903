"""Background jobs: the row is the only state, so any worker can answer a poll.

A worker running a job holds its lease (`worker_id`, `lease_until`) and renews it while it runs
(`renew`); every write of the job's results checks, in the same transaction, that the worker still
holds it (`hold`), so a job another process declared dead (`fail_expired`) never stores anything more.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import Job, utcnow

__all__ = ["LIVE", "add", "claim", "fail_expired", "get", "hold", "release", "renew", "requeue", "update"]

LIVE = ("queued", "running")


def _changed(result: Any) -> int:
    """Rows an UPDATE changed."""
    return int(result.rowcount)


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


def claim(session: Session, job_id: str, *, worker: str, lease: dt.timedelta) -> Job | None:
    """Take a queued job for `worker` (status running, lease `lease` from now); None if it is not queued
    (another worker took it, or it ended)."""
    now = utcnow()
    taken = _changed(session.execute(
        sql_update(Job).where(Job.id == job_id, Job.status == "queued")
        .values(status="running", worker_id=worker, heartbeat_at=now, lease_until=now + lease, updated_at=now)
    ))  # fmt: skip
    return session.get(Job, job_id) if taken else None


def hold(session: Session, job_id: str, *, worker: str) -> Job | None:
    """The job, locked for this transaction, if `worker` still runs it; None if it was failed or taken meanwhile."""
    query = select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    job = session.scalars(query).first()
    if job is None or job.status != "running" or job.worker_id != worker:
        return None
    return job


def renew(session: Session, job_ids: list[str], *, worker: str, lease: dt.timedelta) -> int:
    """Extend the leases `worker` holds on `job_ids`; the number still held."""
    if not job_ids:
        return 0
    now = utcnow()
    return _changed(session.execute(
        sql_update(Job).where(Job.id.in_(job_ids), Job.worker_id == worker, Job.status == "running")
        .values(heartbeat_at=now, lease_until=now + lease)
    ))  # fmt: skip


def release(session: Session, job_id: str, *, worker: str, status: str, **fields: Any) -> bool:
    """End a job `worker` holds with `status` (done / failed) and `fields`; False if it no longer held it."""
    now = utcnow()
    return bool(_changed(session.execute(
        sql_update(Job).where(Job.id == job_id, Job.worker_id == worker, Job.status == "running")
        .values(status=status, lease_until=None, updated_at=now, **fields)
    )))  # fmt: skip


def fail_expired(session: Session, *, queued_for: dt.timedelta, error: str, worker: str | None = None) -> list[str]:
    """Mark failed every running job whose lease ran out (its worker died) and every job queued longer than
    `queued_for` that no worker took; with `worker`, also every live job of that worker (it is shutting down).
    Returns their ids."""
    now = utcnow()
    dead = or_(
        (Job.status == "running") & (Job.lease_until < now),
        # left running by a version without leases (before migration 0004) and untouched for as long
        (Job.status == "running") & Job.lease_until.is_(None) & (Job.updated_at < now - queued_for),
        (Job.status == "queued") & (Job.created_at < now - queued_for),
    )
    if worker is not None:
        dead = or_(dead, (Job.status.in_(LIVE)) & (Job.worker_id == worker))
    ids = list(session.scalars(select(Job.id).where(dead).with_for_update()))
    for job_id in ids:
        job = session.get(Job, job_id)
        assert job is not None
        why = error.format(done=job.done, total=job.total, worker=job.worker_id or "none", id=job.id)
        job.status, job.error, job.lease_until, job.updated_at = "failed", why, None, now
    return ids


def requeue(session: Session, job_id: str, *, actor: str) -> Job | None:
    """Queue a failed job again, keeping its progress (issue 18: a batch resumes after its last stored chunk);
    None if it is not failed."""
    now = utcnow()
    # queued now (created_at too): the keeper fails a job queued longer than a lease and never taken
    taken = _changed(session.execute(
        sql_update(Job).where(Job.id == job_id, Job.status == "failed")
        .values(status="queued", error=None, worker_id=None, lease_until=None, created_at=now, updated_at=now)
    ))  # fmt: skip
    if not taken:
        return None
    job = session.get(Job, job_id)
    assert job is not None
    session.refresh(job)
    audit.append(session, actor, "job.resume", "job", job_id, {"done": job.done, "total": job.total})
    return job
