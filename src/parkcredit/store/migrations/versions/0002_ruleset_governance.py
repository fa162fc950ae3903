"""rule-set lifecycle (draft/approved/published/retired, maker-checker) and override details

Existing `ruleset_versions` rows were stored when a decision first used them: they become
`published`, effective from the `effective_from` written in their own YAML text. Triggers make
an approved, published or retired version immutable in the database too (text, hash, product,
version, effective date; no deletion), beside the check in `store.repo`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import yaml
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FROZEN = ("text", "content_hash", "product", "version", "effective_from")
_MESSAGE = "ruleset_versions: an approved, published or retired rule set is immutable"


def _effective_from(text: str) -> dt.date:
    try:
        value = (yaml.safe_load(text) or {}).get("effective_from")
    except yaml.YAMLError:
        value = None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return dt.date(1970, 1, 1)  # unreadable: in force from the start, as it was before this migration


def upgrade() -> None:
    # plain ADD COLUMN (with a server default where NOT NULL): on SQLite a batch "move and copy" of
    # ruleset_versions would drop a table that decisions reference while foreign keys are enforced
    rs: list[sa.Column[Any]] = [
        sa.Column("status", sa.String(length=20), nullable=False, server_default="published"),
        sa.Column("effective_from", sa.Date(), nullable=False, server_default="1970-01-01"),
        sa.Column("source", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(length=40), nullable=False, server_default="system"),
        sa.Column("approved_by", sa.String(length=40), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=40), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_by", sa.String(length=40), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retire_reason", sa.Text(), nullable=True),
    ]
    for col in rs:
        op.add_column("ruleset_versions", col)
    op.create_index("ix_ruleset_versions_product_status", "ruleset_versions", ["product", "status"], unique=False)

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, text, created_at FROM ruleset_versions")).fetchall()
    for id_, text, created_at in rows:
        conn.execute(
            sa.text(
                "UPDATE ruleset_versions SET status = 'published', effective_from = :eff, source = 'stored on use',"
                " approved_by = 'system', approved_at = :at, published_by = 'system', published_at = :at"
                " WHERE id = :id"
            ),
            {"eff": _effective_from(text), "at": created_at, "id": id_},
        )

    ov: list[sa.Column[Any]] = [
        sa.Column("uscc", sa.String(length=18), nullable=False, server_default=""),
        sa.Column("product", sa.String(length=50), nullable=False, server_default=""),
        sa.Column("reason_code", sa.String(length=40), nullable=False, server_default="OTHER"),
        sa.Column("direction", sa.String(length=20), nullable=False, server_default="unknown"),
        sa.Column("original_eligible", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("original_limit_yuan", sa.Integer(), nullable=False, server_default="0"),
    ]
    for col in ov:
        op.add_column("overrides", col)
    op.create_index(op.f("ix_overrides_uscc"), "overrides", ["uscc"], unique=False)
    # no endpoint wrote overrides before this revision; fill any row from its decision all the same
    conn.execute(
        sa.text(
            "UPDATE overrides SET"
            " uscc = (SELECT d.uscc FROM decisions d WHERE d.id = overrides.decision_id),"
            " product = (SELECT d.product FROM decisions d WHERE d.id = overrides.decision_id),"
            " original_eligible = (SELECT d.eligible FROM decisions d WHERE d.id = overrides.decision_id),"
            " original_limit_yuan = (SELECT d.limit_yuan FROM decisions d WHERE d.id = overrides.decision_id)"
        )
    )
    _create_triggers(conn.dialect.name)


def _create_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        cols = ", ".join(_FROZEN)
        op.execute(
            f"CREATE TRIGGER ruleset_versions_frozen BEFORE UPDATE OF {cols} ON ruleset_versions "
            f"WHEN OLD.status <> 'draft' BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        )
        op.execute(
            "CREATE TRIGGER ruleset_versions_kept BEFORE DELETE ON ruleset_versions "
            f"WHEN OLD.status <> 'draft' BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        )
    elif dialect == "postgresql":
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _FROZEN)
        op.execute(
            "CREATE FUNCTION ruleset_versions_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF OLD.status <> 'draft' AND (TG_OP = 'DELETE' OR " + changed + ") THEN "
            f"RAISE EXCEPTION '{_MESSAGE}'; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER ruleset_versions_frozen BEFORE UPDATE OR DELETE ON ruleset_versions "
            "FOR EACH ROW EXECUTE FUNCTION ruleset_versions_frozen()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ruleset_versions_frozen")
        op.execute("DROP TRIGGER IF EXISTS ruleset_versions_kept")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ruleset_versions_frozen ON ruleset_versions")
        op.execute("DROP FUNCTION IF EXISTS ruleset_versions_frozen()")
    op.drop_index(op.f("ix_overrides_uscc"), table_name="overrides")
    for name in ("original_limit_yuan", "original_eligible", "direction", "reason_code", "product", "uscc"):
        op.drop_column("overrides", name)
    op.drop_index("ix_ruleset_versions_product_status", table_name="ruleset_versions")
    for name in (
        "retire_reason", "retired_at", "retired_by", "published_at", "published_by", "approved_at",
        "approved_by", "created_by", "note", "source", "effective_from", "status",
    ):  # fmt: skip
        op.drop_column("ruleset_versions", name)
