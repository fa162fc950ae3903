"""Who may see what: enterprises' authorizations of banks, and the log of every bank query."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table, insert, select
from sqlalchemy.orm import Session

from parkcredit.store import audit, binding
from parkcredit.store.loans import LIVE as _LIVE
from parkcredit.store.loans import SERIOUS as _SERIOUS
from parkcredit.store.tables import Authorization, BankQuery, utcnow

__all__ = [
    "HotReader", "Probe", "add_authorization", "authorization_ids_in_force", "authorization_in_force",
    "authorizations_in_force", "get_authorization", "log_queries", "log_query", "log_query_rows", "probe_sql",
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

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):  # closing at shutdown
                conn.close()


def log_query_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Record several single bank queries in the caller's transaction (the group commit of
    `app.access.QueryLogWriter`): one `bank_queries` row each and, as `log_query` writes it, one `bank.query`
    audit entry each binding its row — Core inserts, one statement per table. Returns the rows' ids in order."""
    table = BankQuery.__table__
    assert isinstance(table, Table)
    values = [{"bank": r["bank"], "key_id": r["key_id"], "uscc": r["uscc"], "product": r["product"],
               "allowed": bool(r["allowed"]), "reason": r["reason"], "authorization_id": r.get("authorization_id"),
               "decision_id": r.get("decision_id"), "created_at": utcnow()} for r in rows]  # fmt: skip
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = [int(i) for i in session.execute(stmt, values).scalars()]
    entries = []
    for row_id, v in zip(ids, values, strict=True):
        full = {"id": row_id, **v}
        entries.append((v["key_id"], "bank.query", "enterprise", v["uscc"],
                        {"bank": v["bank"], "product": v["product"], "allowed": v["allowed"], "reason": v["reason"],
                         "decision_id": v["decision_id"], "query_id": row_id},
                        [binding.ref_values(table.name, row_id, full)]))  # fmt: skip
    audit.append_many(session, entries)
    return ids
