"""PostgreSQL: the large columns compressed with lz4, not pglz (issue 18)

A decision's record is ~8.5 KB, a snapshot's profile and provenance ~2 KB each, a batch chunk's audit
payload names thousands of decisions: PostgreSQL compresses each such value (TOAST) when it is written, by
default with pglz. Measured on this 2-core machine (`EXPLAIN (ANALYZE, WAL)` of an INSERT of 5,000 stored
decisions, PostgreSQL 15): 1,142 ms with pglz, 743 ms with lz4, 1,141 ms with no compression at all (twice
the WAL). The PostgreSQL server shares the machine's cores with the service, so that is the batch's time too.

Only values written from now on are compressed the new way; reading is the same either way. Nothing on
SQLite, on PostgreSQL before 14 (no per-column compression), or on a server built without lz4 (the
statement is refused then, and the columns keep pglz). No value changes, so no binding changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (("decisions", "record"), ("snapshots", "profile"), ("snapshot_provenance", "provenance"),
           ("audit_log", "payload"))  # fmt: skip
log = logging.getLogger("alembic.runtime.migration")


def _compress(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or (bind.dialect.server_version_info or (0,)) < (14,):
        return
    bind.exec_driver_sql("SAVEPOINT parkcredit_lz4")
    try:
        for table, column in COLUMNS:
            bind.exec_driver_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION {method}')
    except DBAPIError as exc:  # e.g. a server built without lz4: keep its default
        bind.exec_driver_sql("ROLLBACK TO SAVEPOINT parkcredit_lz4")
        log.warning("column compression %s not set: %s", method, str(exc.orig).strip())
    else:
        bind.exec_driver_sql("RELEASE SAVEPOINT parkcredit_lz4")


def upgrade() -> None:
    _compress("lz4")


def downgrade() -> None:
    _compress("default")
