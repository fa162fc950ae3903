"""hardening (issue 16): job leases, web sessions

`jobs` get the lease of the worker running them (`worker_id`, `heartbeat_at`, `lease_until`): a
worker renews its lease while it runs a job, so a job whose lease ran out lost its worker (kill -9,
power cut) and is marked failed at the next start. `web_sessions` hold the sign-ins of the web
pages: the sha256 of a random token (the cookie holds the token, never the API key), the key it
stands for, when it expires and when it was revoked (sign-out).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (nullable): no batch copy of a table on SQLite
    op.add_column("jobs", sa.Column("worker_id", sa.String(length=120), nullable=True))
    op.add_column("jobs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("jobs", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=40), sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
    )


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_index("ix_jobs_status", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker_id")
