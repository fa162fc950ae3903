"""The batch decision path in bulk (issue 18): one chunk of snapshots is read in one query, decided as one
frame, its records built column by column (`records.canonical_records`, the same bytes as the per-row
path) and stored in one insert with ONE audit entry (`store.bulk.add_decisions`).

`run_batch` (app/decisions.py) loops over chunks: `read_chunk` and `decide_chunk` outside the write
lock, `store_chunk` inside the chunk's write transaction, together with the job's progress and its
cursor (`progress`), so a job that stopped can be resumed after its last stored chunk and no
decision is stored twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Container
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from parkcredit.app import alerts
from parkcredit.app.context import AppContext
from parkcredit.app.rulesets import in_force
from parkcredit.decision import decide
from parkcredit.errors import InvalidInput
from parkcredit.profile.frame import frame_of_stored
from parkcredit.records import canonical_records, round_exact
from parkcredit.rules import RuleSet
from parkcredit.store import bulk, jobs
from parkcredit.store import rulesets as store_rulesets
from parkcredit.store.tables import Decision

__all__ = ["Chunk", "DecidedGroup", "Progress", "decide_chunk", "read_chunk", "run_chunks", "store_chunk"]


@dataclass
class Chunk:
    """Snapshots of one chunk: ids (ascending) and profiles (JSON form, with personal data)."""

    snapshot_ids: list[int]
    profiles: list[dict[str, Any]]

    @property
    def last_id(self) -> int:
        return self.snapshot_ids[-1]


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


def read_chunk(session: Session, *, park_id: str | None, after_id: int, limit: int) -> Chunk | None:
    """The next `limit` newest snapshots after `after_id` (None when there are no more)."""
    page = bulk.latest_profiles(session, park_id=park_id, after_id=after_id, limit=limit)
    if not page:
        return None
    return Chunk([sid for sid, _ in page], [p for _, p in page])


def decide_chunk(ctx: AppContext, session: Session, chunk: Chunk, product: str) -> list[DecidedGroup]:
    """Decide every snapshot of `chunk` with the version of `product` in force at its as_of (one
    vectorised batch per version), records built in bulk (reads only: run it outside the write lock)."""
    by_as_of: dict[str, RuleSet] = {}
    groups: dict[str, tuple[RuleSet, list[int]]] = {}
    for k, profile in enumerate(chunk.profiles):
        as_of = str(profile.get("as_of"))
        if as_of not in by_as_of:
            by_as_of[as_of] = in_force(ctx, session, product, dt.date.fromisoformat(as_of))
        rs = by_as_of[as_of]
        groups.setdefault(rs.content_hash, (rs, []))[1].append(k)
    return [_decide(ctx, rs, [chunk.profiles[k] for k in ks], [chunk.snapshot_ids[k] for k in ks])
            for rs, ks in groups.values()]  # fmt: skip


def _decide(ctx: AppContext, ruleset: RuleSet, profiles: list[dict[str, Any]], snapshot_ids: list[int]) -> DecidedGroup:
    try:
        frame = frame_of_stored(profiles)
    except (OverflowError, ValueError) as exc:  # snapshots stored before numbers were checked at the edge
        raise InvalidInput(("snapshot",), f"a stored profile cannot be decided: {exc}") from None
    d = decide(frame, ruleset, ctx.model)
    model_info = dict(d.model_info)
    if ctx.model is None and ctx.model_status.get("status") not in (None, "ok"):
        model_info["status"] = str(ctx.model_status["status"])  # why there is no model (DESIGN §6)
    ids = [str(uuid.uuid4()) for _ in snapshot_ids]
    texts = canonical_records(
        d, extra={"decision_id": ids, "snapshot_id": snapshot_ids},
        model_info=model_info if model_info != d.model_info else None,
    )  # fmt: skip
    s = d.summary
    valid_until = [v if isinstance(v, dt.date) else None for v in s["valid_until"].tolist()]
    rows = bulk.DecisionRows(
        ids=ids,
        snapshot_ids=snapshot_ids,
        uscc=[str(u) for u in s["uscc"].tolist()],
        eligible=s["eligible"].to_numpy(dtype=bool),
        limit_yuan=s["limit_yuan"].to_numpy(dtype=np.int64),
        band=[str(b) for b in s["band"].tolist()],
        total_score=round_exact(s["total_score"].to_numpy(dtype="float64"), 4),
        valid_until=valid_until,
        records=texts,
    )
    rows.hashed()  # here, not in the storing thread (see DecisionRows.hashed)
    return DecidedGroup(ruleset, rows, model_info.get("version"), str(model_info.get("status", "none")))


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
    chunk: int, check: Callable[[], None],
) -> bool:  # fmt: skip
    """Decide and store every chunk after `progress.after_id`; False if the job was lost meanwhile (its
    lease ran out, or it was interrupted): nothing more is stored then.

    Two stages overlap: while one chunk is stored (hashing, the insert and the commit release the GIL),
    the next is read and decided. Each chunk is stored in its own transaction together with the job's
    progress, in order, by one writer thread; `check` (a shutdown) stops between chunks, after the chunk
    being stored is committed."""
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

    cursor = progress.after_id
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"store-{job_id[:8]}") as writer:
        pending: Future[bool] | None = None
        while True:
            check()
            with ctx.read() as session:  # read and decide outside the write lock
                page = read_chunk(session, park_id=park_id, after_id=cursor, limit=chunk)
                if page is None:
                    break
                groups = decide_chunk(ctx, session, page, product)
            if pending is not None and not pending.result():
                return False
            pending = writer.submit(store, groups, page.last_id)
            cursor = page.last_id
        return pending is None or pending.result()
