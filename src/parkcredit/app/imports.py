"""Importing profiles: an uploaded CSV/XLSX -> validated profiles + rejected rows (`profile.importer`), stored.

Rows are numbered as a person sees them in the spreadsheet: the header is row 1.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from parkcredit.app import alerts
from parkcredit.app import schemas as s
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.app.schemas import RejectedRow
from parkcredit.errors import InvalidInput
from parkcredit.profile.importer import ProfileImportError, import_table
from parkcredit.store import audit, snapshots

__all__ = ["check_numbers", "import_profiles", "parse_upload"]


def parse_upload(data: bytes, filename: str) -> tuple[list[dict[str, Any]], list[RejectedRow], int]:
    """(profiles as JSON dicts, rejected rows, rows read) of an uploaded .csv or .xlsx."""
    suffix = Path(filename or "upload.csv").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput(("body", "file"), f"upload a .csv or .xlsx file, got {suffix or 'no extension'!r}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            res = import_table(path, strict=False)
        except (ProfileImportError, UnicodeDecodeError) as exc:
            raise InvalidInput(("body", "file"), f"cannot read the file: {exc}") from None
        except ValueError as exc:  # pandas/openpyxl refusing a damaged file
            raise InvalidInput(("body", "file"), f"cannot read the file: {exc}") from None
    rejected = [
        RejectedRow(row=e.row, column=e.column or "", field=e.field or "", reason=e.reason_en, reason_zh=e.reason_zh)
        for e in res.errors
    ]
    profiles = []
    for p in res.profiles:
        profile = p.model_dump(mode="json")
        try:
            check_numbers(profile)
        except InvalidInput as exc:
            rejected.append(RejectedRow(row=0, column=str(exc.loc[-1]), field=str(exc.loc[-1]), reason=str(exc)))
            continue
        profiles.append(profile)
    return profiles, rejected, res.rows_read


MAX_EXACT = 2**53  # the decision frame holds numbers as float64: integers are exact below this


def check_numbers(profile: dict[str, Any], loc: tuple[str | int, ...] = ("body",)) -> None:
    """Refuse (InvalidInput, naming the field) a number the decision frame cannot hold exactly."""
    for name, value in profile.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= MAX_EXACT:
            raise InvalidInput((*loc, name), f"must be below 2**53 (9,007,199,254,740,992), got {str(value)[:20]}…")


def import_profiles(
    ctx: AppContext, actor: Actor, *, data: bytes, filename: str, strict: bool = False, idem: Idem | None = None
) -> s.ImportOut | Replayed:
    """Import a CSV/XLSX of profiles: all good rows in one transaction, bad rows reported.

    The file is parsed before the write lock is taken. With `strict`, nothing is stored if any row is
    bad (the result says so: `strict and rows_rejected`); every surface shows that as a refusal.
    """
    with ctx.read() as session:
        if (hit := replay(session, actor, idem, data + f"\nstrict={strict}".encode())) is not None:
            return hit
    profiles, rejected, rows_read = parse_upload(data, filename)
    out = s.ImportOut(rows_read=rows_read, rows_stored=0, rows_rejected=len({r.row for r in rejected}), strict=strict,
                      rejected=rejected)  # fmt: skip
    if strict and rejected:
        return out
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, data + f"\nstrict={strict}".encode())) is not None:
            return hit
        snaps = [snapshots.add(session, profile=p, actor=actor.key_id, audit_entry=False) for p in profiles]
        out.rows_stored = len(snaps)
        alerts.on_new_snapshots(session, snaps, actor=actor.key_id)  # early warning for the banks (issue 14)
        payload = {"rows_read": rows_read, "snapshot_ids": [x.id for x in snaps], "rejected": len(rejected)}
        audit.append(session, actor.key_id, "snapshot.import", "import", filename or "upload", payload)
        remember(session, actor, idem, 200, out)
    return out
