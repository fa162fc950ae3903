"""Result models of importing department data (issue 13): the import report, feed history, data quality."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "DataQualityOut", "FieldQuality", "FieldSource", "ImportOut", "ImportSummary", "Jump", "Problem", "RejectedRow",
    "SkippedColumnOut",
]  # fmt: skip

MAX_LISTED = 1000  # problems listed in one response; the counts are always complete


class RejectedRow(BaseModel):
    """One refused value of an import: spreadsheet row, column header as given, field, reason."""

    row: int
    column: str
    field: str
    reason: str
    reason_zh: str | None = None


class Problem(RejectedRow):
    """A file-level problem (a header, a missing column) or a note: on the header row."""


class SkippedColumnOut(BaseModel):
    """A column not imported, why, and the nearest known header."""

    column: str
    letter: str
    kind: str = Field(description="unknown | bookkeeping | outcome | ignored | empty")
    reason: str
    reason_zh: str
    suggestion: str | None = None


class ImportOut(BaseModel):
    """What an import stored and what it refused: file-level problems apart from row-level ones.

    `rows_rejected` counts rows (a row with three bad cells is one row). `repeat_of` names the
    earlier import of the very same file (same bytes, same department): nothing is stored again."""

    import_id: str | None = None
    repeat_of: str | None = None
    file_name: str = ""
    file_sha256: str = ""
    department: str | None = Field(None, description="slug of the sending department; null: the committee")
    as_of: dt.date | None = Field(None, description="the department's as-of date of the data")
    header_row: int = 1
    fields: list[str] = Field(default_factory=list, description="the profile fields the file carries")
    rows_read: int
    rows_stored: int
    rows_rejected: int
    strict: bool
    file_errors: list[Problem] = Field(default_factory=list)
    rejected: list[RejectedRow] = Field(default_factory=list, description=f"row-level, at most {MAX_LISTED}")
    skipped_columns: list[SkippedColumnOut] = Field(default_factory=list)
    warnings: list[Problem] = Field(default_factory=list, description=f"at most {MAX_LISTED}")

    @property
    def refused(self) -> bool:
        """True when nothing was stored because the file or (with strict) a row was refused."""
        return bool(self.file_errors) or (self.strict and self.rows_rejected > 0)


class ImportSummary(BaseModel):
    """One import in a feed history."""

    import_id: str
    file_name: str
    file_sha256: str
    department: str | None
    as_of: dt.date
    rows_read: int
    rows_stored: int
    rows_rejected: int
    fields: list[str]
    created_by: str
    created_at: dt.datetime
    summary: dict[str, Any] = Field(default_factory=dict)


class FieldQuality(BaseModel):
    """One field of a department over the newest snapshot of every enterprise."""

    field: str
    zh: str
    filled: int
    coverage: float = Field(description="share of enterprises with a value")
    stale: int | None = Field(None, description="values past their validity (graded signals only)")
    stale_share: float | None = Field(None, description="stale / filled")
    undated: int | None = Field(None, description="values without their evaluation year (graded signals only)")


class Jump(BaseModel):
    """A value that moved a lot since the enterprise's snapshot before the department's last feed."""

    uscc: str
    field: str
    old: Any
    new: Any


class DataQualityOut(BaseModel):
    """A department's data in the store: coverage, staleness, and what jumped in its last feed."""

    department: str
    department_zh: str
    enterprises: int
    fields: list[FieldQuality]
    last_import: ImportSummary | None
    jumps: list[Jump] = Field(default_factory=list, description="at most 100")
    jumps_total: int = 0
    jump_rule: str = "a number changed by more than 50 % (or from or to 0), an enumeration or flag changed"


class FieldSource(BaseModel):
    """Where one field of a snapshot came from: the department's feed (or the API), the file, as of when."""

    field: str
    zh: str
    via: str = Field(description="import | api | snapshot (stored before provenance was kept)")
    department: str | None = Field(None, description="slug of the sending department; null: the committee")
    department_zh: str | None = None
    as_of: dt.date | None = None
    import_id: str | None = None
    file: str | None = None
    by: str | None = Field(None, description="the key that stored it")
