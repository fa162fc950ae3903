"""Who may see what: enterprises' authorizations of banks, and the log of every bank query."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from parkcredit.store import audit, binding
from parkcredit.store.loans import LIVE as _LIVE
from parkcredit.store.loans import SERIOUS as _SERIOUS
from parkcredit.store.tables import AuditEntry, Authorization, BankQuery, utcnow

__all__ = [
    "AsyncHotReader", "HotReader", "Probe", "QueryLogStore", "add_authorization", "authorization_ids_in_force",
    "authorization_in_force", "authorizations_in_force", "get_authorization", "log_queries", "log_query", "probe_sql",
    "queries", "revoke",
]  # fmt: skip


def add_authorization(session: Session, *, actor: str, **fields: Any) -> Authorization:
    """Record an enterprise's authorization of a bank."""
    row = Authorization(id=str(uuid.uuid4()), created_by=actor, **fields)
    session.add(row)
    audit.append(
        session, actor, "authorization.create", "authorization", row.id,
        {"uscc": row.uscc, "bank": row.bank, "products": row.products, "valid_from": row.valid_from,
         "valid_to": row.valid_to, "evidence_sha256": row.evidence_sha256},
        bind=[row],
    )  # fmt: skip
    return row


def get_authorization(session: Session, authorization_id: str) -> Authorization | None:
    return session.get(Authorization, authorization_id)


def revoke(session: Session, row: Authorization, *, actor: str) -> Authorization:
    """Set `revoked_at` (authorizations are never deleted); revoking twice keeps the first time."""
    from parkcredit.store.tables import utcnow

    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = utcnow(), actor
        audit.append(
            session,
            actor,
            "authorization.revoke",
            "authorization",
            row.id,
            {"uscc": row.uscc, "bank": row.bank},
            bind=[row],
        )
    return row


def authorization_in_force(
    session: Session, *, uscc: str, bank: str, product: str, today: dt.date
) -> Authorization | None:
    """An authorization of `uscc` for `bank` and `product` valid today and not revoked, or None."""
    q = select(Authorization).where(
        Authorization.uscc == uscc,
        Authorization.bank == bank,
        Authorization.revoked_at.is_(None),
        Authorization.valid_from <= today,
        Authorization.valid_to >= today,
    )
    return next((a for a in session.scalars(q) if product in a.products), None)


def authorizations_of(session: Session, *, uscc: str, limit: int = 500) -> list[Authorization]:
    """The enterprise's authorizations (in force or not), newest first (issue 15: the enterprise's own view)."""
    q = select(Authorization).where(Authorization.uscc == uscc).order_by(Authorization.created_at.desc())
    return list(session.scalars(q.limit(limit)))


def queries_about(session: Session, *, uscc: str, limit: int = 200) -> list[BankQuery]:
    """The banks' queries about one enterprise, newest first (issue 15: which banks queried it and when)."""
    q = select(BankQuery).where(BankQuery.uscc == uscc).order_by(BankQuery.id.desc())
    return list(session.scalars(q.limit(limit)))


def authorizations_in_force(
    session: Session, usccs: list[str], *, bank: str, product: str, today: dt.date, chunk: int = 500
) -> dict[str, Authorization]:
    """`authorization_in_force` of many enterprises at once: uscc -> one authorization in force today."""
    out: dict[str, Authorization] = {}
    for start in range(0, len(usccs), chunk):
        q = select(Authorization).where(
            Authorization.uscc.in_(usccs[start : start + chunk]), Authorization.bank == bank,
            Authorization.revoked_at.is_(None), Authorization.valid_from <= today, Authorization.valid_to >= today,
        )  # fmt: skip
        for a in session.scalars(q):
            if product in a.products:
                out.setdefault(a.uscc, a)
    return out


