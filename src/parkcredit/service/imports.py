"""Uploaded CSV/XLSX -> validated profiles (JSON form) + rejected rows, through `profile.importer`.

Rows are numbered as a person sees them in the spreadsheet: the header is row 1.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from parkcredit.profile.importer import ProfileImportError, import_table
from parkcredit.service.errors import FieldError
from parkcredit.service.schemas import RejectedRow
from parkcredit.service.scoring import check_numbers

__all__ = ["parse_upload"]


def parse_upload(data: bytes, filename: str) -> tuple[list[dict[str, Any]], list[RejectedRow], int]:
    """(profiles as JSON dicts, rejected rows, rows read) of an uploaded .csv or .xlsx."""
    suffix = Path(filename or "upload.csv").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise FieldError(("body", "file"), f"upload a .csv or .xlsx file, got {suffix or 'no extension'!r}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            res = import_table(path, strict=False)
        except (ProfileImportError, UnicodeDecodeError) as exc:
            raise FieldError(("body", "file"), f"cannot read the file: {exc}") from None
        except ValueError as exc:  # pandas/openpyxl refusing a damaged file
            raise FieldError(("body", "file"), f"cannot read the file: {exc}") from None
    rejected = [
        RejectedRow(row=e.row, column=e.column or "", field=e.field or "", reason=e.reason_en, reason_zh=e.reason_zh)
        for e in res.errors
    ]
    profiles = []
    for p in res.profiles:
        data = p.model_dump(mode="json")
        try:
            check_numbers(data)
        except FieldError as exc:
            rejected.append(RejectedRow(row=0, column=str(exc.loc[-1]), field=str(exc.loc[-1]), reason=str(exc)))
            continue
        profiles.append(data)
    return profiles, rejected, res.rows_read
