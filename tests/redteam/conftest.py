"""Database, app and key fixtures (see tests/dbsupport.py)."""

from dbsupport import _pg_schema, _sqlite_template, client, db_url, keys, sessions, settings  # noqa: F401
