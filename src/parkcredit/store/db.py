"""Engines and sessions: SQLite (WAL) by default, PostgreSQL through `PARKCREDIT_DATABASE_URL`.

SQLite settings, chosen deliberately (DESIGN.md §10):
- `journal_mode=WAL`: readers never block the writer; a commit costs one WAL append.
- `synchronous=NORMAL`: a commit costs ~0.04 ms instead of 2-3.5 ms at FULL. In WAL mode NORMAL
  never corrupts the database and an application or OS crash loses nothing committed; only a
  power cut (or kernel panic) may lose the last few transactions. The audit chain stays *valid*
  then (it is rolled back whole, never half-written), it is just shorter. The embedded SQLite
  setup is for a single park office and demos; a deployment where losing the last second of
  audit entries on power loss is unacceptable runs PostgreSQL (synchronous_commit=on), or sets
  `PARKCREDIT_SQLITE_SYNCHRONOUS=FULL`.
- `foreign_keys=ON`, `busy_timeout=10000` (writers wait for each other instead of failing).
- Write transactions start with `BEGIN IMMEDIATE` (take the write lock first), so two writers
  appending to the audit chain can never both read the same chain head; read-only sessions use
  a deferred `BEGIN` and run concurrently.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Engine, any_, bindparam, create_engine, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from parkcredit.store import canonjson

__all__ = [
    "IN_CHUNK", "WRITE", "among", "begin_write", "chunked", "make_engine", "make_sessionmaker", "write_session",
]  # fmt: skip

# values bound in one `IN (…)`: PostgreSQL takes at most 65,535 parameters a statement, SQLite 32,766
IN_CHUNK = 5000


def chunked(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """`values` in slices small enough for one `IN (…)` each (a province-sized import has 125,000 USCCs)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(%s)` with the values as ONE array parameter — for
    5,000 codes the expanded IN's placeholders cost ~5x more to render and bind than the query (measured:
    a batch chunk's two alert queries, 5,000 enterprises, 48 → 13 ms of CPU). Slice the values with `chunked`."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


WRITE = {"parkcredit_write": True}  # execution option marking a write transaction
logger = logging.getLogger(__name__)


# JSON columns written and read through orjson (profiles, provenance, audit payloads: stdlib json was a
# visible share of a bulk import and of each batch chunk's audit entry)
_JSON: dict[str, Any] = {"json_serializer": canonjson.column_text, "json_deserializer": canonjson.loads}


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine for `url` with parkcredit's connection settings."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **_JSON, **kw)
        sync = os.environ.get("PARKCREDIT_SQLITE_SYNCHRONOUS", "NORMAL").upper()
        if sync not in {"NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"PARKCREDIT_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA, got {sync!r}")

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite's own is too late)
            cur = dbapi_conn.cursor()
            for pragma in ("journal_mode=WAL", f"synchronous={sync}", "foreign_keys=ON", "busy_timeout=10000"):
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            write = conn.get_execution_options().get("parkcredit_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    # pre-ping: a connection the database dropped (restart, network cut) is replaced, not used;
    # connect_timeout: an unreachable server fails a request in seconds (-> 503), not minutes
    connect_args = {"connect_timeout": 5, **kw.pop("connect_args", {})}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args, **_JSON,
                         **kw)  # fmt: skip


class ResilientSession(Session):
    """A Session whose `close` survives a database that vanished after the work was done.

    Routes close their session after the response is sent; if the connection died in between
    (database restart, network cut), the ROLLBACK of `close` fails. Raising then would break the
    client's keep-alive connection for a request that had already succeeded, so the session is
    closed by invalidating the connection instead (nothing was left to roll back on it).
    """

    def close(self) -> None:
        try:
            super().close()
        except (OperationalError, InterfaceError) as exc:
            logger.warning("connection lost while closing a session; invalidated: %s", str(exc).splitlines()[0][:200])
            self.invalidate()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    return sessionmaker(engine, expire_on_commit=False, class_=ResilientSession)


def begin_write(session: Session) -> None:
    """Start `session`'s transaction as a write transaction (SQLite: BEGIN IMMEDIATE)."""
    session.connection(execution_options=WRITE)


@contextmanager
def write_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transaction takes the write lock first; committed on success."""
    with factory() as session:
        begin_write(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
