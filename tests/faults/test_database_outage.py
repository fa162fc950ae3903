"""Database unreachable -> 503 with a clear body and Retry-After; back -> served again, same process.

A TCP proxy sits between a real `parkcredit serve` and PostgreSQL; the test cuts it (open
connections reset, new ones refused) and restores it.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

import serverproc
from dbsupport import good_profile, make_uscc
from tcpproxy import TcpProxy


def _through(url: str, proxy: TcpProxy) -> str:
    assert "@127.0.0.1:5432/" in url, url
    return url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")


def test_database_outage_gives_503_with_retry_after_then_recovers_without_restart(pg_url: str, tmp_path: Path) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    server = serverproc.start(_through(pg_url, proxy), tmp_path / "server.log")
    try:
        direct = serverproc.server_env(pg_url)
        committee, auditor = serverproc.key(direct, "committee"), serverproc.key(direct, "auditor")
        with httpx.Client(base_url=server.base, timeout=30) as http:
            assert http.post("/v1/enterprises", json=good_profile(1), headers=committee).status_code == 201
            assert http.get(f"/v1/enterprises/{make_uscc(1)}", headers=committee).status_code == 200

            proxy.cut()
            started = time.monotonic()
            r = http.get(f"/v1/enterprises/{make_uscc(1)}", headers=committee)
            assert time.monotonic() - started < 10  # fails fast, does not hang on the dead connection
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "5"
            body = r.json()
            assert body["error"] == "database_unavailable" and "retry later" in body["detail"]
            assert "5432" not in r.text and "postgres" not in r.text  # no connection details leak
            retry = {**committee, "Idempotency-Key": "outage-2"}
            r = http.post("/v1/enterprises", json=good_profile(2), headers=retry)
            assert r.status_code == 503 and r.headers["Retry-After"] == "5"
            ready = http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["database"].startswith("error")

            proxy.restore()
            deadline = time.monotonic() + 20
            while (r := http.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert r.status_code == 200, r.text
            r = http.post("/v1/enterprises", json=good_profile(2), headers=retry)
            assert r.status_code == 201, r.text  # the refused POST had no effect: the retry creates it
            assert (
                http.post("/v1/enterprises", json=good_profile(2), headers=retry).headers.get("Idempotent-Replayed")
                == "true"
            )
            snaps = http.get(f"/v1/enterprises/{make_uscc(2)}/snapshots", headers=committee).json()
            assert len(snaps) == 1
            assert http.get("/v1/audit/verify", headers=auditor).json()["ok"] is True
        assert server.proc.poll() is None  # recovered without a restart
    finally:
        server.stop()
        proxy.close()
