"""Database fixtures (see tests/dbsupport.py)."""

from dbsupport import _pg_schema, _sqlite_template, db_url  # noqa: F401