def authorization_ids_in_force(
    session: Session, usccs: list[str], *, bank: str, product: str, today: dt.date, chunk: int = 500
) -> dict[str, str]:
    """`authorizations_in_force` as uscc -> authorization id (the bank's hot path, issue 18: three Core
    columns instead of ORM rows; the same query and rows, so the same authorization is picked)."""
    out: dict[str, str] = {}
    for start in range(0, len(usccs), chunk):
        q = select(Authorization.id, Authorization.uscc, Authorization.products).where(
            Authorization.uscc.in_(usccs[start : start + chunk]), Authorization.bank == bank,
            Authorization.revoked_at.is_(None), Authorization.valid_from <= today, Authorization.valid_to >= today,
        )  # fmt: skip
        for auth_id, uscc, products in session.execute(q):
            if product in products:
                out.setdefault(uscc, auth_id)
    return out


def authorized_usccs(session: Session, *, bank: str) -> list[str]:
    """Enterprises that authorized `bank`, oldest authorization first."""
    q = select(Authorization.uscc).where(Authorization.bank == bank).order_by(Authorization.created_at)
    return list(session.scalars(q))


def authorized_subquery() -> Any:
    return select(Authorization.uscc)


def log_query(session: Session, **fields: Any) -> BankQuery:
    """Record a bank's query (allowed or refused) and audit it."""
    row = BankQuery(**fields)
    session.add(row)
    session.flush()
    audit.append(
        session, row.key_id, "bank.query", "enterprise", row.uscc,
        {"bank": row.bank, "product": row.product, "allowed": row.allowed, "reason": row.reason,
         "decision_id": row.decision_id, "query_id": row.id},
        bind=[row],
    )  # fmt: skip
    return row


def log_queries(
    session: Session, rows: list[dict[str, Any]], *, key_id: str, bank: str, product: str
) -> list[BankQuery]:
    """Record the lookups of one batch query (issue 14): one row each, bound in ONE audit entry."""
    made = [BankQuery(**fields) for fields in rows]
    session.add_all(made)
    session.flush()
    audit.append(
        session, key_id, "bank.query.batch", "bank", bank,
        {"product": product, "query_ids": [q.id for q in made], "allowed": sum(q.allowed for q in made),
         "refused": sum(not q.allowed for q in made)},
        bind=made,
    )  # fmt: skip
    return made


def queries(
    session: Session, *, bank: str | None, after_id: int = 0, limit: int = 100, newest_first: bool = False,
    offset: int = 0,
) -> list[BankQuery]:  # fmt: skip
    """The query log (of one bank, or all), by id."""
    q = select(BankQuery)
    if newest_first:
        q = q.order_by(BankQuery.id.desc()).offset(offset)
    else:
        q = q.where(BankQuery.id > after_id).order_by(BankQuery.id)
    if bank is not None:
        q = q.where(BankQuery.bank == bank)
    return list(session.scalars(q.limit(limit)))


# ---- the bank's single query, in one statement (issue 18) -------------------------------------------------------
# The eligibility lookup of one enterprise whose stored decision is current reads, today, the key, the
# authorization, the newest snapshot, the newest decision, the rule set in force, the loans, the override, the pool
# and the open disputes: ~10 statements through the ORM. `probe` reads all of it in ONE statement (scalar
# subqueries and joins, the same conditions and orders as `keys.active_fields`, `authorization_ids_in_force`,
# `snapshots.latest_of`, `decisions.latest_refs`, `rulesets.in_force_ref`, `loans.live_positions`,
# `overrides.of_decisions`, `pools.for_product` / `balance`, `loans.pool_outstanding` and
# `disputes.disputed_fields_of`), on a raw DBAPI connection held by the calling thread (`HotReader`): one round
# trip, one statement snapshot, no ORM, no pool checkout or pre-ping per request.

