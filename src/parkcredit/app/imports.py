"""Importing department data (企业数据导入, issue 13): a CSV/XLSX feed -> new snapshots with per-field provenance.

One use case for every surface (`POST /v1/imports`, the import page, `parkcredit import`), so they
answer alike:

1. who may send what: a committee key any field (optionally declaring the sending department); a
   department key only its own department's fields (`FIELDS[...].dept`) besides the identity
   columns — anything else is 403 naming the foreign fields;
2. the file is read and checked (`profile.importer`, department-feed mode) **before** the write
   lock is taken; a file that cannot be read is 422 naming the problem, an upload over
   `Settings.max_upload_bytes` 413, more rows than `Settings.max_import_rows` 422;
3. the same bytes from the same department again are a repeat: nothing is stored, the answer
   names the import it repeats (`repeat_of`);
4. each good row becomes a new snapshot: the enterprise's previous profile with the columns of the
   file replaced (a blank cell replaces with "missing"); an enterprise without a snapshot needs
   企业名称 in the file. The snapshot's as_of is the later of the previous one and the feed's date.
   Every field keeps its provenance: the fields of this file get this import's source
   (department, import id, file name, the department's as-of date, key), the others keep theirs.

Rows are numbered as a person sees them in the spreadsheet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import operator
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from parkcredit.app import alerts
from parkcredit.app import import_schemas as m
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.errors import Forbidden, InvalidInput, NotFound, TooLarge
from parkcredit.profile.departments import DEPARTMENTS, department_slug, foreign_fields
from parkcredit.profile.importer import ImportError_, ImportResult, ProfileImportError, Upload, import_table
from parkcredit.profile.schema import FIELDS
from parkcredit.store import audit, imports, snapshots
from parkcredit.store.tables import ImportRecord

__all__ = [
    "SUFFIXES", "check_numbers", "decision_sources", "field_sources", "import_history", "import_profiles",
    "import_summary", "read_import", "resolve_department", "sources_of",
]  # fmt: skip

SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls")
MAX_EXACT = 2**53  # the decision frame holds numbers as float64: integers are exact below this
_NUMBERS = frozenset({int, float})
Progress = Callable[[str, int, int], None]  # (phase, done, total)


def check_numbers(profile: dict[str, Any], loc: tuple[str | int, ...] = ("body",)) -> None:
    """Refuse (InvalidInput, naming the field) a number the decision frame cannot hold exactly."""
    for name, value in profile.items():
        if type(value) in _NUMBERS and abs(value) >= MAX_EXACT:  # JSON values: plain int/float (bool is not)
            raise InvalidInput((*loc, name), f"must be below 2**53 (9,007,199,254,740,992), got {str(value)[:20]}…")


def resolve_department(actor: Actor, department: str | None) -> str | None:
    """The slug of the sending department: a department key's own; a committee key's declared one (or None)."""
    try:
        declared = department_slug(department) if department else None
    except ValueError as exc:
        raise InvalidInput(("query", "department"), str(exc)) from None
    if actor.role == "department":
        try:
            own = department_slug(actor.department or "")
        except ValueError:
            raise Forbidden(f"key {actor.key_id} is a department key without a known department") from None
        if declared is not None and declared != own:
            raise Forbidden(f"a {own} ({DEPARTMENTS[own]}) key sends only {own} data, not {declared}")
        return own
    if actor.role != "committee":
        raise Forbidden(f"role {actor.role!r} may not import data")
    return declared


def _row(e: ImportError_) -> m.RejectedRow:
    return m.RejectedRow(row=e.row, column=e.column or "", field=e.field or "", reason=e.reason_en,
                         reason_zh=e.reason_zh)  # fmt: skip


def _problem(e: ImportError_) -> m.Problem:
    return m.Problem(row=e.row, column=e.column or "", field=e.field or "", reason=e.reason_en, reason_zh=e.reason_zh)


def _report(res: ImportResult, *, file_name: str, sha: str, department: str | None, as_of: dt.date, strict: bool,
            extra_errors: Sequence[ImportError_] = ()) -> m.ImportOut:  # fmt: skip
    errors = sorted([*res.errors, *extra_errors], key=lambda e: e.row)
    return m.ImportOut(
        file_name=file_name, file_sha256=sha, department=department, as_of=as_of, header_row=res.header_row,
        fields=res.fields, rows_read=res.rows_read, rows_stored=0, rows_rejected=len({e.row for e in errors}),
        strict=strict, file_errors=[_problem(e) for e in res.file_errors],
        rejected=[_row(e) for e in errors[: m.MAX_LISTED]],
        skipped_columns=[m.SkippedColumnOut(column=s.column, letter=s.letter, kind=s.kind, reason=s.reason_en,
                                            reason_zh=s.reason_zh, suggestion=s.suggestion) for s in res.skipped],
        warnings=[_problem(e) for e in res.warnings[: m.MAX_LISTED]],
    )  # fmt: skip


def _read(data: bytes, filename: str, *, strict: bool, department: str | None, as_of: dt.date,
          max_rows: int) -> ImportResult:  # fmt: skip
    suffix = Path(filename or "upload.csv").suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(("body", "file"), f"upload a .csv or .xlsx file, got {suffix[:20] or 'no extension'!r}")
    try:
        return import_table(Upload(data, filename or f"upload{suffix}"), strict=strict, as_of=as_of, partial=True,
                            department=department, max_rows=max_rows)  # fmt: skip
    except ProfileImportError as exc:
        raise InvalidInput(("body", "file"), f"{Path(filename).name[:100]}: {exc}") from None


def _foreign(actor: Actor, department: str | None, fields: list[str]) -> None:
    """403 (a department key) or 422 (a committee declaring a department) for fields of another department."""
    if department is None:
        return
    foreign = foreign_fields(department, fields)
    if not foreign:
        return
    named = ", ".join(f"{n} ({FIELDS[n].zh}, {FIELDS[n].dept})" for n in foreign[:20])
    message = f"the {department} ({DEPARTMENTS[department]}) feed may carry only its own fields; refused: {named}"
    if actor.role == "department":
        raise Forbidden(message)
    raise InvalidInput(("body", "file"), message)


def _source(import_id: str, file_name: str, department: str | None, as_of: dt.date, actor: Actor) -> dict[str, Any]:
    return {"via": "import", "department": department, "import_id": import_id, "file": file_name[:255],
            "as_of": as_of.isoformat(), "by": actor.key_id}  # fmt: skip


def _merge(
    res: ImportResult,
    previous: dict[str, snapshots.Prior],
    base: dict[str, Any],
    feed_as_of: dt.date,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[ImportError_]]:
    """(profiles, provenances, row errors) of the new snapshots: each previous profile with the file's fields.

    A provenance depends on the row only through its source (the import's, or one with the row's own 数据日期),
    the previous provenance (`priors_of` shares one dict per distinct text) and which fields outside the file
    have a value: rows alike get ONE provenance dict (built by `_provenance`, shared: it is only serialised),
    so a file of 20,000 updates builds a handful, not 20,000 (a row needing `_unknown_source` — a value stored
    before provenance was kept — names its own previous snapshot and gets its own)."""
    profiles: list[dict[str, Any]] = []
    provenances: list[dict[str, Any]] = []
    errors: list[ImportError_] = []
    own = frozenset(n for n in res.fields if n != "uscc")
    blank = dict.fromkeys(FIELDS)
    outside = [n for n in FIELDS if n not in own and n != "as_of"]  # a profile's fields the file does not give
    carried = [n for n in res.fields if n not in own]  # the file's fields not counted as its own (uscc)
    by_date: dict[str, dict[str, Any]] = {}
    shared: dict[tuple[Any, ...], dict[str, Any]] = {}
    feed_date = feed_as_of.isoformat()
    for record, row in zip(res.records, res.row_numbers, strict=True):
        prev = previous.get(record["uscc"])
        own_date = record.get("as_of")  # the row's own 数据日期, when the file has that column
        if not own_date or own_date == base["as_of"]:
            source = base
        else:  # one source dict per date: rows alike share their provenance
            if own_date not in by_date:
                by_date[own_date] = {**base, "as_of": own_date}
            source = by_date[own_date]
        if prev is None:
            if not record.get("name"):
                errors.append(ImportError_(
                    row, FIELDS["name"].zh, "name", "no earlier snapshot of this enterprise: 企业名称 is required",
                    "该企业尚无画像快照：须填写企业名称",
                ))  # fmt: skip
                continue
            profile = {**blank, **record}
            if len(profile) == len(blank):  # the record's keys are fields: its provenance is one of a few
                key: tuple[Any, ...] = (None, id(source), *map(operator.is_not, map(record.get, carried), _NONES))
                if (provenance := shared.get(key)) is None:
                    provenance = shared[key] = _new_provenance(profile, own, source)
            else:
                provenance = _new_provenance(profile, own, source)
        else:
            profile = {**blank, **prev.profile, **record}
            if "name" in record and not record["name"]:  # a blank 企业名称 keeps the previous one
                profile["name"] = prev.profile.get("name")
            profile["as_of"] = max(str(prev.as_of.isoformat()), str(record.get("as_of") or feed_date))
            if len(profile) == len(blank) and prev.provenance is not None:
                values = map(profile.__getitem__, outside)
                key = (id(prev.provenance), id(source), *map(operator.is_not, values, _NONES))
                if (provenance := shared.get(key)) is None:
                    provenance, alike = _provenance(profile, own, prev, source)
                    if alike:
                        shared[key] = provenance
            else:
                provenance = _provenance(profile, own, prev, source)[0]
        try:
            check_numbers(profile)  # a plain loop: faster here than any filter/map pre-check (measured)
        except InvalidInput as exc:
            name = str(exc.loc[-1])
            errors.append(ImportError_(row, FIELDS[name].zh if name in FIELDS else name, name, exc.message,
                                       "数值过大（须小于 2**53）"))  # fmt: skip
            continue
        profiles.append(profile)
        provenances.append(provenance)
    return profiles, provenances, errors


_NONES = itertools.repeat(None)


def _new_provenance(profile: dict[str, Any], own: frozenset[str], source: dict[str, Any]) -> dict[str, Any]:
    """The provenance of a new enterprise's first snapshot: every field of the file, and every value, `source`."""
    return {"sources": [source], "fields": {k: 0 for k, v in profile.items() if v is not None or k in own}}


