"""kill -9 of `parkcredit serve` in the middle of a large import leaves no partial snapshot.

Real subprocess, real HTTP. The kill comes only once the server is seen writing the import
(PostgreSQL: its connection holds a transaction id; SQLite: the WAL file grows), so the test
proves it hit the write, not the parsing before it. Then: nothing of the import is visible, the
audit chain is intact, and a restarted server takes the same upload whole.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import text

import serverproc
from dbsupport import good_profile
from parkcredit.store import audit, snapshots
from parkcredit.store.db import make_engine, make_sessionmaker

ROWS = 6000  # a feed is written in bulk (issue 13): enough rows that its write phase is long enough to catch


def _csv(n: int) -> bytes:
    rows = [good_profile(i) for i in range(1, n + 1)]
    cols = list(rows[0])
    lines = [",".join(cols)] + [",".join("" if r[c] is None else str(r[c]) for c in cols) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _writing(db_url: str, app_name: str, wal: Path | None, wal_start: int) -> bool:
    if wal is not None:
        return wal.exists() and wal.stat().st_size > wal_start
    engine = make_engine(db_url.split("&application_name")[0])
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a AND backend_xid IS NOT NULL"),
            {"a": app_name},
        ).scalar_one()
    engine.dispose()
    return bool(n)


def _counts(db_url: str) -> tuple[int, int, bool]:
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        snaps = session.execute(text("SELECT count(*) FROM snapshots")).scalar_one()
        imports = session.execute(text("SELECT count(*) FROM audit_log WHERE action = 'snapshot.import'")).scalar_one()
        ok = audit.verify(session).ok
    engine.dispose()
    return int(snaps), int(imports), ok


def test_kill_9_during_a_large_import_leaves_no_partial_snapshot(db_url: str, tmp_path: Path) -> None:
    app_name = f"pc-crash-{os.getpid()}"
    sqlite = db_url.startswith("sqlite")
    url = db_url if sqlite else f"{db_url}&application_name={app_name}"
    wal = Path(db_url.removeprefix("sqlite:///") + "-wal") if sqlite else None
    server = serverproc.start(url, tmp_path / "server.log")
    committee = serverproc.key(server.env, "committee")
    upload = _csv(ROWS)
    wal_start = wal.stat().st_size if wal is not None and wal.exists() else 0
    outcome: dict[str, object] = {}

    def post() -> None:
        try:
            r = httpx.post(f"{server.base}/v1/imports", files={"file": ("park.csv", upload, "text/csv")},
                           headers=committee, timeout=300)  # fmt: skip
            outcome["status"] = r.status_code
        except httpx.TransportError as exc:
            outcome["error"] = exc

    try:
        sender = threading.Thread(target=post)
        sender.start()
        deadline = time.monotonic() + 240
        while not _writing(url, app_name, wal, wal_start):
            assert sender.is_alive(), f"the import finished before it was seen writing: {outcome}"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.05)
        server.kill9()
        sender.join(timeout=30)
        assert "error" in outcome, f"the request completed: {outcome}"  # it was cut, not answered
    finally:
        server.stop()

    snaps, imports, chain_ok = _counts(db_url)
    assert (snaps, imports) == (0, 0)  # nothing of the import is visible: all or none, here none
    assert chain_ok

    server = serverproc.start(db_url, tmp_path / "server2.log")
    try:
        r = httpx.post(f"{server.base}/v1/imports", files={"file": ("park.csv", upload, "text/csv")},
                       headers=committee, timeout=300)  # fmt: skip
        assert r.status_code == 200 and r.json()["rows_stored"] == ROWS, r.text[:500]
    finally:
        server.stop()
    assert _counts(db_url) == (ROWS, -(-ROWS // snapshots.BIND_CHUNK), True)  # one entry per chunk it binds