_LIVE_SQL = ", ".join(f"'{s}'" for s in _LIVE)  # constants of store.loans, not input
_SERIOUS_SQL = ", ".join(f"'{s}'" for s in _SERIOUS)
_PRODUCT_IN = {
    "postgresql": "EXISTS (SELECT 1 FROM json_array_elements_text(a.products) AS e(v) WHERE e.v = :product)",
    "sqlite": "EXISTS (SELECT 1 FROM json_each(a.products) AS e WHERE e.value = :product)",
}
_PROBE = """
SELECT k.id, k.role, k.bank, k.holder, k.department, k.uscc, k.revoked_at,
  (SELECT a.id FROM authorizations a
    WHERE a.uscc = :uscc AND a.bank = k.bank AND a.revoked_at IS NULL AND a.valid_from <= :today
      AND a.valid_to >= :today AND {product_in}
    ORDER BY a.id LIMIT 1),
  s.id, s.as_of,
  COALESCE(
    (SELECT r.content_hash FROM ruleset_versions r
      WHERE r.product = :product AND r.status = 'published' AND r.effective_from <= s.as_of
      ORDER BY r.effective_from DESC, r.id DESC LIMIT 1),
    (SELECT r.content_hash FROM ruleset_versions r WHERE r.product = :product AND r.status = 'published'
      ORDER BY r.effective_from, r.id LIMIT 1)),
  d.id, d.snapshot_id, d.ruleset_hash, d.record,
  o.eligible, o.limit_yuan, o.reason_code,
  (SELECT COALESCE(SUM(l.principal_outstanding_yuan), 0) FROM loans l
    WHERE l.uscc = :uscc AND l.product = :product AND l.status IN ({live})),
  (SELECT l.status FROM loans l WHERE l.uscc = :uscc AND l.status IN ({serious}) ORDER BY l.id LIMIT 1),
  p.id, p.leverage, p.per_enterprise_cap_yuan,
  CASE WHEN p.id IS NULL THEN 0 ELSE
    (SELECT COALESCE(SUM(m.amount_yuan), 0) FROM pool_movements m WHERE m.pool_id = p.id) END,
  CASE WHEN p.id IS NULL THEN 0 ELSE
    (SELECT COALESCE(SUM(l.principal_outstanding_yuan), 0) FROM loans l
      WHERE l.pool_id = p.id AND l.status IN ({live})) END,
  (SELECT COUNT(*) FROM disputes x WHERE x.uscc = :uscc AND x.status = 'open')
FROM api_keys k
LEFT JOIN snapshots s ON s.id = (SELECT max(s2.id) FROM snapshots s2 WHERE s2.uscc = :uscc)
LEFT JOIN decisions d ON d.id = (SELECT d2.id FROM decisions d2 WHERE d2.uscc = :uscc AND d2.product = :product
                                 ORDER BY d2.created_at DESC, d2.id LIMIT 1)
LEFT JOIN overrides o ON o.id = (SELECT max(o2.id) FROM overrides o2 WHERE o2.decision_id = d.id)
LEFT JOIN risk_pools p ON p.product = :product
WHERE k.key_hash = :key_hash
"""


def probe_sql(dialect: str) -> str:
    """`_PROBE` in the paramstyle of `dialect`'s DBAPI driver (psycopg: %(name)s; sqlite3: :name)."""
    sql = _PROBE.format(product_in=_PRODUCT_IN[dialect], live=_LIVE_SQL, serious=_SERIOUS_SQL)
    if dialect == "postgresql":
        sql = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)
    return " ".join(sql.split())


@dataclass(frozen=True, slots=True)
class Probe:
    """What `probe` read: the key, and what the bank's query needs about (uscc, product) today."""

    key_id: str
    role: str
    bank: str | None
    holder: str | None
    department: str | None
    key_uscc: str | None
    revoked: bool
    authorization_id: str | None
    snapshot_id: int | None
    as_of: dt.date | None
    ruleset_hash: str | None  # the content hash of the version in force at as_of (None: none stored)
    decision_id: str | None  # the newest decision of (uscc, product) and what the check and summary read of it
    decision_snapshot_id: int | None
    decision_ruleset_hash: str | None
    record: str | None
    override_eligible: bool | None  # the newest override of that decision, if any
    override_limit_yuan: int | None
    override_reason_code: str | None
    outstanding_yuan: int  # live loans under the product, all banks
    serious_status: str | None  # the first loan (any product) at overdue_90 / default / written_off
    pool_id: int | None
    pool_leverage: float | None
    pool_cap_yuan: int | None
    pool_balance_yuan: int
    pool_outstanding_yuan: int
    open_disputes: int


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _probe_of(row: Any) -> Probe | None:
    """`_PROBE`'s row as a `Probe` (None: no key has the hash)."""
    if row is None:
        return None
    return Probe(
        key_id=row[0], role=row[1], bank=row[2], holder=row[3], department=row[4], key_uscc=row[5],
        revoked=row[6] is not None, authorization_id=row[7], snapshot_id=row[8], as_of=_date(row[9]),
        ruleset_hash=row[10], decision_id=row[11], decision_snapshot_id=row[12], decision_ruleset_hash=row[13],
        record=row[14], override_eligible=None if row[15] is None else bool(row[15]),
        override_limit_yuan=None if row[16] is None else int(row[16]), override_reason_code=row[17],
        outstanding_yuan=int(row[18] or 0), serious_status=row[19], pool_id=row[20],
        pool_leverage=None if row[21] is None else float(row[21]),
        pool_cap_yuan=None if row[22] is None else int(row[22]), pool_balance_yuan=int(row[23] or 0),
        pool_outstanding_yuan=int(row[24] or 0), open_disputes=int(row[25] or 0),
    )  # fmt: skip


