"""bank lifecycle (issue 14): loans and events, alerts, webhooks, risk pools

Reserved in the chain so the work of several issues can land in any order; filled by that work.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
