"""integrity (issue 16): key holders and scopes, the lifecycle in the database, existing rows bound

- api_keys: holder (maker-checker compares holders), department / uscc (scoped keys);
- ruleset_versions: a trigger lets status move only draft → approved → published → retired (a draft or
  an approved version may also be withdrawn to retired), and a unique index allows one published
  version per (product, effective_from);
- every fact row stored before this revision is bound into the audit chain (`audit.rebind` entries),
  so `audit verify` checks it from now on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN: see 0002 on why not a batch copy on SQLite
    op.add_column("api_keys", sa.Column("holder", sa.String(length=200), nullable=False, server_default=""))
    op.add_column("api_keys", sa.Column("department", sa.String(length=40), nullable=True))
    op.add_column("api_keys", sa.Column("uscc", sa.String(length=18), nullable=True))
    op.create_index(
        "uq_ruleset_versions_published_effective", "ruleset_versions", ["product", "effective_from"], unique=True,
        sqlite_where=sa.text("status = 'published'"), postgresql_where=sa.text("status = 'published'"),
    )  # fmt: skip
    conn = op.get_bind()
    _lifecycle_trigger(conn.dialect.name)

    from parkcredit.store import binding  # the digests of today's code, over the tables as they are now

    present = set(sa.inspect(conn).get_table_names())
    names = sorted(present - set(binding.EXEMPT))
    with Session(bind=conn) as session:
        binding.rebind(session, names, actor="migration", reason="rows stored before revision 0003 bound")
        session.flush()


_MOVES = "draft>approved draft>retired approved>published approved>retired published>retired"
_MESSAGE = "ruleset_versions: status may only move draft -> approved -> published -> retired"


def _lifecycle_trigger(dialect: str) -> None:
    allowed = " OR ".join(
        f"(OLD.status = '{a}' AND NEW.status = '{b}')" for a, b in (m.split(">") for m in _MOVES.split())
    )
    if dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER ruleset_versions_lifecycle BEFORE UPDATE OF status ON ruleset_versions "
            f"WHEN NOT (NEW.status = OLD.status OR {allowed}) BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION ruleset_versions_lifecycle() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NOT (NEW.status = OLD.status OR {allowed}) THEN RAISE EXCEPTION '{_MESSAGE}'; END IF; "
            "RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER ruleset_versions_lifecycle BEFORE UPDATE OF status ON ruleset_versions "
            "FOR EACH ROW EXECUTE FUNCTION ruleset_versions_lifecycle()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ruleset_versions_lifecycle")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ruleset_versions_lifecycle ON ruleset_versions")
        op.execute("DROP FUNCTION IF EXISTS ruleset_versions_lifecycle()")
    op.drop_index("uq_ruleset_versions_published_effective", table_name="ruleset_versions")
    for col in ("uscc", "department", "holder"):
        op.drop_column("api_keys", col)
