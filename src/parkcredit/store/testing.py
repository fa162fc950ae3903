"""Test support: a fresh, migrated database per test on SQLite and on PostgreSQL.

SQLite: one migrated template file per session, copied per test (a copy costs < 1 ms; a
migration ~100 ms). PostgreSQL: one schema per session (`search_path` in the URL), migrated
once, every table truncated before each test. PostgreSQL is skipped only when unreachable and
the `CI` environment variable is unset; in CI an unreachable server fails the run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import text

from parkcredit.store.db import make_engine
from parkcredit.store.migrate import upgrade
from parkcredit.store.tables import Base

__all__ = [
    "PG_URL",
    "drop_pg",
    "pg_available",
    "pg_schema_url",
    "prepare_pg",
    "prepare_sqlite_template",
    "reset_pg",
    "sqlite_copy",
]

PG_URL = os.environ.get("PARKCREDIT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_available() -> str | None:
    """None if PostgreSQL answers, else the reason it does not."""
    try:
        engine = make_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def pg_schema_url(schema: str) -> str:
    """PG_URL with `search_path` set to `schema`."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def prepare_pg(schema: str) -> str:
    """(Re)create `schema`, migrate it, return its URL."""
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    url = pg_schema_url(schema)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def reset_pg(url: str) -> None:
    """Empty every table of the schema behind `url`."""
    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()


def drop_pg(schema: str) -> None:
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


def prepare_sqlite_template(folder: Path) -> Path:
    """A migrated SQLite file in `folder` (checkpointed, so one file holds everything)."""
    path = folder / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def sqlite_copy(template: Path, folder: Path) -> str:
    """A fresh copy of the template; returns its URL."""
    path = folder / "parkcredit.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"
