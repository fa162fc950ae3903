"""Imports of files (`imports`): the record of each stored feed, found again by its file's sha256."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import ImportRecord, Snapshot, SnapshotProvenance

__all__ = ["add", "find_repeat", "get", "history", "latest_feed", "snapshots_of"]


def find_repeat(session: Session, *, file_sha256: str, department: str | None) -> ImportRecord | None:
    """The first stored import of the same bytes for the same department that stored rows."""
    q = select(ImportRecord).where(
        ImportRecord.file_sha256 == file_sha256,
        ImportRecord.department.is_(None) if department is None else ImportRecord.department == department,
        ImportRecord.rows_stored > 0,
    )
    return session.scalar(q.order_by(ImportRecord.created_at).limit(1))


def add(
    session: Session,
    *,
    file_name: str,
    file_sha256: str,
    size_bytes: int,
    department: str | None,
    as_of: dt.date,
    strict: bool,
    rows_read: int,
    rows_stored: int,
    rows_rejected: int,
    fields: list[str],
    summary: dict[str, Any],
    actor: str,
    import_id: str | None = None,
) -> ImportRecord:
    """Store the record of one import (bound in its own `import.create` audit entry)."""
    row = ImportRecord(
        id=import_id or str(uuid.uuid4()), file_name=file_name[:255], file_sha256=file_sha256, size_bytes=size_bytes,
        department=department, as_of=as_of, strict=strict, rows_read=rows_read, rows_stored=rows_stored,
        rows_rejected=rows_rejected, fields=fields, summary=summary, created_by=actor,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.append(
        session, actor, "import.create", "import", row.id,
        {"file": row.file_name, "sha256": file_sha256, "department": department, "rows_stored": rows_stored},
        bind=[row],
    )  # fmt: skip
    return row


def get(session: Session, import_id: str) -> ImportRecord | None:
    return session.get(ImportRecord, import_id)


def history(session: Session, *, department: str | None, all_departments: bool, limit: int = 100) -> list[ImportRecord]:
    """Imports, newest first: of one department (None: the committee's own), or of all."""
    q = select(ImportRecord)
    if not all_departments:
        q = q.where(ImportRecord.department.is_(None) if department is None else ImportRecord.department == department)
    return list(session.scalars(q.order_by(ImportRecord.created_at.desc()).limit(limit)))


def latest_feed(session: Session, department: str) -> ImportRecord | None:
    """The newest import of a department that stored rows."""
    q = select(ImportRecord).where(ImportRecord.department == department, ImportRecord.rows_stored > 0)
    return session.scalar(q.order_by(ImportRecord.created_at.desc()).limit(1))


def snapshots_of(session: Session, import_id: str, *, limit: int = 100_000) -> list[Snapshot]:
    """The snapshots an import stored, by id."""
    q = (
        select(Snapshot)
        .join(SnapshotProvenance, SnapshotProvenance.snapshot_id == Snapshot.id)
        .where(SnapshotProvenance.import_id == import_id)
        .order_by(Snapshot.id)
        .limit(limit)
    )
    return list(session.scalars(q))
