"""The batch decision path in bulk (issue 18): one chunk of snapshots is read in one query, decided as one
frame, its records built column by column (`records.canonical_records`, the same bytes as the per-row
path) and stored in one insert with ONE audit entry (`store.bulk.add_decisions`).

`run_batch` (app/decisions.py) loops over chunks: `read_chunk` and the decision (`batch_decide`: in the
job's thread, or in a process of its own for a large job) outside the write lock, `store_chunk` inside
the chunk's write transaction, together with the job's progress and its
cursor (`progress`), so a job that stopped can be resumed after its last stored chunk and no
decision is stored twice.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
from collections.abc import Callable, Container
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from parkcredit.app import alerts
from parkcredit.app.batch_decide import DecideProcess, Task, decide_group
from parkcredit.app.context import AppContext
from parkcredit.app.rulesets import in_force
from parkcredit.errors import InvalidInput
from parkcredit.rules import RuleSet
from parkcredit.store import bulk, jobs
from parkcredit.store import rulesets as store_rulesets
from parkcredit.store.tables import Decision

__all__ = ["DecidedGroup", "Progress", "decide_chunk", "plan_chunk", "read_chunk", "run_chunks", "store_chunk"]


@dataclass
class DecidedGroup:
    """The decisions of a chunk made by one rule-set version, ready to store."""

    ruleset: RuleSet
    rows: bulk.DecisionRows
    model_version: str | None
    model_status: str


@dataclass
class Progress:
    """A batch job's progress and cursor, stored in the job row with every chunk."""

    after_id: int = 0
    decided: int = 0
    eligible: int = 0
    total_limit_yuan: int = 0
    chunks: int = 0
    entries: list[int] = field(default_factory=list)  # audit seq of each chunk's entry

    def as_json(self) -> dict[str, Any]:
        return {"after_id": self.after_id, "decided": self.decided, "eligible": self.eligible,
                "total_limit_yuan": self.total_limit_yuan, "chunks": self.chunks}  # fmt: skip

    @classmethod
    def of(cls, result: dict[str, Any] | None) -> Progress:
        r = (result or {}).get("progress") or {}
        return cls(int(r.get("after_id", 0)), int(r.get("decided", 0)), int(r.get("eligible", 0)),
                   int(r.get("total_limit_yuan", 0)), int(r.get("chunks", 0)))  # fmt: skip


def read_chunk(session: Session, *, park_id: str | None, after_id: int, limit: int) -> bulk.StoredPage | None:
    """The next `limit` newest snapshots after `after_id`, profiles as stored (None when there are no more)."""
    page = bulk.latest_stored(session, park_id=park_id, after_id=after_id, limit=limit)
    return page if len(page) else None


def plan_chunk(
    ctx: AppContext, session: Session, page: bulk.StoredPage, product: str
) -> list[tuple[RuleSet, bulk.StoredPage]]:
    """The snapshots of `page` grouped by the version of `product` in force at their as_of (one query per
    distinct as_of, not per snapshot; reads only: run it outside the write lock)."""
    by_as_of: dict[dt.date, RuleSet] = {}
    groups: dict[str, tuple[RuleSet, list[int]]] = {}
    for k, as_of in enumerate(page.as_of):
        if as_of not in by_as_of:
            by_as_of[as_of] = in_force(ctx, session, product, as_of)
        rs = by_as_of[as_of]
        groups.setdefault(rs.content_hash, (rs, []))[1].append(k)
    return [(rs, page.take(ks)) for rs, ks in groups.values()]


def decide_chunk(ctx: AppContext, session: Session, page: bulk.StoredPage, product: str) -> list[DecidedGroup]:
    """Decide every snapshot of `page` in this thread, one vectorised batch per version in force."""
    return [DecidedGroup(rs, *decide_group(ctx.model, ctx.model_status, rs, part))
            for rs, part in plan_chunk(ctx, session, page, product)]  # fmt: skip


def store_chunk(
    session: Session, groups: list[DecidedGroup], *, actor: str, job_id: str, progress: Progress
) -> list[Decision]:
    """Store the decided groups of one chunk (inside its write transaction): one insert and one audit
    entry per rule-set version. Updates `progress`; returns, as (unsaved) `Decision` objects, the stored
    decisions of the enterprises a bank follows (what `alerts.on_new_decisions` reads next)."""
    out: list[Decision] = []
    for g in groups:
        rs = g.ruleset
        rs_row = store_rulesets.stored_for_use(
            session, product=rs.product, version=rs.version, content_hash=rs.content_hash, text=rs.text,
            effective_from=rs.spec.effective_from,
        )  # fmt: skip
        stored = bulk.add_decisions(
            session, g.rows, product=rs.product, ruleset=rs_row, model_version=g.model_version,
            model_status=g.model_status, actor=actor, object_type="job", object_id=job_id,
            payload={"job_id": job_id, "chunk": progress.chunks + 1, "count": len(g.rows)},
        )  # fmt: skip
        progress.entries.append(stored.entry_seq)
        progress.decided += len(g.rows)
        progress.eligible += int(g.rows.eligible.sum())
        progress.total_limit_yuan += int(g.rows.limit_yuan.sum())
        # alerts read the new decisions of the enterprises some bank follows: only those become objects
        concerned = alerts.concerned_banks(session, g.rows.uscc, rs.product)
        if concerned:
            out += _views(g, rs_row.id, stored.record_sha256, actor, concerned)
    progress.chunks += 1
    return out