class HotReader:
    """Raw DBAPI connections of `engine` for `probe`, one per calling thread, kept open (detached from the pool, so
    no checkout or pre-ping per request). A connection that fails is closed and replaced on the next call; the
    caller then takes the ordinary path (nothing was written), which pre-pings and answers 503 if need be."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.sql = probe_sql(self.dialect)
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            fairy = self.engine.raw_connection()
            fairy.detach()  # ours now: the pool neither counts nor resets it
            conn = fairy.dbapi_connection
            assert conn is not None
            if self.dialect == "postgresql":
                conn.rollback()  # the pre-ping's transaction, if any
                conn.autocommit = True  # one statement, its own snapshot: no transaction left open
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                if conn in self._all:
                    self._all.remove(conn)
            with contextlib.suppress(Exception):  # already broken
                conn.close()

    def probe(self, *, key_hash: str, uscc: str, product: str, today: dt.date) -> Probe | None:
        """The row of `_PROBE`, or None when no key has `key_hash`. Raises what the driver raises (the connection
        is dropped first)."""
        params = {"key_hash": key_hash, "uscc": uscc, "product": product,
                  "today": today if self.dialect == "postgresql" else today.isoformat()}  # fmt: skip
        try:
            cur = self._connection().cursor()
            try:
                cur.execute(self.sql, params)
                row = cur.fetchone()
            finally:
                cur.close()
        except BaseException:
            self._drop()
            raise
        return _probe_of(row)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):  # closing at shutdown
                conn.close()


class AsyncHotReader:
    """`HotReader.probe` for the event loop (PostgreSQL: psycopg's `AsyncConnection`, autocommit, kept open): the
    fast path awaits the statement instead of handing the request to a thread and back (two thread switches and
    the GIL's hand-offs a query). Used from one event loop; a connection that fails is closed and replaced on the
    next call (the caller then takes the ordinary path, as with `HotReader`)."""

    def __init__(self, engine: Engine, *, connections: int = 4) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        self._connect = (tuple(args), {"connect_timeout": 5, **kwargs, "autocommit": True})
        self.sql = probe_sql("postgresql")
        self._idle: list[Any] = []
        # at most `connections` open (probes at once), as `HotReader`'s threads bound it: a burst waits for a
        # connection rather than opening one per request (PostgreSQL's max_connections). The semaphore belongs to
        # the loop it was made on; a new loop (a test client started again) gets a new one once nothing is busy.
        self._limit, self._busy = connections, 0
        self._slots: tuple[Any, asyncio.Semaphore] | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or (self._slots[0] is not loop and not self._busy):
            self._slots = (loop, asyncio.Semaphore(self._limit))
        return self._slots[1]

    async def probe(self, *, key_hash: str, uscc: str, product: str, today: dt.date) -> Probe | None:
        import psycopg

        params = {"key_hash": key_hash, "uscc": uscc, "product": product, "today": today}
        args, kwargs = self._connect
        async with self._semaphore():
            self._busy += 1
            try:
                conn = self._idle.pop() if self._idle else await psycopg.AsyncConnection.connect(*args, **kwargs)
                try:
                    cur = await conn.execute(self.sql, params)
                    row = await cur.fetchone()
                except BaseException:
                    _finish(conn)
                    raise
                self._idle.append(conn)
            finally:
                self._busy -= 1
        return _probe_of(row)

    def close(self) -> None:
        conns, self._idle = self._idle, []
        for conn in conns:
            _finish(conn)


def _finish(conn: Any) -> None:
    """Close an async connection from synchronous code (at shutdown, or once it failed): its socket, now."""
    with contextlib.suppress(Exception):
        conn.pgconn.finish()


_BQ_COLUMNS = ("id", "bank", "key_id", "uscc", "product", "allowed", "reason", "authorization_id", "decision_id",
               "created_at")  # fmt: skip


class QueryLogStore:
    """The group-commit writer's own connection (raw DBAPI, held open, detached from the pool): `write` records
    several single bank queries in ONE transaction — one row and one `bank.query` entry binding it each, as
    `log_query` writes them (the entries made by `audit.chain_entries`; the values converted by the columns' own
    SQLAlchemy bind processors) — without a Session, one statement per table. A failure rolls the transaction
    back (a broken connection is closed and replaced on the next call) and is raised as SQLAlchemy's exception
    (`OperationalError` …)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect
        self.dialect = dialect.name
        self._conn: Any = None
        bq, au = BankQuery.__table__, AuditEntry.__table__
        assert isinstance(bq, Table) and isinstance(au, Table)
        self._procs = {(t.name, c.name): c.type.dialect_impl(dialect).bind_processor(dialect)
                       for t in (bq, au) for c in t.columns}  # fmt: skip
        mark = "%s" if self.dialect == "postgresql" else "?"
        self._row = "(" + ", ".join([mark] * len(_BQ_COLUMNS)) + ")"
        self._row_no_id = "(" + ", ".join([mark] * (len(_BQ_COLUMNS) - 1)) + ")"
        self._entry = "(" + ", ".join([mark] * len(audit.ENTRY_COLUMNS)) + ")"
        self._mark = mark

    def _value(self, table: str, column: str, value: Any) -> Any:
        proc = self._procs[(table, column)]
        return value if proc is None or value is None else proc(value)

    def _connection(self) -> Any:
        if self._conn is None:
            fairy = self.engine.raw_connection()
            fairy.detach()
            conn = fairy.dbapi_connection
            assert conn is not None
            if self.dialect == "postgresql":
                conn.rollback()
            self._conn = conn
        return self._conn

    def write(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert `rows` (`BankQuery` columns) and their `bank.query` entries, commit; the rows' ids in order.

        As `log_query`: the rows first, then the chain lock, the head, the entries, the commit. Everything that
        does not depend on the chain head (the rows' digests, the payloads, their hashes and JSON) is made before
        the lock is taken, so PostgreSQL's advisory lock — held to the commit, and every writer of the chain in
        every worker waits for it — covers the head, the links, one insert and the commit only.

        A held connection the database dropped while it was idle (a restart, a network cut) fails the first
        round trip, before anything can have been committed: it is replaced and the batch sent once more
        (SQLAlchemy's pool pre-pings for the same reason). A failure at the commit is never retried."""
        fresh = self._conn is None
        try:
            return self._write(rows)
        except DBAPIError as exc:
            if fresh or not exc.connection_invalidated:
                raise
        return self._write(rows)

    def _write(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        conn = self._connection()
        cur = conn.cursor()
        pg = self.dialect == "postgresql"
        statement = "INSERT INTO bank_queries"
        try:
            values = self._values(rows)
            if pg:  # the rows first, ids returned; nothing locked yet (the rows are invisible until the commit)
                named = _BQ_COLUMNS[1:]
                cur.execute(f"INSERT INTO bank_queries ({', '.join(named)}) VALUES "
                            + ", ".join([self._row_no_id] * len(values)) + f" RETURNING id, {', '.join(named)}",
                            [self._value("bank_queries", c, v[c]) for v in values for c in named])  # fmt: skip
                # RETURNING's order is not promised: each id goes to a row with the values it was returned with
                # (rows with equal values are interchangeable: only their ids differ)
                slots: dict[tuple[Any, ...], list[int]] = {}
                for i, v in enumerate(values):
                    slots.setdefault(tuple(v[c] for c in named), []).append(i)
                for r in cur.fetchall():
                    values[slots[tuple(r[1:])].pop(0)]["id"] = int(r[0])
            else:  # one writer at a time (the database's write lock, as every write transaction: store.db)
                statement = "BEGIN IMMEDIATE"
                cur.execute("BEGIN IMMEDIATE")
                cur.execute("SELECT COALESCE(MAX(id), 0) FROM bank_queries")
                top = int(cur.fetchone()[0])
                for i, v in enumerate(values, start=1):
                    v["id"] = top + i
                statement = "INSERT INTO bank_queries"
                cur.execute(f"INSERT INTO bank_queries ({', '.join(_BQ_COLUMNS)}) VALUES "
                            + ", ".join([self._row] * len(values)),
                            [self._value("bank_queries", c, v[c]) for v in values for c in _BQ_COLUMNS])  # fmt: skip
            prepared = audit.prepare_entries(self._specs(values))  # digests, payloads: before the chain lock
            payloads = [self._value("audit_log", "payload", p.payload) for p in prepared]
            statement = "SELECT audit_log head"
            if pg:  # held from here to the commit: two statements, the entries' links, one insert, the commit
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (audit.CHAIN_LOCK_KEY,))
            cur.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")  # read once the lock is held
            head = cur.fetchone()
            made = audit.link_values(int(head[0]), head[1], prepared) if head else audit.link_values(
                0, audit.GENESIS, prepared)  # fmt: skip
            params = [v for e, payload in zip(made, payloads, strict=True) for v in (*e[:6], payload, *e[7:])]
            statement = "INSERT INTO audit_log"
            cur.execute(f"INSERT INTO audit_log ({', '.join(audit.ENTRY_COLUMNS)}) VALUES "
                        + ", ".join([self._entry] * len(made)), params)  # fmt: skip
            statement = "COMMIT"
            if pg:
                conn.commit()
            else:
                cur.execute("COMMIT")
            return [int(v["id"]) for v in values]
        except BaseException as exc:
            usable = self._abort()
            dbapi_error = self.engine.dialect.loaded_dbapi.Error
            if isinstance(exc, dbapi_error):
                # invalidated: the connection was lost before the commit was sent (safe to send again)
                lost = not usable and statement != "COMMIT"
                raise DBAPIError.instance(statement, None, exc, dbapi_error, connection_invalidated=lost) from exc
            raise
        finally:
            with contextlib.suppress(Exception):
                cur.close()

    @staticmethod
    def _values(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The rows' column values (the id comes from the database)."""
        return [{"bank": r["bank"], "key_id": r["key_id"], "uscc": r["uscc"], "product": r["product"],
                 "allowed": bool(r["allowed"]), "reason": r["reason"], "authorization_id": r.get("authorization_id"),
                 "decision_id": r.get("decision_id"), "created_at": utcnow()} for r in rows]  # fmt: skip

    @staticmethod
    def _specs(values: list[dict[str, Any]]) -> list[audit.EntrySpec]:
        """Each row's entry: the payload `log_query` writes, binding the row (its digest, id included)."""
        return [(v["key_id"], "bank.query", "enterprise", v["uscc"],
                 {"bank": v["bank"], "product": v["product"], "allowed": v["allowed"], "reason": v["reason"],
                  "decision_id": v["decision_id"], "query_id": v["id"]},
                 [binding.ref_values("bank_queries", v["id"], v)]) for v in values]  # fmt: skip

    def _abort(self) -> bool:
        """Roll back; whether the connection is still usable (a broken one is closed: a new one next time)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return False
        try:
            if self.dialect == "postgresql":
                conn.rollback()
            elif conn.in_transaction:
                conn.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - broken
            with contextlib.suppress(Exception):
                conn.close()
            return False
        self._conn = conn  # rolled back: still usable
        return True

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
