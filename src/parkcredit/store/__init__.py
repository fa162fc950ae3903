"""Storage: SQLAlchemy tables, repositories, the audit hash chain, Alembic migrations."""
