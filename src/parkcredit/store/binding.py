"""Audit binding of fact rows: every row that carries a fact has its content hash in the chain.

A row's digest is the sha256 of the canonical JSON of all its columns (values normalised so a
database round trip gives the same text: datetimes as UTC ISO text, dates as ISO text). The
audit entry that creates or changes a row lists `{"table", "id", "sha256"}` in its payload's
`rows` (`audit.append(..., bind=[row, ...])`), so the chain — itself anchored by signed
checkpoints — vouches for each row. `parkcredit audit verify` recomputes every row's digest and
compares it with the newest entry that bound it: an edited row, a deleted row and a row that no
entry bound (inserted behind the service's back) are each reported by table and id.

Every table is bound unless it is named in `EXEMPT` with the reason; a test holds new tables to
that, so a new kind of fact (loans, disputes, …) is bound by being appended with `bind=`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, inspect

from parkcredit.store.tables import Base

__all__ = ["EXEMPT", "bound_tables", "digest", "digest_values", "ref", "ref_values"]

EXEMPT: dict[str, str] = {
    "audit_log": "the chain itself",
    "alembic_version": "Alembic's own bookkeeping",
    "idempotency_keys": "a cache of responses, not a fact (a lost row only repeats a request's effect check)",
    "jobs": "progress of work; the decisions a job stores are bound one by one",
    "bank_queries": "a high-volume read log; each refusal or answer is also visible to the bank itself",
}


def _norm(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # naive values are UTC (SQLite keeps no offset)
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def digest_values(values: Mapping[str, Any]) -> str:
    """The digest of one row given as {column name: value} (every column of the table)."""
    body = {k: _norm(v) for k, v in values.items()}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _table(row: Base) -> Table:
    table = row.__table__
    assert isinstance(table, Table)
    return table


def digest(row: Base) -> str:
    """The digest of an ORM row (flushed: its id and defaults are set)."""
    mapper = inspect(type(row))
    values = {col.name: getattr(row, mapper.get_property_by_column(col).key) for col in _table(row).columns}
    return digest_values(values)


def ref_values(table: str, row_id: Any, values: Mapping[str, Any]) -> dict[str, str]:
    """The binding of a row inserted without the ORM (bulk paths)."""
    return {"table": table, "id": str(row_id), "sha256": digest_values(values)}


def ref(row: Base) -> dict[str, str]:
    """The binding of an ORM row: its table, primary key and digest."""
    table = _table(row)
    pk = ",".join(str(getattr(row, inspect(type(row)).get_property_by_column(c).key)) for c in table.primary_key)
    return {"table": table.name, "id": pk, "sha256": digest(row)}


def bound_tables(tables: Iterable[Table] | None = None) -> list[Table]:
    """The tables whose rows must be bound (all but `EXEMPT`)."""
    return [t for t in (tables or Base.metadata.sorted_tables) if t.name not in EXEMPT]