def _provenance(
    profile: dict[str, Any], own: frozenset[str], prev: snapshots.Prior, source: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """(the provenance of an update: the file's fields from `source`, the others keep theirs, whether it is
    shared by every row alike — False when a value of unknown source names `prev` itself)."""
    old = prev.provenance or {}
    old_sources, old_fields = old.get("sources", []), old.get("fields", {})
    sources: list[dict[str, Any]] = [source]
    index: dict[str, int] = {}
    fields: dict[str, int] = {}
    moved: dict[int, int] = {}  # index of a source in the old provenance -> in the new one
    alike = True
    for name, value in profile.items():
        if name in own or name == "as_of":
            fields[name] = 0
        elif (i := old_fields.get(name)) is not None and 0 <= i < len(old_sources):
            if i not in moved:
                key = audit.canonical(old_sources[i])
                if key not in index:
                    index[key] = len(sources)
                    sources.append(old_sources[i])
                moved[i] = index[key]
            fields[name] = moved[i]
        elif value is not None:
            fields[name] = _unknown_source(sources, index, prev)
            alike = False
    return {"sources": sources, "fields": fields}, alike


def _unknown_source(sources: list[dict[str, Any]], index: dict[str, int], prev: snapshots.Prior) -> int:
    """The source of a value stored before provenance was kept: the previous snapshot, as far as is known."""
    src = {"via": "snapshot", "department": None, "import_id": None, "file": None, "as_of": prev.as_of.isoformat(),
           "by": prev.created_by, "snapshot_id": prev.id}  # fmt: skip
    key = audit.canonical(src)
    if key not in index:
        index[key] = len(sources)
        sources.append(src)
    return index[key]


def _summary_of(out: m.ImportOut) -> dict[str, Any]:
    return {"header_row": out.header_row, "file_errors": len(out.file_errors),
            "skipped_columns": [c.column[:100] for c in out.skipped_columns][:100],
            "first_rejected": [r.model_dump() for r in out.rejected[:20]]}  # fmt: skip


def import_profiles(
    ctx: AppContext,
    actor: Actor,
    *,
    data: bytes,
    filename: str,
    strict: bool = False,
    department: str | None = None,
    as_of: dt.date | None = None,
    idem: Idem | None = None,
    progress: Progress | None = None,
) -> m.ImportOut | Replayed:
    """Import a CSV/XLSX feed: all good rows in one transaction as new snapshots, bad rows reported.

    With `strict`, nothing is stored if any row is bad; with a file-level problem nothing ever is
    (`ImportOut.refused`; the API answers 422 with the report). `as_of` is the department's
    as-of date of the data (default: the 数据日期 column, else today)."""
    dept = resolve_department(actor, department)
    limit = ctx.settings.max_upload_bytes
    if len(data) > limit:
        raise TooLarge(f"{filename[:100]}: {len(data):,} bytes, more than the {limit:,} bytes an upload may have")
    feed_as_of = as_of or dt.datetime.now(dt.UTC).date()
    sha = hashlib.sha256(data).hexdigest()
    request = data + f"\nstrict={strict}\ndepartment={dept}\nas_of={as_of}".encode()
    with ctx.read() as session:
        if (hit := replay(session, actor, idem, request)) is not None:
            return hit
        repeat = imports.find_repeat(session, file_sha256=sha, department=dept)
    if progress:
        progress("read", 0, 1)
    res = _read(data, filename, strict=strict, department=dept, as_of=feed_as_of,
                max_rows=ctx.settings.max_import_rows)  # fmt: skip
    _foreign(actor, dept, res.fields)
    if as_of is None and "as_of" in res.columns.values() and res.records:
        feed_as_of = max(dt.date.fromisoformat(r["as_of"]) for r in res.records)  # the file's own date
    out = _report(res, file_name=filename, sha=sha, department=dept, as_of=feed_as_of, strict=strict)
    if progress:
        progress("read", 1, 1)
    if repeat is not None and not out.refused:
        out.repeat_of = repeat.id
        return out
    if out.refused or not res.records:
        return out
    import_id = str(uuid.uuid4())
    source = _source(import_id, filename, dept, feed_as_of, actor)
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, request)) is not None:
            return hit
        if (repeat := imports.find_repeat(session, file_sha256=sha, department=dept)) is not None:
            out.repeat_of = repeat.id  # the same file, stored by another request meanwhile
            return out
        usccs = [r["uscc"] for r in res.records]
        profiles, provenances, merge_errors = _merge(res, snapshots.priors_of(session, usccs), source, feed_as_of)
        out = _report(res, file_name=filename, sha=sha, department=dept, as_of=feed_as_of, strict=strict,
                      extra_errors=merge_errors)  # fmt: skip
        if strict and out.rows_rejected:
            return out
        if progress:
            progress("store", 0, len(profiles))
        snaps = snapshots.add_many(session, profiles, actor=actor.key_id, object_id=import_id,
                                   payload={"file": filename[:255], "department": dept}, provenances=provenances,
                                   import_id=import_id)  # fmt: skip
        out.rows_stored = len(snaps)
        out.import_id = import_id
        imports.add(session, import_id=import_id, file_name=filename or "upload", file_sha256=sha,
                    size_bytes=len(data), department=dept, as_of=feed_as_of, strict=strict, rows_read=out.rows_read,
                    rows_stored=out.rows_stored, rows_rejected=out.rows_rejected, fields=res.fields,
                    summary=_summary_of(out), actor=actor.key_id)  # fmt: skip
        alerts.on_new_snapshots(session, snaps, actor=actor.key_id)  # early warning for the banks (issue 14)
        remember(session, actor, idem, 200, out)
        if progress:
            progress("store", len(snaps), len(snaps))
    return out


