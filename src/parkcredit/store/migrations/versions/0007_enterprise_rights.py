"""enterprise rights (issue 15): disputes, credit events, reviews

Reserved in the chain so the work of several issues can land in any order; filled by that work.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
