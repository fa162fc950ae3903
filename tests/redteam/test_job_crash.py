"""A batch job survives the death of its server: real `parkcredit serve` processes, real HTTP, both databases.

- kill -9 mid-batch, restart: the job is marked failed (its lease ran out), says how far it got, and
  every decision it stored is stored once — as many as its progress says, never one snapshot twice;
- SIGTERM mid-batch: the server stops within its grace period and the job is failed as interrupted.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

import serverproc
from dbsupport import good_profile
from parkcredit.store.db import make_engine

ROWS = 600
# leases of 1.5 s (renewed every 0.5 s) and chunks of 5 snapshots: the batch takes seconds, a dead
# worker is noticed in about two
ENV = {"PARKCREDIT_JOB_LEASE_SECONDS": "1.5", "PARKCREDIT_BATCH_CHUNK": "5", "PARKCREDIT_SHUTDOWN_GRACE_SECONDS": "2"}


def _csv(n: int) -> bytes:
    rows = [good_profile(i) for i in range(1, n + 1)]
    cols = list(rows[0])
    lines = [",".join(cols)] + [",".join("" if r[c] is None else str(r[c]) for c in cols) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _import(server: serverproc.Server, committee: dict[str, str]) -> None:
    r = httpx.post(f"{server.base}/v1/imports", files={"file": ("park.csv", _csv(ROWS), "text/csv")},
                   headers=committee, timeout=300)  # fmt: skip
    assert r.status_code == 200 and r.json()["rows_stored"] == ROWS, r.text[:500]


def _job(server: serverproc.Server, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    r = httpx.get(f"{server.base}/v1/jobs/{job_id}", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _start_batch_and_wait_midway(server: serverproc.Server, committee: dict[str, str]) -> str:
    r = httpx.post(f"{server.base}/v1/decisions/batch", json={"product": "chengxindai"}, headers=committee, timeout=30)
    assert r.status_code == 202, r.text
    job_id: str = r.json()["job_id"]
    deadline = time.monotonic() + 120
    while True:
        job = _job(server, job_id, committee)
        assert job["status"] in ("queued", "running"), f"the batch ended before it could be cut: {job}"
        if job["status"] == "running" and job["done"] >= 50:
            return job_id
        assert time.monotonic() < deadline, job
        time.sleep(0.02)


def _decision_counts(db_url: str) -> tuple[int, int]:
    """(decisions stored, snapshots decided more than once)."""
    engine = make_engine(db_url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM decisions")).scalar_one()
        twice = conn.execute(text(
            "SELECT count(*) FROM (SELECT snapshot_id FROM decisions GROUP BY snapshot_id HAVING count(*) > 1) t"
        )).scalar_one()  # fmt: skip
    engine.dispose()
    return int(total), int(twice)


def test_kill_9_mid_batch_then_restart_fails_the_job_and_duplicates_no_decision(db_url: str, tmp_path: Path) -> None:
    server = serverproc.start(db_url, tmp_path / "server.log", **ENV)
    try:
        committee = serverproc.key(server.env, "committee")
        _import(server, committee)
        job_id = _start_batch_and_wait_midway(server, committee)
        server.kill9()
    finally:
        server.stop()

    stuck = _decision_counts(db_url)
    server = serverproc.start(db_url, tmp_path / "server2.log", **ENV)
    try:
        deadline = time.monotonic() + 30
        while (job := _job(server, job_id, committee))["status"] == "running":
            assert time.monotonic() < deadline, f"the job of the killed server is still running: {job}"
            time.sleep(0.2)
        assert job["status"] == "failed", job
        assert "stopped" in job["error"] and f"after {job['done']} of {ROWS}" in job["error"], job["error"]
        assert 50 <= job["done"] < ROWS
        total, twice = _decision_counts(db_url)
        # what the job stored is exactly its recorded progress (chunk and progress in one transaction) and
        # nothing was added after the kill
        assert (total, twice) == (job["done"], 0) == (stuck[0], 0)
        # the service goes on: a new batch decides the whole park
        r = httpx.post(f"{server.base}/v1/decisions/batch", json={"product": "chengxindai"}, headers=committee,
                       timeout=30)  # fmt: skip
        new_id = r.json()["job_id"]
        deadline = time.monotonic() + 180
        while (job := _job(server, new_id, committee))["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["status"] == "done" and job["done"] == ROWS, job
    finally:
        server.stop()


def test_sigterm_mid_batch_stops_the_server_within_its_grace_and_fails_the_job(db_url: str, tmp_path: Path) -> None:
    server = serverproc.start(db_url, tmp_path / "server.log", **ENV)
    try:
        committee = serverproc.key(server.env, "committee")
        _import(server, committee)
        job_id = _start_batch_and_wait_midway(server, committee)
        sent = time.monotonic()
        os.killpg(server.proc.pid, signal.SIGTERM)
        server.proc.wait(timeout=20)  # grace 2 s for requests, 2 s for the job: far below 20
        stopped_after = time.monotonic() - sent
    finally:
        server.stop()
    assert stopped_after < 15, stopped_after

    engine = make_engine(db_url)
    with engine.connect() as conn:
        status, done, error = conn.execute(text("SELECT status, done, error FROM jobs WHERE id = :i"),
                                           {"i": job_id}).one()  # fmt: skip
    engine.dispose()
    assert status == "failed" and "interrupted by a server shutdown" in error, (status, error)
    assert _decision_counts(db_url) == (done, 0)


def test_a_job_left_running_before_leases_existed_is_failed_at_start(db_url: str, tmp_path: Path) -> None:
    """The issue's stuck job: `running` with no lease (written by a version without them) is failed at start."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO jobs (id, kind, status, params, total, done, created_by, created_at, updated_at) VALUES "
            "('00000000-0000-0000-0000-00000000dead', 'batch_decide', 'running', '{}', 10, 4, 'key_x', "
            ":t, :t)"
        ), {"t": "2026-01-01 00:00:00"})  # fmt: skip
    engine.dispose()
    server = serverproc.start(db_url, tmp_path / "server.log", **ENV)
    try:
        job = _job(server, "00000000-0000-0000-0000-00000000dead", serverproc.key(server.env, "committee"))
    finally:
        server.stop()
    assert job["status"] == "failed" and "after 4 of 10" in job["error"], job
