"""Migration 0002 on a database that already holds decisions: stored rule sets become published versions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from govsupport import RULES
from parkcredit.store.db import make_engine
from parkcredit.store.migrate import upgrade


def test_upgrade_from_0001_keeps_decisions_and_publishes_their_rule_sets(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    yaml_text = (RULES / "chengxindai.yaml").read_text(encoding="utf-8")
    now = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        rs = ("INSERT INTO ruleset_versions (id, product, version, content_hash, text, created_at) "
              "VALUES (1, 'chengxindai', '1.0', 'sha256:x', :t, :c)")  # fmt: skip
        conn.execute(text(rs), {"t": yaml_text, "c": now})
        snap = ("INSERT INTO snapshots (id, uscc, name, park_id, as_of, profile, content_sha256, created_by,"
                " created_at) VALUES (1, 'U', 'n', NULL, '2025-06-30', '{}', 'h', 'k', :c)")  # fmt: skip
        conn.execute(text(snap), {"c": now})
        conn.execute(text(
            "INSERT INTO decisions (id, uscc, product, snapshot_id, ruleset_id, ruleset_version, ruleset_hash,"
            " model_version, model_status, eligible, limit_yuan, band, total_score, valid_until, record,"
            " record_sha256, created_by, created_at) VALUES ('d1', 'U', 'chengxindai', 1, 1, '1.0', 'sha256:x',"
            " NULL, 'none', 1, 100000, 'A', 90.0, NULL, '{}', 'h', 'k', :c)"), {"c": now})  # fmt: skip
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, effective_from, source, created_by FROM ruleset_versions")).one()
        assert tuple(row) == ("published", "2026-01-01", "stored on use", "system")
        assert conn.execute(text("SELECT count(*) FROM decisions")).scalar() == 1
    with engine.begin() as conn, pytest.raises(DBAPIError, match="immutable"):
        conn.execute(text("UPDATE ruleset_versions SET text = 'x'"))
    engine.dispose()
