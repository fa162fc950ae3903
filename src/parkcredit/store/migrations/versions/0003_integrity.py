"""integrity (issue 16): key holders and scopes, signed audit checkpoints, the lifecycle in the database

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN: see 0002 on why not a batch copy on SQLite
    op.add_column("api_keys", sa.Column("holder", sa.String(length=200), nullable=False, server_default=""))
    op.add_column("api_keys", sa.Column("department", sa.String(length=40), nullable=True))
    op.add_column("api_keys", sa.Column("uscc", sa.String(length=18), nullable=True))


def downgrade() -> None:
    for col in ("uscc", "department", "holder"):
        op.drop_column("api_keys", col)
