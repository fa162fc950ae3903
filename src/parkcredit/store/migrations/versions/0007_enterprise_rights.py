"""enterprise rights (issue 15): disputes, credit events, reviews

Adds `authorizations.granted_by` (enterprise | committee_on_paper; existing rows were all recorded
by the committee from a paper 授权书; they are bound again in the audit chain, their digest covering the
new column) and three tables: `disputes` (异议 with the 20-day clock),
`credit_events` (negative records and their repair) and `review_requests` (human review of a refusal).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN with a server default (see 0002 on why not a batch copy on SQLite)
    op.add_column(
        "authorizations",
        sa.Column("granted_by", sa.String(length=30), nullable=False, server_default="committee_on_paper"),
    )
    # a row's digest covers all its columns: the new column changes the digest of every stored
    # authorization, so bind them again (as 0003 bound the rows stored before binding existed)
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT 1 FROM authorizations LIMIT 1")).first() is not None:
        from sqlalchemy.orm import Session

        from parkcredit.store import binding

        with Session(bind=conn) as session:
            binding.rebind(session, ["authorizations"], actor="migration",
                           reason="revision 0007 added authorizations.granted_by")  # fmt: skip
            session.flush()
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("recorded_value", sa.JSON(), nullable=True),
        sa.Column("claimed_value", sa.JSON(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("evidence_ref", sa.String(length=500), nullable=False),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("filed_as", sa.String(length=30), nullable=False),
        sa.Column("filed_by", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("corrected_value", sa.JSON(), nullable=True),
        sa.Column("resolved_by", sa.String(length=40), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("correction_snapshot_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshots.id"]),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"]),
        sa.ForeignKeyConstraint(["correction_snapshot_id"], ["snapshots.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_disputes_uscc", "disputes", ["uscc"], unique=False)
    op.create_index("ix_disputes_status_due_at", "disputes", ["status", "due_at"], unique=False)
    op.create_index(
        "uq_disputes_open_field", "disputes", ["uscc", "field"], unique=True,
        sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"),
    )  # fmt: skip
    op.create_table(
        "credit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=20), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("amount_yuan", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("min_disclosure_months", sa.Integer(), nullable=False),
        sa.Column("repaired_on", sa.Date(), nullable=True),
        sa.Column("repair_evidence_ref", sa.String(length=500), nullable=True),
        sa.Column("repair_evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("recorded_by", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("repaired_by", sa.String(length=40), nullable=True),
        sa.Column("repaired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_credit_events_uscc", "credit_events", ["uscc"], unique=False)
    op.create_table(
        "review_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("product", sa.String(length=50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_as", sa.String(length=30), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("override_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"]),
        sa.ForeignKeyConstraint(["override_id"], ["overrides.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_requests_uscc", "review_requests", ["uscc"], unique=False)
    op.create_index("ix_review_requests_decision_id", "review_requests", ["decision_id"], unique=False)
    op.create_index(
        "uq_review_requests_pending", "review_requests", ["decision_id"], unique=True,
        sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_review_requests_pending", table_name="review_requests")
    op.drop_index("ix_review_requests_decision_id", table_name="review_requests")
    op.drop_index("ix_review_requests_uscc", table_name="review_requests")
    op.drop_table("review_requests")
    op.drop_index("ix_credit_events_uscc", table_name="credit_events")
    op.drop_table("credit_events")
    op.drop_index("uq_disputes_open_field", table_name="disputes")
    op.drop_index("ix_disputes_status_due_at", table_name="disputes")
    op.drop_index("ix_disputes_uscc", table_name="disputes")
    op.drop_table("disputes")
    with op.batch_alter_table("authorizations") as batch:
        batch.drop_column("granted_by")
