"""Migration 0003 on a database that already holds facts: every row is bound into the audit chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from sqlalchemy import text

from parkcredit.store import audit
from parkcredit.store.db import make_engine, make_sessionmaker
from parkcredit.store.migrate import upgrade


def test_rows_stored_before_0003_are_bound_and_then_checked(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0002")
    profile = {"uscc": "U", "name": "老企业", "as_of": "2025-06-30"}
    body = json.dumps(profile, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    now = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for i in (1, 2):
            conn.execute(text("INSERT INTO snapshots (id, uscc, name, park_id, as_of, profile, content_sha256, "
                              "created_by, created_at) VALUES (:i, 'U', '老企业', NULL, '2025-06-30', :p, :h, 'k', :c)"),
                         {"i": i, "p": body, "h": hashlib.sha256(body.encode()).hexdigest(), "c": now})  # fmt: skip
        conn.execute(text("INSERT INTO api_keys (id, key_hash, role, bank, label, created_at) "
                          "VALUES ('key_old', 'x', 'committee', NULL, '', :c)"), {"c": now})  # fmt: skip
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        r = audit.verify(s)
    assert r.ok, r.row_problems
    assert r.rows_checked == 3 and r.entries == 2  # two snapshots and a key, in one rebind entry per table
    with engine.begin() as conn:
        conn.execute(text("UPDATE snapshots SET park_id = 'elsewhere' WHERE id = 2"))
    with sessions() as s:
        r = audit.verify(s)
    assert not r.ok and [(p.table, p.id, p.problem) for p in r.row_problems] == [("snapshots", "2", "altered")]
    engine.dispose()