def import_summary(row: ImportRecord) -> m.ImportSummary:
    return m.ImportSummary(
        import_id=row.id, file_name=row.file_name, file_sha256=row.file_sha256, department=row.department,
        as_of=row.as_of, rows_read=row.rows_read, rows_stored=row.rows_stored, rows_rejected=row.rows_rejected,
        fields=list(row.fields), created_by=row.created_by, created_at=row.created_at, summary=dict(row.summary),
    )  # fmt: skip


def import_history(ctx: AppContext, actor: Actor, *, department: str | None = None,
                   limit: int = 100) -> list[m.ImportSummary]:  # fmt: skip
    """Imports, newest first. A department key sees its own department's feed; the committee and auditors
    see every import, or one department's (`department`, slug or Chinese name; "committee" for its own)."""
    with ctx.read() as session:
        if actor.role == "department":
            own = resolve_department(actor, department)
            rows = imports.history(session, department=own, all_departments=False, limit=limit)
        elif department == "committee":
            rows = imports.history(session, department=None, all_departments=False, limit=limit)
        elif department:
            try:
                slug = department_slug(department)
            except ValueError as exc:
                raise InvalidInput(("query", "department"), str(exc)) from None
            rows = imports.history(session, department=slug, all_departments=False, limit=limit)
        else:
            rows = imports.history(session, department=None, all_departments=True, limit=limit)
        return [import_summary(r) for r in rows]


