"""Background batch scoring: the job row is the only state, so any worker can answer a poll.

A job runs in the process that accepted it (FastAPI background task, after the response). It
scores chunks of latest snapshots, one transaction per chunk, and stores progress after each.
If that process dies, the job stays `running` with its progress; re-submit to finish (the
decisions already stored remain valid).
"""

from __future__ import annotations

from typing import Any

from parkcredit.service.scoring import compute_in_force, store
from parkcredit.store import repo
from parkcredit.store.db import write_session
from parkcredit.store.tables import Job, utcnow

__all__ = ["CHUNK", "run_batch"]

CHUNK = 500


def _update(state: Any, job_id: str, **fields: Any) -> None:
    with write_session(state.sessions) as session:
        job = session.get(Job, job_id)
        assert job is not None
        for k, v in fields.items():
            setattr(job, k, v)
        job.updated_at = utcnow()


def run_batch(state: Any, job_id: str) -> None:
    """Run a `batch_decide` job to the end, storing progress after every chunk."""
    services = state.services
    with state.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        params, actor = dict(job.params), job.created_by
        total = repo.count_latest_snapshots(session, params.get("park_id"))
    try:
        services.ruleset(params["product"])
        _update(state, job_id, status="running", total=total)
        after, done, eligible, limit_sum = 0, 0, 0, 0
        while True:
            with state.sessions() as session:  # read and decide outside the write lock
                snaps = repo.latest_snapshots(session, params.get("park_id"), after, CHUNK)
                if not snaps:
                    break
                # each snapshot is decided by the version in force at its as_of
                groups = compute_in_force(session, snaps, params["product"], services)
            with write_session(state.sessions) as session:
                stored = [d for ruleset, records in groups for d in store(session, records, ruleset, actor)]
                job = session.get(Job, job_id)
                assert job is not None
                done += len(stored)
                eligible += sum(1 for d in stored if d.eligible)
                limit_sum += sum(d.limit_yuan for d in stored)
                job.done, job.updated_at = done, utcnow()
                after = snaps[-1].id
        result = {"decided": done, "eligible": eligible, "total_limit_yuan": limit_sum}
        _update(state, job_id, status="done", done=done, result=result)
    except Exception as exc:  # a failed job must say why, not vanish with the thread
        _update(state, job_id, status="failed", error=f"{type(exc).__name__}: {exc}")
