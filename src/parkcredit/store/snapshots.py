"""Profile snapshots (append-only), the personal data kept apart from them (`snapshot_pii`), and where
each field came from (`snapshot_provenance`, issue 13).

A provenance is ``{"sources": [source, ...], "fields": {field: index into sources}}``; a source is
``{"via": "import" | "api", "department": slug | None, "import_id", "file", "as_of", "by"}`` —
compact, because one import gives most fields of thousands of snapshots the same source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import LargeBinary, Table, Text, bindparam, cast, delete, func, select
from sqlalchemy.orm import Session

from parkcredit.store import audit, binding, bulk, canonjson
from parkcredit.store.db import among, chunked
from parkcredit.store.tables import Snapshot, SnapshotPii, SnapshotProvenance, utcnow

__all__ = [
    "PII_FIELDS", "NewSnapshot", "Prior", "ToDecide", "add", "add_many", "any_snapshot", "count_latest", "erase_pii",
    "field_sources", "get", "latest", "latest_ids_of", "latest_of", "latest_page", "latest_to_decide", "of_enterprise",
    "pii_of", "priors_of", "profile_of", "provenance_of", "provenances_of", "single_source", "usccs_without",
]  # fmt: skip

PII_FIELDS = ("legal_rep_name", "legal_rep_id_hash")  # the fields marked `pii` in profile.FIELDS
log = logging.getLogger("parkcredit")
BIND_CHUNK = 2000  # snapshots bound per audit entry of a bulk import (an entry's payload stays small)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewSnapshot:
    """The stored values of a snapshot written in bulk (what an ORM `Snapshot` would carry, built ~10× faster)."""

    id: int
    uscc: str
    name: str
    park_id: str | None
    as_of: dt.date
    profile: dict[str, Any]
    content_sha256: str
    created_by: str
    created_at: dt.datetime


def _row(profile: dict[str, Any], actor: str) -> tuple[Snapshot, dict[str, Any]]:
    public = {k: v for k, v in profile.items() if k not in PII_FIELDS}
    pii = {k: profile.get(k) for k in PII_FIELDS}
    snap = Snapshot(
        uscc=public["uscc"],
        name=public["name"],
        park_id=public.get("park_id"),
        as_of=dt.date.fromisoformat(public["as_of"]),
        profile=public,
        content_sha256=_sha256(audit.canonical(public)),
        created_by=actor,
    )
    return snap, pii


def _public(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile without its personal data (kept in `snapshot_pii`), in the same key order."""
    public = dict(profile)
    for k in PII_FIELDS:
        public.pop(k, None)
    return public