def read_import(ctx: AppContext, actor: Actor, import_id: str) -> m.ImportSummary:
    """One import (a department key: its own department's only)."""
    with ctx.read() as session:
        row = imports.get(session, import_id)
        if row is None or (actor.role == "department" and row.department != resolve_department(actor, None)):
            raise NotFound(f"no import {import_id[:40]}")
        return import_summary(row)


def sources_of(provenance: dict[str, Any] | None) -> list[m.FieldSource]:
    """A snapshot's provenance as one row per field, in the profile's field order."""
    by_field = snapshots.field_sources(provenance)
    out = []
    for name, info in FIELDS.items():
        src = by_field.get(name)
        if src is None:
            continue
        dept = src.get("department")
        as_of = src.get("as_of")
        out.append(m.FieldSource(
            field=name, zh=info.zh, via=str(src.get("via") or "import"), department=dept,
            department_zh=DEPARTMENTS.get(dept) if dept else None,
            as_of=dt.date.fromisoformat(as_of) if isinstance(as_of, str) else None,
            import_id=src.get("import_id"), file=src.get("file"), by=src.get("by"),
        ))  # fmt: skip
    return out


def field_sources(ctx: AppContext, uscc: str) -> list[m.FieldSource]:
    """The per-field sources of the enterprise's latest snapshot (empty when it has none recorded)."""
    with ctx.read() as session:
        snap = snapshots.latest(session, uscc)
        if snap is None:
            raise NotFound(f"no snapshot of {uscc[:18]}")
        return sources_of(snapshots.provenance_of(session, snap.id))


def decision_sources(ctx: AppContext, actor: Actor, decision_id: str) -> list[m.FieldSource]:
    """Where each input of a decision came from: the per-field sources of the snapshot it decided on.

    Beside the decision record, never in it (the record's bytes are what replay compares)."""
    from parkcredit.app.scope import ensure_may_see
    from parkcredit.store import decisions

    with ctx.read() as session:
        d = decisions.get(session, decision_id)
        if d is None:
            raise NotFound(f"no decision {decision_id[:40]}")
        ensure_may_see(actor, d.uscc)
        return sources_of(snapshots.provenance_of(session, d.snapshot_id))
