"""department data (issue 13): imports, per-field provenance

Reserved in the chain so the work of several issues can land in any order; filled by that work.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
