"""snapshots: the newest snapshot of one enterprise found through an index on (uscc, id) (issue 18)

"The newest snapshot of `uscc`" (`max(id) … WHERE uscc = …`, or `ORDER BY id DESC LIMIT 1`) is on every
bank query, every decision and every import. With an index on `uscc` alone, PostgreSQL may walk the primary
key backwards and filter on `uscc` — after a bulk import, with its statistics not yet refreshed, it did:
15,597 rows read and 3,212 buffers for one lookup in 20,000 snapshots (2 ms of a bank query's 2.3 ms). An
index on (uscc, id) answers it with one probe on both databases; it replaces the one on `uscc` (its prefix).
No row changes, so no binding changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_snapshots_uscc_id", "snapshots", ["uscc", "id"], unique=False)
    op.drop_index("ix_snapshots_uscc", table_name="snapshots")


def downgrade() -> None:
    op.create_index("ix_snapshots_uscc", "snapshots", ["uscc"], unique=False)
    op.drop_index("ix_snapshots_uscc_id", table_name="snapshots")
