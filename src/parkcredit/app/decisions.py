"""Deciding stored enterprises: one enterprise, a whole park in the background, a stored record, replay.

The decision record stored and returned is `Decisions.record(i)` plus `decision_id` and
`snapshot_id`; its canonical JSON (`decision.canonical_json`) is what replay compares byte for byte.
Decisions are computed outside the write lock (a decision costs tens of ms of CPU; holding the
SQLite write lock through it made p99 seconds under 4 clients), then stored in a short write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from parkcredit.app import alerts, batch, batch_decide, views
from parkcredit.app import schemas as s
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.app.jobs import SHUTDOWN, Interrupted
from parkcredit.app.rulesets import in_force
from parkcredit.decision import canonical_json, decide, decide_profiles
from parkcredit.errors import Conflict, InvalidInput, NotFound
from parkcredit.profile.frame import ProfileColumns
from parkcredit.rules import RuleSet
from parkcredit.store import canonjson, jobs, snapshots
from parkcredit.store import decisions as store
from parkcredit.store import rulesets as store_rulesets
from parkcredit.store.tables import Decision, Snapshot

__all__ = [
    "ReplayResult", "compute", "compute_in_force", "decide_enterprise", "list_decisions", "warm",
    "read_decision",
    "read_job",
    "replay_decision", "resume_batch", "run_batch", "start_batch", "start_decide_process", "store_records",
]  # fmt: skip

log = logging.getLogger("parkcredit")


def _records(
    profiles: list[dict[str, Any]], ruleset: RuleSet, model: Any, model_status: dict[str, Any]
) -> list[dict[str, Any]]:
    try:
        columns = ProfileColumns.of(profiles)  # validated and converted as `to_frame` does, without the frame
    except (OverflowError, ValueError) as exc:  # snapshots stored before numbers were checked at the edge
        raise InvalidInput(("snapshot",), f"the stored profile cannot be decided: {exc}") from None
    decisions = decide_profiles(columns, ruleset, model)  # = decide(to_frame(profiles), ...), record for record
    out = []
    for i in range(len(decisions)):
        rec = decisions.record(i)
        if model is None and model_status.get("status") not in (None, "ok"):
            # say why there is no model (DESIGN §6: the model's version or null, and its status)
            rec["model"] = {**rec["model"], "status": str(model_status["status"])}
        out.append(rec)
    return out


def _identified(
    ctx: AppContext, ids: list[int], profiles: list[dict[str, Any]], ruleset: RuleSet
) -> list[dict[str, Any]]:
    records = _records(profiles, ruleset, ctx.model, ctx.model_status)
    return [{"decision_id": str(uuid.uuid4()), "snapshot_id": i, **rec} for i, rec in zip(ids, records, strict=True)]


def compute(ctx: AppContext, session: Session, snaps: list[Snapshot], ruleset: RuleSet) -> list[dict[str, Any]]:
    """Decision records of `snaps` as one vectorised batch (reads only; run it outside the write lock)."""
    return _identified(ctx, [x.id for x in snaps], [snapshots.profile_of(session, x) for x in snaps], ruleset)


def compute_in_force(
    ctx: AppContext, session: Session, snaps: list[Snapshot], product: str
) -> list[tuple[RuleSet, list[dict[str, Any]]]]:
    """Records of `snaps`, each decided by the version of `product` in force at its as_of, as
    (rule set, records) groups (one vectorised batch per version)."""
    groups: dict[str, tuple[RuleSet, list[Snapshot]]] = {}
    for snap in snaps:
        rs = in_force(ctx, session, product, snap.as_of)
        groups.setdefault(rs.content_hash, (rs, []))[1].append(snap)
    return [(rs, compute(ctx, session, group, rs)) for rs, group in groups.values()]


def _record_text(record: dict[str, Any]) -> str:
    """`canonical_json(record)`, through orjson when the record is plain data (the same bytes: `store.canonjson`;
    ~0.3 ms less for a ~8.5 KB record); anything else by `canonical_json` itself. Replay keeps the reference."""
    text, plain = canonjson.text_plain(record)
    return text if plain else canonical_json(record)


def store_records(
    session: Session, records: list[dict[str, Any]], ruleset: RuleSet, actor: str
) -> list[store.NewDecision]:
    """Store computed records and the rule-set version they used (inside a write transaction)."""
    rs_row = store_rulesets.ref_for_use(
        session, product=ruleset.product, version=ruleset.version, content_hash=ruleset.content_hash,
        text=ruleset.text, effective_from=ruleset.spec.effective_from,
    )  # fmt: skip
    stored = [
        store.add(session, record=rec, canonical_text=_record_text(rec), ruleset=rs_row, actor=actor) for rec in records
    ]
    alerts.on_new_decisions(session, stored, ruleset, actor=actor)  # early warning for the banks (issue 14)
    return stored


def decide_enterprise(
    ctx: AppContext, actor: Actor, *, uscc: str, product: str, idem: Idem | None = None
) -> s.DecisionRecord | Replayed:
    """Decide the enterprise on its latest snapshot with the product's rule set in force at its as_of."""
    request = {"uscc": uscc, "product": product}
    with ctx.read() as session:
        if (hit := replay(session, actor, idem, request)) is not None:
            return hit
        ctx.product(product, ("body", "product"))
        snap = snapshots.latest_to_decide(session, uscc)  # the snapshot and its personal data, one statement
        if snap is None:
            raise NotFound(f"no snapshot of {uscc}; POST /v1/enterprises first")
        ruleset = in_force(ctx, session, product, snap.as_of, ("body", "product"))
        records = _identified(ctx, [snap.id], [snap.profile], ruleset)
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, request)) is not None:  # a concurrent retry finished first
            return hit
        store_records(session, records, ruleset, actor.key_id)
        out = s.DecisionRecord.model_validate(records[0])
        remember(session, actor, idem, 201, out)
        return out


