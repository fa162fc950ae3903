"""Where a persisted batch decision's time goes (issue 18), stage by stage, in CPU µs a decision.

    python benchmarks/profile_batch.py --rows 20000 --chunk 2000             # SQLite
    python benchmarks/profile_batch.py --rows 20000 --chunk 5000 --db postgresql

Imports `--rows` enterprises, then decides and stores them chunk by chunk in ONE thread (the stages of
`app.batch.run_chunks` without its overlap), timing each stage with `time.thread_time` — CPU of this
thread, so the figures hold up on a machine shared with other work far better than the wall clock.
Then the real job (`start_batch` → the job runner, reading/deciding overlapped with storing) on a
fresh copy of the same rows: decisions/s by the wall clock and by this process's CPU seconds.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_scale as scale  # noqa: E402  # the same rows as the scale benchmark

from parkcredit.app import batch, batch_decide, decisions, imports  # noqa: E402
from parkcredit.app.actor import Actor  # noqa: E402
from parkcredit.app.context import AppContext  # noqa: E402
from parkcredit.decision import decide  # noqa: E402
from parkcredit.settings import Settings  # noqa: E402
from parkcredit.store import audit, bulk  # noqa: E402

COMMITTEE = Actor(key_id="bench-committee", role="committee")


def _timing(spent: collections.Counter[str]) -> Iterator[None]:
    """Wrap the stages' functions (module attributes) so each call adds its thread CPU to `spent`."""
    stages: list[tuple[Any, str, str]] = [
        (bulk, "latest_stored", "read the snapshots"),
        (bulk.StoredPage, "profiles", "parse the profiles"),
        (batch_decide, "frame_of_stored", "their frame"),
        (batch_decide, "decide", "decide"),
        (batch_decide, "canonical_records", "build the records"),
        (bulk.DecisionRows, "hashed", "hash the records"),
        (bulk, "_executemany", "insert"),
        (bulk, "_copy", "insert"),
        (bulk, "record_digests", "binding digests"),
        (audit, "append", "audit entry"),
        (batch.alerts, "concerned_banks", "alerts"),
    ]
    saved = []
    for owner, name, label in stages:
        inner = getattr(owner, name)

        def timed(*a: Any, _inner: Callable[..., Any] = inner, _label: str = label, **k: Any) -> Any:
            t = time.thread_time()
            try:
                return _inner(*a, **k)
            finally:
                spent[_label] += time.thread_time() - t

        saved.append((owner, name, inner))
        setattr(owner, name, timed)
    try:
        yield
    finally:
        for owner, name, inner in saved:
            setattr(owner, name, inner)


timing = contextmanager(_timing)


def _open(url: str, folder: Path, chunk: int, rows: int, process: bool) -> AppContext:
    settings = Settings(database_url=url, api_key_pepper=scale.PEPPER, model_enabled=True, data_dir=folder,
                        batch_chunk=chunk, max_upload_bytes=64 << 20, max_import_rows=rows + 1,
                        batch_process_min=1 if process else 0)  # fmt: skip
    return AppContext.open(settings)


def stages(ctx: AppContext, chunk: int) -> tuple[int, collections.Counter[str]]:
    spent: collections.Counter[str] = collections.Counter()
    progress, cursor, n = batch.Progress(), 0, 0
    with timing(spent):
        while True:
            with ctx.read() as session:
                page = batch.read_chunk(session, park_id=None, after_id=cursor, limit=chunk)
                if page is None:
                    break
                groups = batch.decide_chunk(ctx, session, page, "chengxindai")
            t = time.thread_time()
            with ctx.write() as session:
                batch.store_chunk(session, groups, actor="bench", job_id="profile", progress=progress)
                committing = time.thread_time()
            spent["commit"] += time.thread_time() - committing
            spent["(store stage, all)"] += time.thread_time() - t
            cursor, n = page.ids[-1], n + len(page)
    return n, spent


def _cpu(pid: int | None) -> float:
    """CPU seconds of another process so far (0 without one)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def job(ctx: AppContext, process: bool) -> tuple[int, float, float, float]:
    """(decisions, wall s, this process's CPU s, the decide process's CPU s) of one batch job."""
    pid = None
    if process:  # started and warm before the job, as it is for every job after a service's first large one
        proc = batch_decide.process_for(ctx, ctx.model, ctx.model_status)
        proc.start(ctx.latest["chengxindai"])
        while not proc.ready():
            time.sleep(0.05)
        pid = proc.pid
    started = decisions.start_batch(ctx, COMMITTEE, product="chengxindai", park_id=None)
    t0, c0, p0 = time.perf_counter(), time.process_time(), _cpu(pid)
    while (j := decisions.read_job(ctx, started.job_id)).status in ("queued", "running"):  # type: ignore[union-attr]
        time.sleep(0.02)
    assert j.status == "done", j.error
    return j.done, time.perf_counter() - t0, time.process_time() - c0, _cpu(pid) - p0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = ap.parse_args()
    frame = scale._profiles(args.rows, max(1, args.rows // 1000), seed=20260630)
    folder = Path(tempfile.mkdtemp(prefix="profile-batch-"))
    try:
        csv = folder / "park.csv"
        frame.to_csv(csv, index=False)
        lines = []
        for run in ("stages", "thread", "process"):
            (folder / run).mkdir()
            with scale._database(args.db, folder / run) as url:
                ctx = _open(url, folder / run, args.chunk, args.rows, run == "process")
                try:
                    decide(frame.head(200), ctx.latest["chengxindai"], ctx.model)  # the model's kernels compiled
                    imports.import_profiles(ctx, COMMITTEE, data=csv.read_bytes(), filename="park.csv")
                    if run == "stages":
                        n, spent = stages(ctx, args.chunk)
                        lines.append(f"{n:,} decisions, chunks of {args.chunk:,}, {args.db}: CPU µs a decision")
                        lines += [f"  {label:<22} {secs * 1e6 / n:7.1f}" for label, secs in spent.items()]
                    else:
                        n, wall, cpu, other = job(ctx, run == "process")
                        where = "decided in the job's thread" if run == "thread" else "decided in a process (warm)"
                        lines.append(f"the job, {where}: {n / wall:,.0f} decisions/s wall; CPU µs a decision: "
                                     f"{cpu * 1e6 / n:.0f} here, {other * 1e6 / n:.0f} in the decider")  # fmt: skip
                finally:
                    ctx.close()
        print("\n".join(lines))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
