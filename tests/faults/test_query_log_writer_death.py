"""The workers of a PostgreSQL server share one bank-query writer (`app/query_log.py`): when the worker holding it
is killed (SIGKILL: no clean-up), the queries go on — every answer is a 200 whose row and audit entry are committed
or an error, never a hang — another worker takes the writing over, and the chain still verifies."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

import httpx

import serverproc
from dbsupport import BANK, authorization, good_profile, make_uscc


def _writer_pid(pids: list[int]) -> int | None:
    """The worker listening on the writer's abstract socket (`@parkcredit-query-log-…` in /proc/net/unix)."""
    inodes = {f.split()[6] for f in Path("/proc/net/unix").read_text().splitlines()[1:]
              if f.split()[-1].startswith("@parkcredit-query-log-") and f.split()[5] == "01"}  # fmt: skip
    for pid in pids:
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if any(f"socket:[{i}]" in links for i in inodes):
            return pid
    return None


def _workers(server: serverproc.Server) -> list[int]:
    children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
    return [int(p) for p in children]


def test_killing_the_writing_worker_loses_no_answered_query(pg_url: str, tmp_path: Path) -> None:
    server = serverproc.start(pg_url, tmp_path / "server.log", workers=2)
    try:
        direct = serverproc.server_env(pg_url)
        committee, bank = serverproc.key(direct, "committee"), serverproc.key(direct, "bank", BANK)
        auditor = serverproc.key(direct, "auditor")
        u = make_uscc(1)
        clients = [httpx.Client(base_url=server.base, timeout=30) for _ in range(6)]
        http = clients[0]
        assert http.post("/v1/enterprises", json=good_profile(1), headers=committee).status_code == 201
        auth = authorization(u, valid_from=str(dt.date.today() - dt.timedelta(days=1)))
        assert http.post("/v1/authorizations", json=auth, headers=committee).status_code == 201
        assert http.get(f"/v1/eligibility/{u}", headers=bank).status_code == 200  # decided (the route)
        answered = 0

        def ask_all() -> list[int]:
            out = []
            for c in clients:
                try:
                    out.append(c.get(f"/v1/eligibility/{u}", headers=bank).status_code)
                except httpx.TransportError:  # a connection to the killed worker
                    out.append(0)
            return out

        deadline = time.monotonic() + 30
        while (writer := _writer_pid(_workers(server))) is None and time.monotonic() < deadline:
            answered += ask_all().count(200)  # the workers start their writers with their first lifespan
        assert writer is not None
        answered += ask_all().count(200)
        os.kill(writer, signal.SIGKILL)
        statuses: list[int] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # errors for a moment (503 or a cut connection), then answers again
            got = ask_all()
            statuses += got
            if got == [200] * len(clients) and _writer_pid(_workers(server)) not in (None, writer):
                break
        assert got == [200] * len(clients), statuses
        assert set(statuses) <= {0, 200, 503}
        answered += statuses.count(200)
        log = http.get("/v1/bank-queries", params={"limit": 1000}, headers=auditor)
        assert log.status_code == 200, log.text
        rows = [q for q in log.json()["items"] if q["uscc"] == u and q["allowed"]]
        assert len(rows) >= answered + 1  # every 200 had its row committed (an error's row may be there too)
        assert http.get("/v1/audit/verify", headers=auditor).json()["ok"] is True
        for c in clients:
            c.close()
    finally:
        server.stop()
