"""The banks' fast path (api/fastpath.py) through a database outage: its connections are held open (no
pre-ping per request), so a cut must still give the 503 of the ordinary path, and the first query after the
database is back must be answered — not fail on a connection that died while it was idle."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import httpx

import serverproc
from dbsupport import BANK, authorization, good_profile, make_uscc
from tcpproxy import TcpProxy


def test_the_fast_path_answers_503_during_an_outage_and_the_first_query_after_it(pg_url: str, tmp_path: Path) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    through = pg_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    server = serverproc.start(through, tmp_path / "server.log")
    try:
        direct = serverproc.server_env(pg_url)
        committee, bank = serverproc.key(direct, "committee"), serverproc.key(direct, "bank", BANK)
        auditor = serverproc.key(direct, "auditor")
        u = make_uscc(1)
        with httpx.Client(base_url=server.base, timeout=30) as http:
            assert http.post("/v1/enterprises", json=good_profile(1), headers=committee).status_code == 201
            auth = authorization(u, valid_from=str(dt.date.today() - dt.timedelta(days=1)))
            assert http.post("/v1/authorizations", json=auth, headers=committee).status_code == 201
            for _ in range(3):  # the first decides (the route); then the fast path, its connections open
                assert http.get(f"/v1/eligibility/{u}", headers=bank).status_code == 200

            proxy.cut()
            started = time.monotonic()
            r = http.get(f"/v1/eligibility/{u}", headers=bank)
            assert time.monotonic() - started < 10
            assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.text
            assert r.json()["error"] == "database_unavailable"

            proxy.restore()
            deadline = time.monotonic() + 20
            while http.get("/readyz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            r = http.get(f"/v1/eligibility/{u}", headers=bank)
            assert r.status_code == 200, r.text  # not a 503 from a connection that died while idle
            log = http.get("/v1/bank-queries", headers=auditor)
            assert log.status_code == 200, log.text
            assert http.get("/v1/audit/verify", headers=auditor).json()["ok"] is True
        assert server.proc.poll() is None
    finally:
        server.stop()
        proxy.close()
