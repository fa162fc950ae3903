"""Audit binding of fact rows: every row that carries a fact has its content hash in the chain.

A row's digest is the sha256 of the canonical JSON of its non-null columns (values normalised so
a database round trip gives the same text: datetimes as UTC ISO text, dates as ISO text). Null
columns are left out, so a migration that adds a nullable column (no server default) leaves every
existing binding valid; one that fills a column for existing rows must re-bind them (`rebind`). The
audit entry that creates or changes a row lists `{"table", "id", "sha256"}` in its payload's
`rows` (`audit.append(..., bind=[row, ...])`), so the chain — itself anchored by signed
checkpoints — vouches for each row. `parkcredit audit verify` recomputes every row's digest and
compares it with the newest entry that bound it: an edited row, a deleted row and a row that no
entry bound (inserted behind the service's back) are each reported by table and id.

A long text column named in `HASHED` (a decision's ~8 KB record) enters the digest as
`"sha256:<hex of its UTF-8 text>"` rather than as the text: the row stays bound to every byte of it, and
a bulk writer that hashes the text anyway (for `record_sha256`) no longer escapes and hashes 8 KB a second
time. That is digest *form* 2, and its bindings say so (`"form": 2`); a binding without `form` (every
entry written before form 2) is checked in form 1, the whole text — so old entries stay valid and no
row had to be re-bound.

Every table is bound unless it is named in `EXEMPT` with the reason. Every test that goes through
the app ends with `audit verify` (the `client` fixture of tests/dbsupport.py), so a new kind of fact
(loans, disputes, …) written without `bind=` fails its own tests as `unbound`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.orm import Session

from parkcredit.store import canonjson
from parkcredit.store.tables import Base

__all__ = [
    "EXEMPT",
    "FORMS",
    "HASHED",
    "form_of",
    "bound_tables",
    "deleted",
    "digest",
    "digest_values",
    "hashed_text",
    "bulk_ref",
    "inconsistency",
    "matches",
    "normalised",
    "rebind",
    "ref",
    "ref_values",
]

EXEMPT: dict[str, str] = {
    "audit_log": "the chain itself",
    "alembic_version": "Alembic's own bookkeeping",
    "idempotency_keys": "a cache of responses, not a fact (a lost row only repeats a request's effect check)",
    "jobs": "progress of work; the decisions a job stores are bound by its chunks' entries",
    # issue 14: the webhook queue and its HTTP log carry bound alerts; the whitelist log is derived
    "webhook_deliveries": "a delivery queue (pending/delivered/failed) of alerts that are bound themselves",
    "webhook_attempts": "an operational log of HTTP calls to the banks' receivers, kept but not a fact",
    "whitelist_changes": "derived from bound decisions, authorizations and loans: the cursor state of /v1/whitelist",
}


# columns that enter a row's digest by their sha256 (digest form 2; see the module docstring)
HASHED: dict[str, tuple[str, ...]] = {"decisions": ("record",)}
FORMS = (1, 2)


def form_of(table: str) -> int:
    """The digest form new bindings of `table` use: 2 where it has a `HASHED` column, else 1."""
    return 2 if table in HASHED else 1


def hashed_text(text: str | bytes) -> str:
    """A `HASHED` column's value as the form-2 digest sees it."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def normalised(value: Any) -> Any:
    """A column value as the digest sees it (datetimes as naive UTC ISO text, dates as ISO text)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # naive values are UTC (SQLite keeps no offset)
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def digest_values(values: Mapping[Any, Any], *, table: str | None = None, form: int = 1) -> str:
    """The digest of one row given as {column name: value} (every column of the table); in form 2 the
    `HASHED` columns of `table` enter as their sha256."""
    body = {k: normalised(v) for k, v in values.items() if v is not None}
    if form == 2:
        for name in HASHED.get(table or "", ()):
            if name in body:
                body[name] = hashed_text(body[name])
    elif form != 1:
        raise ValueError(f"unknown digest form {form!r}")
    return hashlib.sha256(canonjson.dumps(body)).hexdigest()


def matches(values: Mapping[Any, Any], table: str, sha256: str, form: Any) -> bool:
    """Whether a row read back still has the digest a binding gave it (in that binding's form; a form this
    code does not know — an edited payload — never matches)."""
    return form in FORMS and digest_values(values, table=table, form=form) == sha256


def _table(row: Base) -> Table:
    table = row.__table__
    assert isinstance(table, Table)
    return table


def digest(row: Base) -> str:
    """The digest of an ORM row (flushed: its id and defaults are set), in its table's current form."""
    mapper = inspect(type(row))
    table = _table(row)
    values = {col.name: getattr(row, mapper.get_property_by_column(col).key) for col in table.columns}
    return digest_values(values, table=table.name, form=form_of(table.name))


