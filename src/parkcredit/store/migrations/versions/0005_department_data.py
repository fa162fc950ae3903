"""department data (issue 13): imports, per-field provenance

`imports` records every stored import of a file (its sha256, so an identical file sent again is
recognised as a repeat); `snapshot_provenance` holds, beside each snapshot, where each of its fields
came from (department, import, file, the department's as-of date). Snapshots themselves are
unchanged (their rows and audit bindings stay as they were).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("strict", sa.Boolean(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_imports_sha_department", "imports", ["file_sha256", "department"])
    op.create_index("ix_imports_department", "imports", ["department"])
    op.create_table(
        "snapshot_provenance",
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("import_id", sa.String(length=36), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id"),
    )
    op.create_index("ix_snapshot_provenance_import_id", "snapshot_provenance", ["import_id"])


def downgrade() -> None:
    op.drop_index("ix_snapshot_provenance_import_id", table_name="snapshot_provenance")
    op.drop_table("snapshot_provenance")
    op.drop_index("ix_imports_department", table_name="imports")
    op.drop_index("ix_imports_sha_department", table_name="imports")
    op.drop_table("imports")
