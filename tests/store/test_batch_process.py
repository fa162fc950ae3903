"""A large batch job decides its chunks in a process of its own (app/batch_decide.py, issue 18) and stores the
same decisions the job's own thread would: replay byte-identical, the audit chain and every row intact.

Through the real service with the real model, on SQLite and PostgreSQL: the process warm before the job
(every chunk decided there), the process killed in the middle of a job (nothing lost, nothing twice, the next
job starts another), a snapshot that cannot be decided (the same error as in the job's thread), and the
shared-memory transfer itself.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

import dbsupport
from dbsupport import PEPPER, good_profile
from parkcredit.app import batch, batch_decide
from parkcredit.app.context import AppContext
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store import audit
from parkcredit.store.tables import Decision

N = 23
CHUNK = 5
keys = dbsupport.keys


@pytest.fixture
def settings(db_url: str, tmp_path: Any) -> Settings:
    return Settings(database_url=db_url, model_enabled=True, api_key_pepper=PEPPER, batch_chunk=CHUNK,
                    batch_process_min=1, data_dir=tmp_path / "var")  # fmt: skip


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def _ctx(client: TestClient) -> AppContext:
    ctx: AppContext = client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


def _load(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    for i in range(1, N + 1):
        p = good_profile(i)
        if i % 4 == 1:
            p["dishonest_debtor_enterprise"] = True
        if i % 4 == 3:
            p["tax_credit_grade"] = None
        r = client.post("/v1/enterprises", json=p, headers=keys["committee"])
        assert r.status_code in (200, 201), r.text


def _started(client: TestClient) -> batch_decide.DecideProcess:
    ctx = _ctx(client)
    proc = batch_decide.process_for(ctx, ctx.model, ctx.model_status)
    proc.start(ctx.product("chengxindai"))
    return _ready(proc)


def _ready(proc: batch_decide.DecideProcess) -> batch_decide.DecideProcess:
    for _ in range(1200):
        if proc.ready():
            return proc
        time.sleep(0.05)
    raise AssertionError("the decide process did not start")


def _counting(monkeypatch: pytest.MonkeyPatch, on_call: Any = None) -> list[int]:
    calls: list[int] = []
    real = batch_decide.DecideProcess.submit

    def submit(self: batch_decide.DecideProcess, *a: Any) -> Any:
        calls.append(len(a[1]))
        if on_call is not None:
            on_call(self, len(calls))
        return real(self, *a)

    monkeypatch.setattr(batch_decide.DecideProcess, "submit", submit)
    return calls


def _intact(client: TestClient, keys: dict[str, dict[str, str]]) -> list[Decision]:
    with _ctx(client).read() as session:
        rows = list(session.scalars(select(Decision)))
        check = audit.verify(session)
        assert check.ok and check.row_problems_total == 0, (check.reason, check.row_problems[:3])
    for d in rows:
        r = client.post(f"/v1/decisions/{d.id}/replay", headers=keys["auditor"])
        assert r.status_code == 200 and r.json()["identical"], r.text  # replayed here, in this process
    return rows


def test_every_chunk_decided_in_the_process_replays_identically(client: TestClient, keys, monkeypatch) -> None:
    _load(client, keys)
    proc = _started(client)
    assert proc.pid is not None and proc.pid != os.getpid()
    calls = _counting(monkeypatch)
    job = dbsupport.batch_job(client, keys)
    assert job["status"] == "done" and job["done"] == N, job
    assert sum(calls) == N and len(calls) == -(-N // CHUNK)  # every chunk went there
    rows = _intact(client, keys)
    assert len(rows) == N and len({d.snapshot_id for d in rows}) == N
    assert {d.model_version for d in rows} == {_ctx(client).model.version}  # type: ignore[attr-defined]


def test_the_process_killed_mid_job_loses_nothing_and_the_next_job_starts_another(
    client: TestClient, keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(client, keys)
    proc = _started(client)
    first = proc.pid
    assert first is not None

    def kill_at_third(p: batch_decide.DecideProcess, n: int) -> None:
        if n == 3 and p.pid == first:
            os.kill(first, signal.SIGKILL)
            time.sleep(0.3)  # dead before the chunk is handed to it

    calls = _counting(monkeypatch, kill_at_third)
    job = dbsupport.batch_job(client, keys)
    assert job["status"] == "done" and job["done"] == N, job  # the lost chunks decided in the job's thread
    assert len(calls) >= 3
    rows = _intact(client, keys)
    assert len(rows) == N and len({d.snapshot_id for d in rows}) == N  # none twice, none missed
    again = _started(client)  # the next large job's start spawns another
    assert again.pid not in (None, first)
    assert dbsupport.batch_job(client, keys)["status"] == "done"


@pytest.mark.parametrize("where", ["process", "thread"])
def test_a_snapshot_that_cannot_be_decided_fails_the_job_alike(
    client: TestClient, keys, settings: Settings, where: str
) -> None:
    _load(client, keys)
    ctx = _ctx(client)
    if where == "process":
        _started(client)
    else:
        ctx.settings = settings.model_copy(update={"batch_process_min": 0})
    with ctx.write() as session:  # a profile whose as_of disagrees with its row's (edited in the database)
        sid = session.scalar(text("SELECT max(id) FROM snapshots"))
        session.execute(text("UPDATE snapshots SET as_of = :d WHERE id = :i"), {"d": "2020-01-01", "i": sid})
    job = dbsupport.batch_job(client, keys)
    assert job["status"] == "failed", job
    assert f"snapshot {sid}: its as_of 2020-01-01 and its profile's" in job["error"], job["error"]


@pytest.mark.parametrize(
    "items", [[], [b""], [b"a", b"", "企业\t\n".encode(), bytes(range(256)) * 300], [b"x" * 70_000] * 3]
)
def test_pack_unpack_gives_back_the_same_bytes_and_frees_the_block(items: list[bytes]) -> None:
    packed = batch_decide.pack(items)
    assert batch_decide.unpack(packed) == items
    with pytest.raises(FileNotFoundError):
        batch_decide.unpack(packed)  # read once: the block is gone


def test_a_server_starting_on_a_store_large_enough_spawns_the_process_at_once(
    client: TestClient, keys, settings: Settings
) -> None:
    _load(client, keys)
    for minimum, spawned in ((N + 1, False), (N, True)):
        with TestClient(create_app(settings.model_copy(update={"batch_process_min": minimum}))) as other:
            proc = getattr(_ctx(other), "_decider", None)
            assert (proc is not None) is spawned
            if proc is not None:
                _ready(proc)
                assert proc.pid is not None and dbsupport.batch_job(other, keys)["status"] == "done"


def _blocks() -> set[str]:
    return {p.name for p in Path("/dev/shm").iterdir() if p.name.startswith("psm_")}


def test_a_job_failing_while_the_process_decides_leaves_no_block_behind_and_resumes(
    client: TestClient, keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(client, keys)
    proc = _started(client)
    before = _blocks()
    real = dbsupport.fail_store_chunk_at(monkeypatch, 2)
    job = dbsupport.batch_job(client, keys)
    assert job["status"] == "failed" and "disk full" in job["error"] and job["done"] == CHUNK, job
    # the chunk queued in the process was let go of: its blocks handed back, none other left
    assert proc.blocks.names and not proc.blocks.lent
    assert _blocks() - before <= proc.blocks.names
    monkeypatch.setattr(batch, "store_chunk", real)
    r = client.post(f"/v1/jobs/{job['job_id']}/resume", headers=keys["committee"])
    assert r.status_code == 202, r.text
    done = dbsupport.wait_job(client, keys, job["job_id"])
    assert done["status"] == "done" and done["done"] == N, done
    rows = _intact(client, keys)
    assert len(rows) == len({d.snapshot_id for d in rows}) == N


def test_a_job_too_small_to_pay_for_the_spawn_decides_here_and_leaves_the_process_for_the_next(
    client: TestClient, keys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parkcredit.app import decisions

    _load(client, keys)
    ctx = _ctx(client)
    ctx.settings = settings.model_copy(update={"batch_process_min": 10})  # 10 <= N < SPAWN_IN_JOB * 10
    assert 10 <= N < decisions.SPAWN_IN_JOB * 10
    calls = _counting(monkeypatch)
    assert dbsupport.batch_job(client, keys)["status"] == "done" and calls == []  # decided in the job's thread
    proc = _ctx(client)._decider
    assert proc is not None
    for _ in range(100):  # spawned as the job ended, just after it was marked done
        if proc.started:
            break
        time.sleep(0.05)
    assert proc.started
    assert _started(client) is proc
    assert dbsupport.batch_job(client, keys)["status"] == "done" and sum(calls) == N  # the next job decides there


def test_the_blocks_are_used_again_job_after_job_and_freed_with_the_service(settings: Settings, keys) -> None:
    before = _blocks()
    with TestClient(create_app(settings)) as c:
        _load(c, keys)
        proc = _started(c)
        assert dbsupport.batch_job(c, keys)["status"] == "done"
        kept = proc.blocks.names
        assert kept and kept <= _blocks() and not proc.blocks.lent
        assert dbsupport.batch_job(c, keys)["status"] == "done"
        assert proc.blocks.names == kept  # the second job's chunks went through the same blocks
        rows = _intact(c, keys)
        assert len(rows) == 2 * N and len({d.id for d in rows}) == 2 * N
    assert _blocks() <= before  # the service stopped: every kept block freed


def test_blocks_hand_out_the_smallest_free_block_that_fits_within_their_budget() -> None:
    pool = batch_decide.Blocks(budget=1 << 20)
    try:
        a = pool.take(1000)
        assert a is not None and a.size >= 1000 and pool.lent == {a.name}
        packed = batch_decide._into(a, [b"abc", "企业".encode()])
        assert packed.pooled and batch_decide._out_of(a, packed) == [b"abc", "企业".encode()]
        pool.give(a)
        assert pool.take(500) is a  # used again, not made again
        assert pool.take(2 << 20) is None  # past the budget: shipped as before
        b = pool.take(100_000)
        assert b is not None and b is not a and pool.names == {a.name, b.name}
        pool.give(a)
        pool.give(b)
        c = pool.take(800_000)  # over budget with both kept: the free ones make room
        assert c is not None and pool.names == {c.name} and c.size >= 800_000
    finally:
        pool.close()
    assert not pool.names and not {a.name, c.name} & _blocks()


def test_without_room_in_dev_shm_the_chunks_go_through_the_pipe(
    client: TestClient, keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container's /dev/shm may be 64 MB and a full tmpfs is a SIGBUS: with no room the texts are pickled."""
    monkeypatch.setattr(batch_decide, "SHM_DIR", "/nonexistent-shm")  # statvfs fails: no room (this process)
    assert batch_decide.ship([b"abc", b""]) == [b"abc", b""] and batch_decide.land([b"abc"]) == [b"abc"]
    _load(client, keys)
    _started(client)
    calls = _counting(monkeypatch)
    before = _blocks()
    job = dbsupport.batch_job(client, keys)
    assert job["status"] == "done" and job["done"] == N and sum(calls) == N, job
    assert _blocks() <= before
    assert len(_intact(client, keys)) == N