def _views(g: DecidedGroup, ruleset_id: int, shas: list[str], actor: str, usccs: Container[str]) -> list[Decision]:
    r, rs = g.rows, g.ruleset
    return [
        Decision(id=r.ids[i], uscc=r.uscc[i], product=rs.product, snapshot_id=r.snapshot_ids[i], ruleset_id=ruleset_id,
                 ruleset_version=rs.version, ruleset_hash=rs.content_hash, model_version=g.model_version,
                 model_status=g.model_status, eligible=bool(r.eligible[i]), limit_yuan=int(r.limit_yuan[i]),
                 band=r.band[i], total_score=float(r.total_score[i]), valid_until=r.valid_until[i],
                 record=r.records[i].decode("utf-8"), record_sha256=shas[i], created_by=actor)
        for i in range(len(r)) if r.uscc[i] in usccs
    ]  # fmt: skip


def run_chunks(
    ctx: AppContext, *, job_id: str, worker: str, actor: str, params: dict[str, Any], progress: Progress,
    chunk: int, check: Callable[[], None], process: DecideProcess | None = None,
) -> bool:  # fmt: skip
    """Decide and store every chunk after `progress.after_id`; False if the job was lost meanwhile (its
    lease ran out, or it was interrupted): nothing more is stored then.

    The stages overlap, each chunk stored in its own transaction together with the job's progress, in order:
    - deciding in this thread (no `process`, or until it has started), a writer thread stores one chunk
      while this thread reads and decides the next;
    - with `process` (`batch_decide`), it decides one chunk while this thread stores the one before (and one
      more waits there, queued): this process's Python is then one thread, with no other to share the GIL.
    `check` (a shutdown) stops between chunks, after the chunk being stored is committed."""
    park_id, product = params.get("park_id"), params["product"]

    def store(groups: list[DecidedGroup], last_id: int) -> bool:
        with ctx.write() as session:
            if jobs.hold(session, job_id, worker=worker) is None:
                return False  # declared dead or interrupted meanwhile: its error says so; store nothing more
            stored = store_chunk(session, groups, actor=actor, job_id=job_id, progress=progress)
            for g in groups:  # early warning for the banks (issue 14)
                alerts.on_new_decisions(session, [d for d in stored if d.ruleset_hash == g.ruleset.content_hash],
                                        g.ruleset, actor=actor)  # fmt: skip
            progress.after_id = last_id
            jobs.update(session, job_id, done=progress.decided, result={"progress": progress.as_json()})
        return True

    decided: collections.deque[tuple[_Decisions, int]] = collections.deque()  # in chunk order
    cursor = progress.after_id
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"store-{job_id[:8]}") as writer:
        pending: Future[bool] | None = None

        def hand_over() -> bool:  # the oldest decided chunk stored, after the one being stored
            nonlocal pending
            groups, last_id = decided.popleft()
            ready = groups.result(ctx)
            if pending is not None and not pending.result():
                return False
            if groups.remote:  # decided elsewhere: this thread has nothing else to do meanwhile
                pending = None
                return store(ready, last_id)
            pending = writer.submit(store, ready, last_id)
            return True

        try:
            while True:
                check()
                with ctx.read() as session:  # read and decide outside the write lock
                    page = read_chunk(session, park_id=park_id, after_id=cursor, limit=chunk)
                    if page is None:
                        break
                    plan = plan_chunk(ctx, session, page, product)
                newest = _Decisions.of(ctx, plan, process)
                decided.append((newest, page.ids[-1]))
                cursor = page.ids[-1]
                # with the process, one chunk stays queued there while this thread waits for the one before
                while len(decided) > (1 if newest.remote else 0):
                    if not hand_over():
                        return False
            while decided:
                if not hand_over():
                    return False
            return pending is None or pending.result()
        finally:
            for left, _ in decided:  # a lost or failed job: what the process still decides is not stored
                left.drop()


@dataclass
class _Decisions:
    """A chunk's decided groups: decided here, or still being decided in the process."""

    plan: list[tuple[RuleSet, bulk.StoredPage]]
    here: list[DecidedGroup] | None
    tasks: list[Task | None]  # None: a group the process could not take (decided here)
    process: DecideProcess | None

    @property
    def remote(self) -> bool:
        return self.here is None

    @classmethod
    def of(
        cls, ctx: AppContext, plan: list[tuple[RuleSet, bulk.StoredPage]], process: DecideProcess | None
    ) -> _Decisions:
        if process is None or not process.ready():
            here = [DecidedGroup(rs, *decide_group(ctx.model, ctx.model_status, rs, part)) for rs, part in plan]
            return cls(plan, here, [], None)
        tasks: list[Task | None] = []
        for rs, part in plan:
            try:
                tasks.append(process.submit(rs, part))
            except (BrokenProcessPool, RuntimeError) as exc:  # died (or closed) since `ready`
                process.lost(exc)
                tasks.append(None)
        return cls(plan, None, tasks, process)

    def result(self, ctx: AppContext) -> list[DecidedGroup]:
        if self.here is not None:
            return self.here
        out, invalid = [], None
        for (rs, part), task in zip(self.plan, self.tasks, strict=True):
            got = None
            try:
                got = self.process.received(task) if task is not None and self.process is not None else None
            except InvalidInput as exc:  # the same error deciding here would raise; the other groups read first
                invalid = invalid or exc
                continue
            except (BrokenProcessPool, CancelledError) as exc:  # the process died: decide the group here
                if self.process is not None:
                    self.process.lost(exc)
            if got is None:
                got = decide_group(ctx.model, ctx.model_status, rs, part)
            out.append(DecidedGroup(rs, *got))
        if invalid is not None:
            raise invalid
        return out

    def drop(self) -> None:
        """Let go of results that will not be stored (the job was lost or failed): their shared memory freed."""
        for task in self.tasks:
            if task is not None and self.process is not None:
                with contextlib.suppress(Exception):  # nothing of it is used: only its blocks are handed back
                    self.process.received(task)