def read_decision(ctx: AppContext, decision_id: str, *, actor: Actor | None = None) -> dict[str, Any]:
    """The full stored decision, exactly as recorded; plus `disputed_fields` while a field of the enterprise
    is under an open dispute (issue 15). Forbidden for another enterprise's key."""
    from parkcredit.app.disputes import dispute_flags
    from parkcredit.app.scope import ensure_may_see

    with ctx.read() as session:
        d = store.get(session, decision_id)
        if d is None:
            raise NotFound(f"no decision {decision_id}")
        ensure_may_see(actor, d.uscc)
        record: dict[str, Any] = json.loads(d.record)
        flags = dispute_flags(session, d.uscc)
        if flags:  # beside the record, never in it: the record stays what replay compares
            record["disputed_fields"] = [f.model_dump(mode="json") for f in flags]
        return record


def start_batch(
    ctx: AppContext, actor: Actor, *, product: str, park_id: str | None, idem: Idem | None = None
) -> s.JobOut | Replayed:
    """Queue a job that decides the latest snapshot of every enterprise (of a park) and hand it to this
    process's job runner (`ctx.runner`, which runs `run_batch` in the background); poll it with `read_job`."""
    params = {"product": product, "park_id": park_id}
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, params)) is not None:
            return hit
        ctx.product(product, ("body", "product"))
        job = jobs.add(session, kind="batch_decide", params=params, actor=actor.key_id)
        out = views.job(job)
        remember(session, actor, idem, 202, out)
    ctx.runner.submit(out.job_id, run_batch)
    return out


