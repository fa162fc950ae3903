"""bank lifecycle (issue 14): loans and events, alerts, webhooks, risk pools

New tables only: loans (checked against an authorization, a decision and the shared exposure) and
their events, declined applications, early-warning alerts, webhooks with their delivery queue and
attempt log, risk-compensation pools and their movements, and the whitelist change log behind the
whitelist cursor. `loan_outcomes` is kept as it was (append-only, retained): its rows were stored
unchecked, so they are not copied into `loans` and no figure reads them any more; `POST
/v1/outcomes` now writes a checked loan (docs/banks.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "risk_pools",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("product", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("share_pool_bp", sa.Integer(), nullable=False),
        sa.Column("share_bank_bp", sa.Integer(), nullable=False),
        sa.Column("share_guarantor_bp", sa.Integer(), nullable=False),
        sa.Column("leverage", sa.Float(), nullable=False),
        sa.Column("per_enterprise_cap_yuan", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.UniqueConstraint("product"),
    )
    op.create_table(
        "loans",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(length=100), nullable=False),
        sa.Column("loan_ref", sa.String(length=100), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("product", sa.String(length=50), nullable=False),
        sa.Column("decision_id", sa.String(length=36), sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("band", sa.String(length=20), nullable=False),
        sa.Column("amount_yuan", sa.Integer(), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), sa.ForeignKey("risk_pools.id"), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("principal_outstanding_yuan", sa.Integer(), nullable=False),
        sa.Column("status_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.UniqueConstraint("bank", "loan_ref", name="uq_loans_bank_ref"),
    )
    op.create_index("ix_loans_bank", "loans", ["bank"])
    op.create_index("ix_loans_uscc_product", "loans", ["uscc", "product"])
    op.create_table(
        "loan_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("principal_outstanding_yuan", sa.Integer(), nullable=False),
        sa.Column("recovered_yuan", sa.Integer(), nullable=False),
        sa.Column("event_on", sa.Date(), nullable=False),
        sa.Column("reported_by", sa.String(length=40), nullable=False),
        sa.Column("reported_at", _tz(), nullable=False),
    )
    op.create_index("ix_loan_events_loan_id", "loan_events", ["loan_id"])
    op.create_table(
        "loan_declines",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(length=100), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("product", sa.String(length=50), nullable=False),
        sa.Column("decision_id", sa.String(length=36), sa.ForeignKey("decisions.id"), nullable=True),
        sa.Column("reason_code", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("declined_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_index("ix_loan_declines_bank", "loan_declines", ["bank"])
    op.create_index("ix_loan_declines_uscc", "loan_declines", ["uscc"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(length=100), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("product", sa.String(length=50), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("from_value", sa.String(length=200), nullable=True),
        sa.Column("to_value", sa.String(length=200), nullable=True),
        sa.Column("source_department", sa.String(length=40), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshots.id"), nullable=True),
        sa.Column("decision_id", sa.String(length=36), sa.ForeignKey("decisions.id"), nullable=True),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loans.id"), nullable=True),
        sa.Column("zh", sa.Text(), nullable=False),
        sa.Column("en", sa.Text(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_index("ix_alerts_bank_id", "alerts", ["bank", "id"])
    op.create_index("ix_alerts_uscc", "alerts", ["uscc"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("revoked_at", _tz(), nullable=True),
    )
    op.create_index("ix_webhooks_bank", "webhooks", ["bank"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("webhook_id", sa.Integer(), sa.ForeignKey("webhooks.id"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _tz(), nullable=False),
        sa.Column("delivered_at", _tz(), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("webhook_deliveries.id"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", _tz(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])
    op.create_table(
        "pool_movements",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("pool_id", sa.Integer(), sa.ForeignKey("risk_pools.id"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_yuan", sa.Integer(), nullable=False),
        sa.Column("balance_after_yuan", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loans.id"), nullable=True),
        sa.Column("bank", sa.String(length=100), nullable=True),
        sa.Column("basis_yuan", sa.Integer(), nullable=False),
        sa.Column("bank_share_yuan", sa.Integer(), nullable=False),
        sa.Column("guarantor_share_yuan", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_index("ix_pool_movements_pool_id", "pool_movements", ["pool_id"])
    op.create_table(
        "whitelist_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=50), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("limit_available_yuan", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(length=20), nullable=True),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_index("ix_whitelist_changes_bank_product", "whitelist_changes", ["bank", "product", "id"])


def downgrade() -> None:
    for table in ("whitelist_changes", "pool_movements", "webhook_attempts", "webhook_deliveries", "webhooks",
                  "alerts", "loan_declines", "loan_events", "loans", "risk_pools"):  # fmt: skip
        op.drop_table(table)