def single_source(profile: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """A provenance giving every field of `profile` that has a value the one `source`."""
    return {"sources": [source], "fields": {k: 0 for k, v in profile.items() if v is not None}}


def field_sources(provenance: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """{field: its source} of a stored provenance (empty for a snapshot stored before issue 13)."""
    if not provenance:
        return {}
    sources = provenance.get("sources", [])
    return {name: sources[i] for name, i in provenance.get("fields", {}).items() if 0 <= i < len(sources)}


def _store(
    session: Session,
    profiles: list[dict[str, Any]],
    provenances: list[dict[str, Any]],
    *,
    actor: str,
    import_id: str | None,
) -> tuple[list[Snapshot], list[list[Any]]]:
    """Insert the snapshots, then their personal data and provenance rows; (snapshots, rows bound per snapshot)."""
    made = [_row(p, actor) for p in profiles]
    snaps = [snap for snap, _ in made]
    session.add_all(snaps)
    session.flush()  # one round of inserts; the ids come back
    extra: list[list[Any]] = []
    for (snap, pii), prov in zip(made, provenances, strict=True):
        rows: list[Any] = [SnapshotProvenance(snapshot_id=snap.id, import_id=import_id, provenance=prov)]
        if any(v is not None for v in pii.values()):
            rows.append(SnapshotPii(snapshot_id=snap.id, **pii))
        extra.append(rows)
    session.add_all([r for rows in extra for r in rows])
    session.flush()
    return snaps, extra


def _carried_over(session: Session, profile: dict[str, Any], actor: str) -> dict[str, Any]:
    api = {"via": "api", "department": None, "import_id": None, "file": None, "as_of": profile["as_of"], "by": actor}
    prov = single_source(profile, api)
    prev = latest(session, profile["uscc"])
    old = field_sources(provenance_of(session, prev.id)) if prev is not None else {}
    if prev is None or not old:
        return prov
    sources, index = prov["sources"], {audit.canonical(api): 0}
    for name in list(prov["fields"]):
        if name in old and name != "as_of" and name in prev.profile and prev.profile[name] == profile[name]:
            key = audit.canonical(old[name])
            if key not in index:
                index[key] = len(sources)
                sources.append(old[name])
            prov["fields"][name] = index[key]
    return prov


def add(session: Session, *, profile: dict[str, Any], actor: str, provenance: dict[str, Any] | None = None) -> Snapshot:
    """Store one validated profile (JSON form) as a new snapshot; personal data goes to `snapshot_pii`.

    Without a `provenance`, a field whose value is that of the enterprise's previous snapshot keeps its
    recorded source; every other field with a value is recorded as given by `actor` through the API."""
    prov = provenance or _carried_over(session, profile, actor)
    [snap], [rows] = _store(session, [profile], [prov], actor=actor, import_id=None)
    audit.append(
        session, actor, "snapshot.create", "snapshot", snap.id, {"uscc": snap.uscc, "sha256": snap.content_sha256},
        bind=[snap, *rows],
    )  # fmt: skip
    return snap


@dataclass
class _Built:
    """A slice of snapshots made ready without the database (`_build`): its inserts, stored values, bindings."""

    inserts: list[bulk.PreparedRows | None]
    snaps: list[NewSnapshot]
    refs: list[list[dict[str, str]]]


def _build(
    dialect: Any,
    profiles: list[dict[str, Any]],
    provenances: list[dict[str, Any]],
    ids: list[int],
    *,
    actor: str,
    import_id: str | None,
) -> _Built:
    """The inserts of many snapshots and their rows, one statement per table (`bulk.prepare_rows`: executemany on
    SQLite, COPY on PostgreSQL), the stored values of each snapshot and the bindings of each
    snapshot's rows — pure Python: the database is not touched.

    Each profile is serialised once (`canonjson`): that text is stored (as UTF-8 bytes), hashed for
    `content_sha256` and spliced into the row's binding digest (`_digests`, checked against
    `binding.digest_values`). A provenance dict given for many rows (an import shares one between rows alike)
    is serialised once too, and the hash of its binding's common head taken once (`_provenance_digests`)."""
    now = utcnow()
    publics = [_public(p) for p in profiles]
    texts = [canonjson.dumps(pub) for pub in publics]
    shas = [hashlib.sha256(t).hexdigest() for t in texts]
    as_of = [dt.date.fromisoformat(pub["as_of"]) for pub in publics]
    snap_cols: dict[str, list[Any]] = {
        "id": ids, "uscc": [pub["uscc"] for pub in publics], "name": [pub["name"] for pub in publics],
        "park_id": [pub.get("park_id") for pub in publics], "as_of": as_of, "profile": texts,
        "content_sha256": shas, "created_by": [actor] * len(ids), "created_at": [now] * len(ids),
    }  # fmt: skip
    inserts = [bulk.prepare_rows(dialect, _SNAPSHOTS, snap_cols, json_text=["profile"])]
    once: dict[int, bytes] = {}  # id of a provenance dict -> its canonical text (the dicts live until we return)
    prov_texts = []
    for prov in provenances:
        if (t := once.get(id(prov))) is None:
            t = once[id(prov)] = canonjson.dumps(prov)
        prov_texts.append(t)
    prov_cols: dict[str, list[Any]] = {
        "snapshot_id": ids,
        "import_id": [import_id] * len(ids),
        "provenance": prov_texts,
    }
    inserts.append(bulk.prepare_rows(dialect, _PROVENANCE, prov_cols, json_text=["provenance"]))
    pii_ids: list[int] = []
    pii_cols: dict[str, list[Any]] = {k: [] for k in PII_FIELDS}
    for i, p in zip(ids, profiles, strict=True):
        name, id_hash = p.get("legal_rep_name"), p.get("legal_rep_id_hash")
        if name is not None or id_hash is not None:
            pii_ids.append(i)
            pii_cols["legal_rep_name"].append(name)
            pii_cols["legal_rep_id_hash"].append(id_hash)
    if pii_ids:
        pii_table: dict[str, list[Any]] = {"snapshot_id": pii_ids, **pii_cols}
        inserts.append(bulk.prepare_rows(dialect, _PII, pii_table))
    snap_digests = _digests(snap_cols, texts, actor, now)
    prov_digests = _provenance_digests(ids, import_id, prov_texts)
    pii_refs = dict(zip(pii_ids, _pii_refs(pii_ids, pii_cols), strict=True))
    refs: list[list[dict[str, str]]] = []
    for k, snap_id in enumerate(ids):
        bound = [{"table": "snapshots", "id": str(snap_id), "sha256": snap_digests[k]},
                 {"table": "snapshot_provenance", "id": str(snap_id), "sha256": prov_digests[k]}]  # fmt: skip
        if snap_id in pii_refs:
            bound.append(pii_refs[snap_id])
        refs.append(bound)
    snaps = [
        NewSnapshot(id=i, uscc=u, name=nm, park_id=pk, as_of=a, profile=pub, content_sha256=h, created_by=actor,
                    created_at=now)
        for i, u, nm, pk, a, pub, h in zip(ids, snap_cols["uscc"], snap_cols["name"], snap_cols["park_id"], as_of,
                                           publics, shas, strict=True)
    ]  # fmt: skip
    return _Built(inserts, snaps, refs)


def _pii_refs(ids: list[int], cols: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """`binding.ref_values` of every personal-data row, from a template: the sorted compact JSON of its non-null
    columns (`legal_rep_id_hash`, `legal_rep_name`, `snapshot_id`). The first row, and a value that is not a str
    or that orjson refuses, go through `binding.ref_values` itself; the second row is checked against it, and
    should it differ (a column added to the table), every row is computed by it."""
    slow = [c.name for c in _PII.columns] != ["snapshot_id", *PII_FIELDS]  # a column added: the template is wrong
    out: list[dict[str, Any]] = []
    for i, name, id_hash in zip(ids, cols["legal_rep_name"], cols["legal_rep_id_hash"], strict=True):
        if slow or not out or not (type(name) in _STR_OR_NONE and type(id_hash) in _STR_OR_NONE):
            out.append(binding.ref_values("snapshot_pii", i, {"snapshot_id": i, "legal_rep_name": name,
                                                               "legal_rep_id_hash": id_hash}))  # fmt: skip
            continue
        try:
            text = (b"{" + (b'"legal_rep_id_hash":' + orjson.dumps(id_hash) + b"," if id_hash is not None else b"")
                    + (b'"legal_rep_name":' + orjson.dumps(name) + b"," if name is not None else b"")
                    + b'"snapshot_id":%d}' % i)  # fmt: skip
        except orjson.JSONEncodeError:  # a lone surrogate: the reference path
            out.append(binding.ref_values("snapshot_pii", i, {"snapshot_id": i, "legal_rep_name": name,
                                                               "legal_rep_id_hash": id_hash}))  # fmt: skip
            continue
        out.append(binding.bulk_ref("snapshot_pii", str(i), hashlib.sha256(text).hexdigest()))
    if len(out) > 1:  # the first row was computed by `binding.ref_values`: the second checks the template
        second = {"snapshot_id": ids[1], **{k: cols[k][1] for k in PII_FIELDS}}
        want = binding.ref_values("snapshot_pii", ids[1], second)
        if out[1] != want:
            log.warning("bulk personal-data digests differ from binding.ref_values; computed row by row instead")
            return _pii_refs_slow(ids, cols)
    return out


_STR_OR_NONE = frozenset({str, type(None)})


def _pii_refs_slow(ids: list[int], cols: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [binding.ref_values("snapshot_pii", i, {"snapshot_id": i, "legal_rep_name": n, "legal_rep_id_hash": h})
            for i, n, h in zip(ids, cols["legal_rep_name"], cols["legal_rep_id_hash"], strict=True)]  # fmt: skip


_SNAPSHOTS: Table = Snapshot.__table__  # type: ignore[assignment]  # a Table (declarative)
_PROVENANCE: Table = SnapshotProvenance.__table__  # type: ignore[assignment]
_PII: Table = SnapshotPii.__table__  # type: ignore[assignment]


def _quoted(value: str) -> bytes:
    return orjson.dumps(value)


def _digests(cols: dict[str, list[Any]], texts: list[bytes], actor: str, now: dt.datetime) -> list[str]:
    """`binding.digest_values` of every snapshot row, from a template: the sorted compact JSON of its non-null
    columns, the profile's canonical text spliced in. The first row is checked against `binding.digest_values`
    (a column added to the table later makes the template wrong: then every row is hashed the slow way)."""
    at = b'"created_at":' + _quoted(str(binding.normalised(now))) + b',"created_by":' + _quoted(actor) + b',"id":'
    out = []
    for k, snap_id in enumerate(cols["id"]):
        park = cols["park_id"][k]
        h = hashlib.sha256(b'{"as_of":"' + cols["as_of"][k].isoformat().encode() + b'","content_sha256":"'
                           + cols["content_sha256"][k].encode() + b'",' + at + b"%d" % snap_id + b',"name":'
                           + _quoted(cols["name"][k]) + (b',"park_id":' + _quoted(park) if park is not None else b"")
                           + b',"profile":')  # fmt: skip
        h.update(texts[k])
        h.update(b',"uscc":' + _quoted(cols["uscc"][k]) + b"}")
        out.append(h.hexdigest())
    first = {c: v[0] for c, v in cols.items()} | {"profile": orjson.loads(texts[0])}
    if out and out[0] != binding.digest_values({c.name: first.get(c.name) for c in _SNAPSHOTS.columns}):
        log.warning("bulk snapshot digests differ from binding.digest_values; computed row by row instead")
        out = [binding.digest_values({**{c: v[k] for c, v in cols.items()}, "profile": orjson.loads(texts[k])})
               for k in range(len(texts))]  # fmt: skip
    return out


def _provenance_digests(ids: list[int], import_id: str | None, texts: list[bytes]) -> list[str]:
    """`binding.digest_values` of every provenance row, from a template (checked on the first row as above); the
    head and body are hashed once per distinct text (a copy of that hash takes each row's id)."""
    head = b'{"import_id":' + _quoted(import_id) + b',"provenance":' if import_id is not None else b'{"provenance":'
    out = []
    started: dict[int, Any] = {}  # id of a text -> sha256 of head + text (the texts live until we return)
    for snap_id, body in zip(ids, texts, strict=True):
        if (base := started.get(id(body))) is None:
            base = started[id(body)] = hashlib.sha256(head + body)
        h = base.copy()
        h.update(b',"snapshot_id":%d}' % snap_id)
        out.append(h.hexdigest())
    if out:
        want = binding.digest_values({"snapshot_id": ids[0], "import_id": import_id,
                                      "provenance": orjson.loads(texts[0])})  # fmt: skip
        if out[0] != want or {c.name for c in _PROVENANCE.columns} != {"snapshot_id", "import_id", "provenance"}:
            log.warning("bulk provenance digests differ from binding.digest_values; computed row by row instead")
            out = [binding.digest_values({"snapshot_id": i, "import_id": import_id, "provenance": orjson.loads(t)})
                   for i, t in zip(ids, texts, strict=True)]  # fmt: skip
    return out


def add_many(
    session: Session,
    profiles: list[dict[str, Any]],
    *,
    actor: str,
    object_id: str,
    payload: dict[str, Any],
    provenances: list[dict[str, Any]] | None = None,
    import_id: str | None = None,
) -> list[NewSnapshot]:
    """Store many profiles as snapshots (bulk inserts); `snapshot.import` audit entries (one per `BIND_CHUNK`
    snapshots) bind every row written: the snapshots, their personal data and provenance.

    A slice at a time (the JSON texts never pile up): built without the database (`_build`), inserted, and bound
    by its entry. What is returned are the stored values (not ORM objects): read them, query by their ids."""
    if provenances is None:
        source = {"via": "import", "department": None, "import_id": import_id, "file": object_id, "by": actor}
        provenances = [single_source(p, {**source, "as_of": p["as_of"]}) for p in profiles]
    if not profiles:
        return []
    dialect = session.get_bind().dialect
    ids = bulk.next_ids(session, _SNAPSHOTS, len(profiles))
    snaps: list[NewSnapshot] = []
    for start in range(0, len(profiles), BIND_CHUNK):
        part = slice(start, start + BIND_CHUNK)
        built = _build(dialect, profiles[part], provenances[part], ids[part], actor=actor, import_id=import_id)
        for prepared in built.inserts:
            bulk.run_prepared(session.connection(), prepared)
        snaps += _bind(session, built, actor=actor, object_id=object_id, payload=payload)
    return snaps


def _bind(session: Session, built: _Built, *, actor: str, object_id: str, payload: dict[str, Any]) -> list[NewSnapshot]:
    """Append the `snapshot.import` entry of a slice whose rows are in; its stored values."""
    audit.append(session, actor, "snapshot.import", "import", object_id,
                 {**payload, "snapshot_ids": [x.id for x in built.snaps]},
                 bind_refs=[r for bound in built.refs for r in bound])  # fmt: skip
    return built.snaps


def provenance_of(session: Session, snapshot_id: int) -> dict[str, Any] | None:
    """The stored provenance of a snapshot (None before issue 13)."""
    row = session.get(SnapshotProvenance, snapshot_id)
    return row.provenance if row is not None else None


def latest_of(
    session: Session, usccs: list[str], *, before_id: int | None = None, chunk: int = 500
) -> dict[str, Snapshot]:
    """The newest snapshot of each of `usccs` that has one (older than snapshot `before_id` if given)."""
    out: dict[str, Snapshot] = {}
    for start in range(0, len(usccs), chunk):
        part = usccs[start : start + chunk]
        newest = select(func.max(Snapshot.id)).where(Snapshot.uscc.in_(part))
        if before_id is not None:
            newest = newest.where(Snapshot.id < before_id)
        newest = newest.group_by(Snapshot.uscc)
        for snap in session.scalars(select(Snapshot).where(Snapshot.id.in_(newest))):
            out[snap.uscc] = snap
    return out


def latest_ids_of(session: Session, usccs: list[str], *, chunk: int = 5000) -> dict[str, tuple[int, dt.date]]:
    """uscc -> (id, as_of) of the newest snapshot of each of `usccs` that has one: `latest_of` without the
    profiles (three columns, not ORM objects; a bank's whitelist asks for tens of thousands)."""
    out: dict[str, tuple[int, dt.date]] = {}
    for part in chunked(usccs, chunk):
        newest = select(func.max(Snapshot.id)).where(among(session, Snapshot.uscc, part)).group_by(Snapshot.uscc)
        for uscc, sid, as_of in session.execute(select(Snapshot.uscc, Snapshot.id, Snapshot.as_of).where(
                Snapshot.id.in_(newest))):  # fmt: skip
            out[uscc] = (int(sid), as_of)
    return out


@dataclass(frozen=True, slots=True)
class Prior:
    """An enterprise's newest snapshot as an import builds on it: its profile with the personal data, and
    the stored provenance (None before issue 13)."""

    id: int
    as_of: dt.date
    created_by: str
    profile: dict[str, Any]
    provenance: dict[str, Any] | None


def _loads(value: Any) -> Any:
    return canonjson.loads(value) if isinstance(value, str | bytes) else value


def priors_of(session: Session, usccs: Sequence[str]) -> dict[str, Prior]:
    """The newest snapshot of each of `usccs` that has one, with its personal data and provenance: one
    query per slice of `db.IN_CHUNK` codes (Core rows through the connection, JSON parsed by orjson — no ORM).

    Each distinct provenance text is parsed once and its dict shared by every prior that has it (one import
    gives thousands of snapshots the same provenance): read a prior's provenance, never change it."""
    out: dict[str, Prior] = {}
    provenances: dict[str | bytes, Any] = {}
    # SQLite's dates as their ISO text, parsed by `date.fromisoformat` (SQLAlchemy's per-row processor was a visible
    # share); PostgreSQL's driver gives dates (its text form would follow the server's DateStyle). SQLite's JSON as
    # its UTF-8 bytes, for orjson (no str made of every text first: ~3 µs a row less, measured)
    sqlite = session.get_bind().dialect.name == "sqlite"
    day: Any = cast(Snapshot.as_of, Text) if sqlite else Snapshot.as_of
    json_type: Any = LargeBinary if sqlite else Text
    for part in chunked(sorted(set(usccs))):
        newest = select(func.max(Snapshot.id)).where(among(session, Snapshot.uscc, part)).group_by(Snapshot.uscc)
        q = (
            select(Snapshot.id, Snapshot.uscc, day, Snapshot.created_by,
                   cast(Snapshot.profile, json_type), SnapshotPii.legal_rep_name, SnapshotPii.legal_rep_id_hash,
                   cast(SnapshotProvenance.provenance, json_type))
            .outerjoin(SnapshotPii, SnapshotPii.snapshot_id == Snapshot.id)
            .outerjoin(SnapshotProvenance, SnapshotProvenance.snapshot_id == Snapshot.id)
            .where(Snapshot.id.in_(newest))
        )  # fmt: skip
        for sid, uscc, as_of, by, profile, name, id_hash, prov in session.connection().execute(q):
            full = _loads(profile)  # as {**profile, "legal_rep_name": …, "legal_rep_id_hash": …}, without a copy
            full["legal_rep_name"], full["legal_rep_id_hash"] = name, id_hash
            if isinstance(prov, str | bytes):
                if (parsed := provenances.get(prov)) is None:
                    parsed = provenances[prov] = _loads(prov)
            else:
                parsed = _loads(prov)
            out[uscc] = Prior(sid, dt.date.fromisoformat(as_of) if sqlite else as_of, by, full, parsed)
    return out


def pii_of(session: Session, snapshot_ids: list[int], *, chunk: int = 500) -> dict[int, SnapshotPii]:
    """The personal data rows of some snapshots (those not erased)."""
    out: dict[int, SnapshotPii] = {}
    for start in range(0, len(snapshot_ids), chunk):
        part = snapshot_ids[start : start + chunk]
        for row in session.scalars(select(SnapshotPii).where(SnapshotPii.snapshot_id.in_(part))):
            out[row.snapshot_id] = row
    return out


def provenances_of(session: Session, snapshot_ids: list[int], *, chunk: int = 500) -> dict[int, dict[str, Any]]:
    """The stored provenance of some snapshots (absent for those stored before issue 13)."""
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(snapshot_ids), chunk):
        part = snapshot_ids[start : start + chunk]
        for row in session.scalars(select(SnapshotProvenance).where(SnapshotProvenance.snapshot_id.in_(part))):
            out[row.snapshot_id] = row.provenance
    return out


def get(session: Session, snapshot_id: int) -> Snapshot | None:
    return session.get(Snapshot, snapshot_id)


def profile_of(session: Session, snap: Snapshot) -> dict[str, Any]:
    """The snapshot's profile with its personal data, if not erased."""
    pii = session.get(SnapshotPii, snap.id)
    extra = {k: getattr(pii, k) for k in PII_FIELDS} if pii else dict.fromkeys(PII_FIELDS)
    return {**snap.profile, **extra}


@dataclass(frozen=True, slots=True)
class ToDecide:
    """An enterprise's newest snapshot as a decision reads it: its id, as_of and profile with the personal data."""

    id: int
    as_of: dt.date
    profile: dict[str, Any]


_TO_DECIDE = (
    select(Snapshot.id, Snapshot.as_of, Snapshot.profile, *(getattr(SnapshotPii, k) for k in PII_FIELDS))
    .outerjoin(SnapshotPii, SnapshotPii.snapshot_id == Snapshot.id)
    .where(Snapshot.uscc == bindparam("uscc"))
    .order_by(Snapshot.id.desc())
    .limit(1)
)  # built once: the one-decision request sends it every time


def latest_to_decide(session: Session, uscc: str) -> ToDecide | None:
    """`latest` and `profile_of` in one Core statement (issue 18: no ORM object, one round trip)."""
    row = session.connection().execute(_TO_DECIDE, {"uscc": uscc}).first()
    if row is None:
        return None
    return ToDecide(row[0], row[1], {**row[2], **dict(zip(PII_FIELDS, row[3:], strict=True))})


def latest(session: Session, uscc: str) -> Snapshot | None:
    """The newest snapshot of `uscc` (highest id: snapshots are append-only)."""
    return session.scalar(select(Snapshot).where(Snapshot.uscc == uscc).order_by(Snapshot.id.desc()).limit(1))


def of_enterprise(session: Session, uscc: str, *, limit: int = 100) -> list[Snapshot]:
    """Snapshots of `uscc`, newest first."""
    q = select(Snapshot).where(Snapshot.uscc == uscc).order_by(Snapshot.id.desc()).limit(limit)
    return list(session.scalars(q))


def latest_page(session: Session, *, park_id: str | None, after_id: int = 0, limit: int = 1000) -> list[Snapshot]:
    """The newest snapshot of every enterprise (optionally of one park), by id, paged by `after_id`."""
    newest = select(func.max(Snapshot.id)).group_by(Snapshot.uscc)
    if park_id is not None:
        newest = newest.where(Snapshot.park_id == park_id)
    q = select(Snapshot).where(Snapshot.id.in_(newest), Snapshot.id > after_id).order_by(Snapshot.id).limit(limit)
    return list(session.scalars(q))


def count_latest(session: Session, *, park_id: str | None) -> int:
    """How many enterprises (optionally of one park) have a snapshot."""
    q = select(func.count(func.distinct(Snapshot.uscc)))
    if park_id is not None:
        q = q.where(Snapshot.park_id == park_id)
    return int(session.scalar(q) or 0)


def any_snapshot(session: Session) -> bool:
    return session.scalar(select(Snapshot.id).limit(1)) is not None


def usccs_without(session: Session, subquery: Any) -> str | None:
    """The first enterprise (by snapshot id) whose USCC is not in `subquery`."""
    q = select(Snapshot.uscc).where(Snapshot.uscc.not_in(subquery)).order_by(Snapshot.id)
    return session.scalars(q.limit(1)).first()


def erase_pii(session: Session, *, uscc: str, actor: str, legal_basis: str) -> list[int]:
    """Erase the legal representative's personal data of every snapshot of `uscc`; the snapshot ids.

    Snapshots, decisions and the audit chain keep only hashes of the public profile, so replay
    and `audit verify` are unaffected. The audit entry names the fields erased, never their values.
    """
    ids = list(
        session.scalars(
            select(SnapshotPii.snapshot_id)
            .join(Snapshot, Snapshot.id == SnapshotPii.snapshot_id)
            .where(Snapshot.uscc == uscc)
            .order_by(SnapshotPii.snapshot_id)
        )
    )
    if not ids:
        return []
    session.execute(delete(SnapshotPii).where(SnapshotPii.snapshot_id.in_(ids)))
    audit.append(
        session, actor, "pii.erase", "enterprise", uscc,
        {"snapshot_ids": ids, "fields": list(PII_FIELDS), "legal_basis": legal_basis},
        bind_refs=[binding.deleted("snapshot_pii", i) for i in ids],
    )  # fmt: skip
    return ids