def resume_batch(ctx: AppContext, actor: Actor, *, job_id: str, idem: Idem | None = None) -> s.JobOut | Replayed:
    """Queue a failed batch job again: it goes on after its last stored chunk (no decision is stored twice)."""
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, {"resume": job_id})) is not None:
            return hit
        job = jobs.get(session, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        if job.kind != "batch_decide" or job.status != "failed":
            raise Conflict(f"job {job_id} is {job.status}: only a failed batch job can be resumed")
        requeued = jobs.requeue(session, job_id, actor=actor.key_id)
        if requeued is None:
            raise Conflict(f"job {job_id} was resumed or changed meanwhile")
        out = views.job(requeued)
        remember(session, actor, idem, 202, out)
    ctx.runner.submit(out.job_id, run_batch)
    return out


def read_job(ctx: AppContext, job_id: str) -> s.JobOut:
    """A background job's status and progress."""
    with ctx.read() as session:
        job = jobs.get(session, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        return views.job(job)


def run_batch(ctx: AppContext, job_id: str) -> None:
    """Run a queued `batch_decide` job to the end, `Settings.batch_chunk` snapshots per transaction.

    The job row is the only state, so any worker can answer a poll. The job is taken with a lease
    (`app.jobs`): each chunk's decisions are stored in one transaction with the job's progress, after
    checking this process still holds the job, so a job declared dead (its lease ran out) or already
    taken stores nothing more — no decision of a job is ever stored twice. A job that is not queued
    (taken by another worker, or ended) is left alone.
    """
    runner = ctx.runner
    worker, lease, chunk = runner.worker_id, runner.lease, ctx.settings.batch_chunk
    with ctx.write() as session:
        job = jobs.claim(session, job_id, worker=worker, lease=lease)
        if job is None:
            return
        params, actor = dict(job.params), job.created_by
        total = snapshots.count_latest(session, park_id=params.get("park_id"))
        progress = batch.Progress.of(job.result)  # a resumed job goes on after its last stored chunk
        jobs.update(session, job_id, total=total)
    done = progress.decided
    try:
        latest = ctx.product(params["product"])
        left, minimum = total - progress.decided, ctx.settings.batch_process_min
        process, spawn_after = None, None
        if 0 < minimum <= left:  # large enough to pay for a process
            process = batch_decide.process_for(ctx, ctx.model, ctx.model_status)
            if process.started or left >= SPAWN_IN_JOB * minimum:
                process.start(latest)
            else:  # its spawn would slow this job more than it gains: it serves the next
                spawn_after = latest
        held = batch.run_chunks(ctx, job_id=job_id, worker=worker, actor=actor, params=params, progress=progress,
                                chunk=chunk, check=runner.check, process=process)  # fmt: skip
        done = progress.decided
        if not held:
            return  # declared dead or interrupted meanwhile: its error says so; nothing more was stored
        result = {"decided": done, "eligible": progress.eligible, "total_limit_yuan": progress.total_limit_yuan,
                  "progress": progress.as_json()}  # fmt: skip
        with ctx.write() as session:
            jobs.release(session, job_id, worker=worker, status="done", done=done, result=result)
        if process is not None and spawn_after is not None:  # a job that ended well (not at a shutdown)
            process.start(spawn_after)
    except Interrupted:
        with ctx.write() as session:
            error = SHUTDOWN.format(done=progress.decided, total=total)
            jobs.release(session, job_id, worker=worker, status="failed", error=error)
    except Exception as exc:  # a failed job must say why, not vanish with the thread
        with ctx.write() as session:
            jobs.release(session, job_id, worker=worker, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])


# A job of this many times `batch_process_min` snapshots spawns the decide process at once, a smaller one when it
# ends (for the next): measured (bench_scale.py, 20,000 decisions, SQLite), the spawn's ~3 s of CPU beside the
# job slowed it from 6,100 to 4,164 decisions/s; the next job, with the process, made 7,905.
SPAWN_IN_JOB = 5


def start_decide_process(ctx: AppContext) -> bool:
    """At a server's start: spawn the batch's decide process (in the background) if the store already holds
    enough enterprises for a job to use it (`batch_process_min`), so the first large job finds it started.
    Whether it was started."""
    minimum = ctx.settings.batch_process_min
    if minimum <= 0 or not ctx.latest:
        return False
    try:
        with ctx.read() as session:
            if snapshots.count_latest(session, park_id=None) < minimum:
                return False
    except SQLAlchemyError:  # not migrated or unreachable: /readyz says so; a job starts it later
        return False
    batch_decide.process_for(ctx, ctx.model, ctx.model_status).start(ctx.latest[min(ctx.latest)])
    return True


def warm(ctx: AppContext) -> None:
    """At a server's start: decide synthetic enterprises once (one, as a request does, and a page, as a park's
    score does) so the model's TreeSHAP kernels (numba) are loaded before the first request, not by it — the
    first `POST /v1/decisions` after a start took 379 ms, the next 8 ms. Nothing is stored."""
    if ctx.model is None or not ctx.latest:
        return
    from parkcredit import synth

    ruleset = ctx.latest[min(ctx.latest)]
    try:
        for rows in (1, 130):  # the serial kernel (one block of 128 rows or fewer), then the parallel one
            decide(synth.generate(rows, 1), ruleset, ctx.model)
    except Exception as exc:  # a model of its own that cannot decide these rows: the first request will say why
        log.warning("the model was not warmed at start (%s: %s)", type(exc).__name__, exc)


@dataclass
class ReplayResult:
    """Result of recomputing a stored decision."""

    identical: bool
    stored_sha256: str
    replayed_sha256: str
    replayed: dict[str, Any]
    note: str | None = None


def replay_stored(ctx: AppContext, session: Session, d: Decision) -> ReplayResult:
    """Recompute `d` from its stored snapshot, stored rule-set text and model version."""
    snap = snapshots.get(session, d.snapshot_id)
    rs_row = store_rulesets.get(session, d.ruleset_id) if d.ruleset_id else None
    assert snap is not None and rs_row is not None
    ruleset = ctx.compiled(rs_row)
    note = None
    use_model = None
    if d.model_version is not None:
        if ctx.model is not None and getattr(ctx.model, "version", None) == d.model_version:
            use_model = ctx.model
        else:
            note = f"model version {d.model_version} is not loaded; replayed without it"
    (rec,) = _records([snapshots.profile_of(session, snap)], ruleset, use_model, {"status": d.model_status})
    rec = {"decision_id": d.id, "snapshot_id": snap.id, **rec}
    text = canonical_json(rec)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return ReplayResult(text == d.record and sha == d.record_sha256, d.record_sha256, sha, rec, note)


def replay_decision(ctx: AppContext, decision_id: str) -> s.ReplayOut:
    """Recompute a decision from its stored snapshot, rule-set text and model; compare byte for byte."""
    with ctx.read() as session:
        d = store.get(session, decision_id)
        if d is None:
            raise NotFound(f"no decision {decision_id}")
        r = replay_stored(ctx, session, d)
        return s.ReplayOut(
            decision_id=d.id, identical=r.identical, stored_sha256=r.stored_sha256,
            replayed_sha256=r.replayed_sha256, note=r.note, replayed=s.DecisionRecord.model_validate(r.replayed),
        )  # fmt: skip


def list_decisions(ctx: AppContext, *, uscc: str | None = None, offset: int = 0, limit: int = 50) -> list[Decision]:
    """Stored decisions newest first (optionally of one enterprise), for the pages."""
    with ctx.read() as session:
        return store.page(session, uscc=uscc, offset=offset, limit=limit)
