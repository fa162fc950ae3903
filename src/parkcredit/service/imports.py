"""Uploaded CSV/XLSX -> validated profiles (JSON form) + rejected rows, through the profile importer."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from parkcredit.profile import FIELDS, Profile
from parkcredit.service.errors import FieldError
from parkcredit.service.schemas import RejectedRow

__all__ = ["parse_upload"]

_BY_ZH = {info.zh: name for name, info in FIELDS.items()}


def _row_number(position: int) -> int:
    return position + 2  # the line in the file: header is line 1


def _read(path: Path) -> tuple[pd.DataFrame, list[RejectedRow], int]:
    """(canonical frame with an `_pos` column of input positions, rejected rows, rows read)."""
    try:
        from parkcredit.profile.importer import import_table  # owned by another package; may be absent
    except ImportError:
        import_table = None
    if import_table is not None:
        res = import_table(path, strict=False)
        rejected = [
            RejectedRow(
                row=int(e.row),
                column=str(e.column),
                field=str(e.field),
                reason=str(e.reason_en),
                reason_zh=getattr(e, "reason_zh", None),
            )
            for e in res.errors
        ]
        frame = res.frame.copy()
        if "_pos" not in frame.columns:
            frame["_pos"] = frame.get("_row", pd.Series(range(len(frame)), index=frame.index))
        return frame, rejected, int(res.rows_read)
    from parkcredit.profile import coerce
    from parkcredit.tableio import read_table

    raw = read_table(path, dtype=str).rename(columns=lambda c: _BY_ZH.get(str(c).strip(), str(c).strip()))
    unknown = [c for c in raw.columns if c not in FIELDS]
    if unknown:
        raise FieldError(("body", "file"), f"unknown column(s): {', '.join(unknown)}")
    frame, errors = coerce(raw)
    bad = {e.row for e in errors}
    frame["_pos"] = [i for i in range(len(raw)) if i not in bad]
    labels = {name: info.zh for name, info in FIELDS.items()}
    rejected = [
        RejectedRow(row=_row_number(e.row), column=labels.get(e.column, e.column), field=e.column, reason=e.reason)
        for e in errors
    ]
    return frame, rejected, len(raw)


def _plain(value: Any, kind: str) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if kind == "date":
        return pd.Timestamp(value).date()
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    return value


def parse_upload(data: bytes, filename: str) -> tuple[list[dict[str, Any]], list[RejectedRow], int]:
    """(profiles as JSON dicts, rejected rows, rows read) of an uploaded .csv or .xlsx."""
    suffix = Path(filename or "upload.csv").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise FieldError(("body", "file"), f"upload a .csv or .xlsx file, got {suffix or 'no extension'!r}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            frame, rejected, rows_read = _read(path)
        except (ValueError, UnicodeDecodeError, KeyError) as exc:
            if isinstance(exc, FieldError):
                raise
            raise FieldError(("body", "file"), f"cannot read the file: {exc}") from None
    profiles = []
    kinds = {name: info.kind for name, info in FIELDS.items()}
    # pydantic validates one profile at a time; the vectorised checks already ran in the importer
    for rec in frame.to_dict("records"):
        pos = int(rec.pop("_pos"))
        try:
            p = Profile.model_validate({k: _plain(v, kinds[k]) for k, v in rec.items() if k in kinds})
        except ValidationError as exc:
            for err in exc.errors():
                field = str(err["loc"][0]) if err["loc"] else ""
                rejected.append(
                    RejectedRow(
                        row=_row_number(pos),
                        column=FIELDS[field].zh if field in FIELDS else field,
                        field=field,
                        reason=err["msg"],
                    )
                )
            continue
        profiles.append(p.model_dump(mode="json"))
    rejected.sort(key=lambda r: (r.row, r.field))
    return profiles, rejected, rows_read
