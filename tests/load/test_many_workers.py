"""`parkcredit serve --workers 3` on PostgreSQL: concurrent writers through several real worker processes.

Threads send writes (snapshots, authorizations, decisions) over fresh connections, so the kernel
spreads them over the workers (SO_REUSEPORT-free uvicorn: one listening socket, workers accept in
turn); then the audit chain must verify, every write must be in it once, and idempotency keys
must hold across workers (the same key sent concurrently on several connections creates one
snapshot; every answer is that snapshot or a 409 "in progress" — never a second one, never a 5xx).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import serverproc
from dbsupport import authorization, good_profile, make_uscc
from parkcredit.store import testing

WORKERS = 3
CLIENTS = 6
ENTERPRISES = 24


def _workers_with_db_connections(server: serverproc.Server) -> int:
    """Worker processes of `server` that hold a connection to PostgreSQL (port 5432)."""
    import psutil

    n = 0
    for child in psutil.Process(server.proc.pid).children(recursive=True):
        conns = child.net_connections(kind="tcp")
        n += any(c.raddr and c.raddr.port == 5432 for c in conns)
    return n


@pytest.fixture(scope="module")
def server(_pg_schema: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[serverproc.Server]:  # noqa: F811
    """One `serve --workers 3` for this module (starting one costs 20-30 s here)."""
    testing.reset_pg(_pg_schema)
    srv = serverproc.start(_pg_schema, tmp_path_factory.mktemp("workers") / "server.log", workers=WORKERS)
    yield srv
    srv.stop()


def test_concurrent_writers_through_several_workers_keep_the_chain_valid(server: serverproc.Server) -> None:
    committee, auditor = serverproc.key(server.env, "committee"), serverproc.key(server.env, "auditor")
    statuses: list[int] = []
    lock = threading.Lock()

    def enterprise(i: int) -> None:
        # a new connection per request: requests land on different workers
        with httpx.Client(base_url=server.base, timeout=60) as http:
            codes = [http.post("/v1/enterprises", json=good_profile(i), headers=committee).status_code]
            auth = authorization(make_uscc(i))
            codes.append(http.post("/v1/authorizations", json=auth, headers=committee).status_code)
            body = {"uscc": make_uscc(i), "product": "chengxindai"}
            codes.append(http.post("/v1/decisions", json=body, headers=committee).status_code)
        with lock:
            statuses.extend(codes)

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(enterprise, range(1, ENTERPRISES + 1)))
    assert statuses.count(201) == 3 * ENTERPRISES, sorted(set(statuses))
    assert _workers_with_db_connections(server) >= 2  # the writes really went through several workers

    with httpx.Client(base_url=server.base, timeout=60) as http:
        verify = http.get("/v1/audit/verify", headers=auditor).json()
        assert verify["ok"] is True, verify
        log = http.get("/v1/audit/log?limit=1000", headers=auditor).json()["items"]
    seqs = [e["seq"] for e in log]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no fork
    actions = [e["action"] for e in log]
    for action in ("snapshot.create", "authorization.create", "decision.create"):
        assert sum(a == action for a in actions) == ENTERPRISES, (action, sorted(set(actions)))


def test_idempotency_key_holds_across_workers(server: serverproc.Server) -> None:
    committee = serverproc.key(server.env, "committee")
    headers = {**committee, "Idempotency-Key": "same-key-everywhere"}

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=server.base, timeout=60) as http:
            return http.post("/v1/enterprises", json=good_profile(107), headers=headers)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(16)))
    codes = [r.status_code for r in answers]
    assert all(c in (201, 409) for c in codes), codes
    created = {r.json()["snapshot_id"] for r in answers if r.status_code == 201}
    assert len(created) == 1, created  # one snapshot, whichever worker answered
    with httpx.Client(base_url=server.base, timeout=60) as http:
        for _ in range(6):  # later retries, on fresh connections: the stored answer, from any worker
            r = http.post("/v1/enterprises", json=good_profile(107), headers=headers)
            assert r.status_code == 201 and r.headers["Idempotent-Replayed"] == "true"
            assert r.json()["snapshot_id"] in created
        other = http.post("/v1/enterprises", json=good_profile(108), headers=headers)
        assert other.status_code == 409  # same key, different body
        snaps = http.get(f"/v1/enterprises/{make_uscc(107)}/snapshots", headers=committee).json()
    assert len(snaps) == 1
