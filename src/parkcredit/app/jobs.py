"""The job runner of one process: runs background jobs in threads, keeps their leases, ends them on shutdown.

- **Lease**: a job taken by this process carries its `worker_id` and a lease of
  `Settings.job_lease_seconds`, renewed by the keeper thread every third of that. A process
  that dies (kill -9, power cut) stops renewing; once the lease has run out, any process's keeper
  (and every process at start) marks the job `failed`, saying how far it got. The job is not
  resumed: the decisions it stored (whole chunks, each in one transaction with its progress) stay
  valid, and a new batch decides the park again. No decision is stored twice for one job: each
  chunk is stored in a transaction that first checks this process still holds the job (`jobs.hold`).
- **Shutdown** (SIGTERM → the app's lifespan → `AppContext.close` → `shutdown`): running jobs are
  asked to stop after their current chunk and waited for up to `Settings.shutdown_grace_seconds`;
  a job interrupted so is marked `failed` ("interrupted by shutdown"), and the process stops.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from parkcredit.store import jobs

if TYPE_CHECKING:
    from parkcredit.app.context import AppContext

__all__ = ["DEAD_WORKER", "SHUTDOWN", "Interrupted", "JobRunner", "recover"]

log = logging.getLogger("parkcredit.jobs")

DEAD_WORKER = ("the worker running this job stopped (crash or kill) after {done} of {total}; the decisions it "
               "stored are kept; POST /v1/jobs/{id}/resume decides the rest")  # fmt: skip
SHUTDOWN = ("interrupted by a server shutdown after {done} of {total}; the decisions it stored are kept; "
            "POST /v1/jobs/{id}/resume decides the rest")  # fmt: skip


class Interrupted(Exception):
    """The runner is shutting down: the job stops after its current chunk."""


def recover(ctx: AppContext, *, worker: str | None = None, error: str = DEAD_WORKER) -> list[str]:
    """Mark failed the jobs whose worker died (lease run out, or queued and never taken); the ids."""
    lease = dt.timedelta(seconds=ctx.settings.job_lease_seconds)
    try:
        with ctx.write() as session:
            ids = jobs.fail_expired(session, queued_for=lease, error=error, worker=worker)
    except Exception as exc:  # an unmigrated or unreachable database: nothing to recover now, /readyz says why
        log.warning("jobs not recovered: %s", str(exc).splitlines()[0][:200])
        return []
    for job_id in ids:
        log.warning("job %s marked failed: %s", job_id, "shutdown" if worker else "its worker died")
    return ids


class JobRunner:
    """Threads of the jobs this process runs, the keeper that renews their leases, and the shutdown."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.worker_id = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._keeper: threading.Thread | None = None

    @property
    def lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.ctx.settings.job_lease_seconds)

    def start(self) -> None:
        """Recover jobs of dead workers now, then keep leases and keep recovering in the background."""
        recover(self.ctx)
        self._ensure_keeper()

    def _ensure_keeper(self) -> None:
        with self._lock:
            if self._keeper is None:
                self._keeper = threading.Thread(target=self._keep, name="parkcredit-job-keeper", daemon=True)
                self._keeper.start()

    def submit(self, job_id: str, run: Callable[[AppContext, str], None]) -> None:
        """Run `run(ctx, job_id)` in a thread of this process (refused while shutting down: the job stays
        queued and is failed as never taken)."""
        if self.stopping.is_set():
            return
        self._ensure_keeper()
        thread = threading.Thread(target=self._run, args=(job_id, run), name=f"job-{job_id[:8]}", daemon=True)
        with self._lock:
            self._threads[job_id] = thread
        thread.start()

    def _run(self, job_id: str, run: Callable[[AppContext, str], None]) -> None:
        try:
            run(self.ctx, job_id)
        except Exception:  # run_batch records its own failures; this is the last resort
            log.exception("job %s crashed", job_id)
        finally:
            with self._lock:
                self._threads.pop(job_id, None)

    def running(self) -> list[str]:
        with self._lock:
            return list(self._threads)

    def check(self) -> None:
        """Raise `Interrupted` if the process is shutting down (called by a job between chunks)."""
        if self.stopping.is_set():
            raise Interrupted()

    def _keep(self) -> None:
        interval = max(self.ctx.settings.job_lease_seconds / 3, 0.05)
        while not self.stopping.wait(interval):
            try:
                with self.ctx.write() as session:
                    jobs.renew(session, self.running(), worker=self.worker_id, lease=self.lease)
            except Exception as exc:  # the database away for a moment: the lease is longer than one miss
                log.warning("job leases not renewed: %s", str(exc).splitlines()[0][:200])
            recover(self.ctx)

    def shutdown(self, grace_seconds: float | None = None) -> None:
        """Stop taking jobs, let running ones end their chunk for up to `grace_seconds`, fail the rest."""
        grace = self.ctx.settings.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        self.stopping.set()
        deadline = time.monotonic() + grace
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if threads:  # those still running past the grace period: failed, and they store nothing more
            recover(self.ctx, worker=self.worker_id, error=SHUTDOWN)
        if self._keeper is not None:
            self._keeper.join(timeout=1)