def _ref(table: str, row_id: str, sha256: str) -> dict[str, Any]:
    form = form_of(table)
    return {"table": table, "id": row_id, "sha256": sha256, **({"form": form} if form != 1 else {})}


def ref_values(table: str, row_id: Any, values: Mapping[Any, Any]) -> dict[str, Any]:
    """The binding of a row inserted without the ORM (bulk paths)."""
    return _ref(table, str(row_id), digest_values(values, table=table, form=form_of(table)))


def ref(row: Base) -> dict[str, Any]:
    """The binding of an ORM row: its table, primary key, digest (and digest form, if not 1)."""
    table = _table(row)
    pk = ",".join(str(getattr(row, inspect(type(row)).get_property_by_column(c).key)) for c in table.primary_key)
    return _ref(table.name, pk, digest(row))


def bulk_ref(table: str, row_id: str, sha256: str) -> dict[str, Any]:
    """The binding of a row whose digest a bulk writer computed (in `form_of(table)`)."""
    return _ref(table, row_id, sha256)


def deleted(table: str, row_id: Any) -> dict[str, str | None]:
    """The binding of a row deleted on purpose (an erasure): `verify` then expects it absent."""
    return {"table": table, "id": str(row_id), "sha256": None}


def bound_tables(tables: Iterable[Table] | None = None) -> list[Table]:
    """The tables whose rows must be bound (all but `EXEMPT`)."""
    return [t for t in (tables or Base.metadata.sorted_tables) if t.name not in EXEMPT]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(obj: Any) -> str:
    return canonjson.text(obj)


def _decision_issue(row: Mapping[Any, Any]) -> str | None:
    text = row["record"] or ""
    if _sha(text) != row["record_sha256"]:
        return "record_sha256 is not the sha256 of the stored record"
    try:
        rec = json.loads(text)
    except ValueError:
        return "the stored record is not JSON"
    valid_until = row["valid_until"].isoformat() if row["valid_until"] is not None else None
    pairs = {
        "uscc": (row["uscc"], rec.get("uscc")),
        "product": (row["product"], rec.get("product")),
        "snapshot_id": (row["snapshot_id"], rec.get("snapshot_id")),
        "eligible": (bool(row["eligible"]), bool(rec.get("eligible"))),
        "limit_yuan": (row["limit_yuan"], rec.get("limit_yuan")),
        "band": (row["band"], str(rec.get("band"))),
        "total_score": (row["total_score"], rec.get("total_score")),
        "valid_until": (valid_until, rec.get("valid_until")),
        "ruleset_hash": (row["ruleset_hash"], (rec.get("ruleset") or {}).get("hash")),
    }
    bad = [k for k, (col, in_record) in pairs.items() if col != in_record]
    return f"column(s) {', '.join(bad)} differ from the decision's own record" if bad else None


def _snapshot_issue(row: Mapping[Any, Any]) -> str | None:
    profile = row["profile"] or {}
    if _sha(_canonical(profile)) != row["content_sha256"]:
        return "content_sha256 is not the sha256 of the stored profile"
    as_of = row["as_of"].isoformat() if row["as_of"] is not None else None
    bad = [k for k, col in (("uscc", row["uscc"]), ("name", row["name"]), ("as_of", as_of)) if profile.get(k) != col]
    return f"column(s) {', '.join(bad)} differ from the snapshot's profile" if bad else None


_CONSISTENCY = {"decisions": _decision_issue, "snapshots": _snapshot_issue}


def inconsistency(table: str, row: Mapping[Any, Any]) -> str | None:
    """Why a row's columns (the ones pages read) disagree with the record they came from, or None."""
    check = _CONSISTENCY.get(table)
    return check(row) if check is not None else None


def rebind(session: Session, table_names: Iterable[str], *, actor: str, reason: str, chunk: int = 2000) -> int:
    """Bind every existing row of `table_names` in `audit.rebind` entries (one per chunk); rows bound.

    For rows stored before binding existed, and for a migration that changes stored rows. It vouches
    for the rows as they are now: a change made before it is not detectable afterwards.
    """
    from parkcredit.store import audit  # audit imports this module

    conn = session.connection()
    n = 0
    for name in table_names:
        table = Table(name, MetaData(), autoload_with=conn)
        pk = list(table.primary_key.columns)
        result = conn.execute(select(table).order_by(*pk).execution_options(stream_results=True))
        for part in result.mappings().partitions(chunk):
            refs = [ref_values(name, ",".join(str(r[c.name]) for c in pk), r) for r in part]
            audit.append(session, actor, "audit.rebind", "table", name, {"reason": reason}, bind_refs=refs)
            n += len(part)
    return n
