"""Disputes (异议, 征信业管理条例 art. 25): file, list, answer in writing within 20 days; correct the record.

The enterprise (or the committee on its behalf) disputes one field of a snapshot or of a decision's
inputs, with the value it claims and its evidence. The dispute is due 20 days after receipt. While it
is open, the field is flagged wherever it is used (`dispute_flags`: decisions, the banks' answers,
reports). The committee answers: `corrected` stores a new snapshot with the corrected value (its
provenance is "dispute N", bound in the audit chain) and decides the enterprise again; `upheld` and
`cannot_verify` keep the record, each with a written reply. Overdue disputes are listed for the
auditor and counted in monitoring.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from parkcredit.app import rights_schemas as r
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.app.scope import ensure_may_see, own_uscc
from parkcredit.errors import Conflict, InvalidInput, NotFound
from parkcredit.profile import FIELDS, Profile
from parkcredit.store import decisions as store_decisions
from parkcredit.store import disputes as store
from parkcredit.store import snapshots
from parkcredit.store.audit import canonical
from parkcredit.store.tables import Dispute, Snapshot, utcnow

__all__ = [
    "RECEIPT_BACKDATE_DAYS", "bank_flags", "carried_provenance", "dispute_flags", "dispute_out", "file_dispute",
    "list_disputes", "overdue_disputes", "redecide", "report_disputes", "resolve_dispute",
]  # fmt: skip

RECEIPT_BACKDATE_DAYS = 365  # a letter recorded late may say when it arrived, within a year
_NOT_DISPUTABLE = ("uscc", "as_of")  # the identity and the date of a snapshot are not a disputed value


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def _label(field: str) -> tuple[str, str]:
    info = FIELDS.get(field)
    return (info.zh, info.en) if info else (field, field)


def dispute_out(row: Dispute, now: dt.datetime, new_decisions: list[r.ReDecision] | None = None) -> r.DisputeOut:
    zh, en = _label(row.field)
    due = _utc(row.due_at)
    return r.DisputeOut(
        dispute_id=row.id, uscc=row.uscc, snapshot_id=row.snapshot_id, decision_id=row.decision_id, field=row.field,
        field_zh=zh, field_en=en, recorded_value=row.recorded_value, claimed_value=row.claimed_value,
        statement=row.statement, evidence_ref=row.evidence_ref, evidence_sha256=row.evidence_sha256,
        filed_as=row.filed_as, filed_by=row.filed_by, received_at=row.received_at, due_at=due,
        status=row.status, overdue=row.status == "open" and _utc(now) > due,
        answered_late=row.resolved_at is not None and _utc(row.resolved_at) > due, reply=row.reply,
        corrected_value=row.corrected_value, resolved_by=row.resolved_by, resolved_at=row.resolved_at,
        correction_snapshot_id=row.correction_snapshot_id, new_decisions=new_decisions or [],
    )  # fmt: skip


def _flags(found: list[dict[str, Any]]) -> list[r.DisputeFlag]:
    out = []
    for f in found:
        zh, en = _label(f["field"])
        due = f["due_at"].date().isoformat()
        out.append(r.DisputeFlag(
            field=f["field"], dispute_id=f["dispute_id"], received_at=f["received_at"], due_at=f["due_at"],
            zh=f"「{zh}」正在异议处理中（第{f['dispute_id']}号，应于{due}前书面答复）",
            en=f"'{en}' is under dispute (no. {f['dispute_id']}, written answer due by {due})",
        ))  # fmt: skip
    return out


def dispute_flags(session: Session, uscc: str) -> list[r.DisputeFlag]:
    """The fields of `uscc` under an open dispute, as flags with zh/en text (for decisions, banks, reports)."""
    return _flags(store.disputed_fields(session, uscc))


def bank_flags(session: Session, contexts: Sequence[Any]) -> dict[str, list[Any]]:
    """A flag provider for the banks' answers (`eligibility.register_flag_provider`): one `FIELD_DISPUTED`
    flag per summary whose enterprise has fields under an open dispute, naming them (a batch: a few queries)."""
    from parkcredit.app.bank_schemas import Flag

    found = store.disputed_fields_of(session, [c.uscc for c in contexts])
    out: dict[str, list[Any]] = {}
    for c in contexts:
        flags = _flags(found.get(c.uscc, []))
        if flags:
            fields = sorted({f.field for f in flags})
            zh = "、".join(_label(f)[0] for f in fields)
            en = ", ".join(_label(f)[1] for f in fields)
            due = min(f.due_at for f in flags).date().isoformat()
            text_zh = f"企业对以下数据提出异议，正在核查（{due}前答复）：{zh}"
            text_en = f"The enterprise disputes, under review (answer due by {due}): {en}"
            out[c.decision_id] = [Flag(code="FIELD_DISPUTED", fields=fields, zh=text_zh, en=text_en)]
    return out


def carried_provenance(
    session: Session, prev: Snapshot, profile: dict[str, Any], changed: set[str], source: dict[str, Any]
) -> dict[str, Any]:
    """The provenance of a snapshot made from `prev` (issue 13's per-field form): the `changed` fields (and
    `as_of`) from `source`, every other field from where `prev` had it."""
    old = snapshots.field_sources(snapshots.provenance_of(session, prev.id))
    sources: list[dict[str, Any]] = [source]
    index: dict[str, int] = {}
    fields: dict[str, int] = {}
    unknown = {"via": "snapshot", "department": None, "import_id": None, "file": None,
               "as_of": prev.as_of.isoformat(), "by": prev.created_by, "snapshot_id": prev.id}  # fmt: skip
    for name, value in profile.items():
        if name in changed or name == "as_of":
            fields[name] = 0
            continue
        src = old.get(name) or (unknown if value is not None else None)
        if src is None:
            continue
        key = canonical(src)
        if key not in index:
            index[key] = len(sources)
            sources.append(src)
        fields[name] = index[key]
    return {"sources": sources, "fields": fields}


def _checked_profile(profile: dict[str, Any], field: str, value: Any, loc: tuple[str | int, ...]) -> dict[str, Any]:
    """`profile` with `field` set to `value`, validated as a whole profile (JSON form); InvalidInput at `loc`."""
    try:
        return Profile.model_validate({**profile, field: value}).model_dump(mode="json")
    except ValidationError as exc:
        msgs = "; ".join(e["msg"] for e in exc.errors() if field in e["loc"]) or str(exc.errors()[0]["msg"])
        raise InvalidInput(loc, f"not a valid value of {field}: {msgs}") from None


def _uscc_of(actor: Actor, body: r.DisputeIn) -> str:
    if actor.role == "enterprise":
        uscc = own_uscc(actor)
        ensure_may_see(actor, body.uscc or uscc)
        if body.received_at is not None:
            raise InvalidInput(("body", "received_at"), "only the committee records when a dispute was received")
        return uscc
    if body.uscc is None:
        raise InvalidInput(("body", "uscc"), "the committee files on behalf of an enterprise: give its uscc")
    return str(body.uscc)


def _received_at(body: r.DisputeIn, now: dt.datetime) -> dt.datetime:
    if body.received_at is None:
        return now
    at = _utc(body.received_at)
    if at > now + dt.timedelta(minutes=5):
        raise InvalidInput(("body", "received_at"), "a dispute cannot be received in the future")
    if at < now - dt.timedelta(days=RECEIPT_BACKDATE_DAYS):
        raise InvalidInput(("body", "received_at"), f"more than {RECEIPT_BACKDATE_DAYS} days ago")
    return at


def file_dispute(
    ctx: AppContext, actor: Actor, body: r.DisputeIn, *, idem: Idem | None = None
) -> r.DisputeOut | Replayed:
    """Record a dispute of one field; due 20 days after receipt. Conflict if that field is already disputed."""
    uscc = _uscc_of(actor, body)
    if body.field not in FIELDS or body.field in _NOT_DISPUTABLE:
        raise InvalidInput(("body", "field"), f"{body.field!r} is not a disputable profile field")
    if FIELDS[body.field].pii:  # a dispute record would keep personal data outside the erasable snapshot_pii
        raise InvalidInput(("body", "field"), f"{body.field} is personal data: the committee corrects it by a new "
                           "snapshot (and erases the old one on request), not through a dispute record")  # fmt: skip
    now = utcnow()
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, body)) is not None:
            return hit
        decision_id = str(body.decision_id) if body.decision_id else None
        if decision_id is not None:
            d = store_decisions.get(session, decision_id)
            if d is None or d.uscc != uscc:
                raise NotFound(f"no decision {decision_id} of {uscc}")
            snap = snapshots.get(session, d.snapshot_id)
        elif body.snapshot_id is not None:
            snap = snapshots.get(session, body.snapshot_id)
            if snap is None or snap.uscc != uscc:
                raise NotFound(f"no snapshot {body.snapshot_id} of {uscc}")
        else:
            snap = snapshots.latest(session, uscc)
            if snap is None:
                raise NotFound(f"no snapshot of {uscc}")
        assert snap is not None  # a foreign key
        if any(x.field == body.field for x in store.open_of(session, uscc)):
            raise Conflict(f"{body.field} of {uscc} is already under an open dispute")
        profile = snapshots.profile_of(session, snap)
        checked = _checked_profile(profile, body.field, body.claimed_value, ("body", "claimed_value"))
        if checked.get(body.field) == profile.get(body.field):
            raise InvalidInput(
                ("body", "claimed_value"), f"{body.field} is already {profile.get(body.field)!r} on record"
            )
        row = store.add(
            session, actor=actor.key_id, received_at=_received_at(body, now), uscc=uscc, snapshot_id=snap.id,
            decision_id=decision_id, field=body.field, recorded_value=profile.get(body.field),
            claimed_value=body.claimed_value, statement=body.statement, evidence_ref=body.evidence_ref,
            evidence_sha256=body.evidence_sha256,
            filed_as="enterprise" if actor.role == "enterprise" else "committee_on_behalf",
        )  # fmt: skip
        out = dispute_out(row, now)
        remember(session, actor, idem, 201, out)
        return out


def list_disputes(
    ctx: AppContext, actor: Actor, *, uscc: str | None = None, status: str | None = None, overdue: bool = False,
    after_id: int = 0, limit: int = 100,
) -> r.DisputePage:  # fmt: skip
    """Disputes by id: an enterprise sees its own; the committee and auditors all (or of one USCC, one status)."""
    if actor.role == "enterprise":
        uscc = uscc or own_uscc(actor)
    if uscc is not None:
        ensure_may_see(actor, uscc)
    now = utcnow()
    with ctx.read() as session:
        if overdue:
            rows = [d for d in store.overdue(session, now=now, limit=limit) if uscc is None or d.uscc == uscc]
            return r.DisputePage(items=[dispute_out(d, now) for d in rows], next_after_id=None)
        rows = store.page(session, uscc=uscc, status=status, after_id=after_id, limit=limit)
        return r.DisputePage(items=[dispute_out(d, now) for d in rows],
                             next_after_id=rows[-1].id if len(rows) == limit else None)  # fmt: skip


def overdue_disputes(ctx: AppContext) -> list[r.DisputeOut]:
    """Open disputes past their 20-day answer date, most overdue first (the auditor's page)."""
    now = utcnow()
    with ctx.read() as session:
        return [dispute_out(d, now) for d in store.overdue(session, now=now)]


def redecide(ctx: AppContext, actor: Actor, uscc: str) -> list[r.ReDecision]:
    """Decide `uscc` on its latest snapshot for every product it was decided for (or the default product)."""
    from parkcredit.app.decisions import decide_enterprise

    with ctx.read() as session:
        seen = {d.product for d in store_decisions.latest_of(session, uscc, limit=200)}
    products = sorted(p for p in seen if p in ctx.latest) or [ctx.default_product()]
    out = []
    for product in products:
        rec = decide_enterprise(ctx, actor, uscc=uscc, product=product)
        assert not isinstance(rec, Replayed)  # no idempotency key: never a replay
        out.append(r.ReDecision(decision_id=rec.decision_id, product=rec.product, snapshot_id=rec.snapshot_id,
                                eligible=rec.eligible, limit_yuan=rec.limit_yuan, band=rec.band,
                                total_score=rec.total_score))  # fmt: skip
    return out


def resolve_dispute(ctx: AppContext, actor: Actor, dispute_id: int, body: r.DisputeResolveIn) -> r.DisputeOut:
    """Answer an open dispute in writing; `corrected` stores a new snapshot ("dispute N") and decides again.

    Conflict if the dispute is already answered (a retry reads it with GET /v1/disputes).
    """
    now = utcnow()
    with ctx.write() as session:
        row = store.get(session, dispute_id)
        if row is None:
            raise NotFound(f"no dispute {dispute_id}")
        ensure_may_see(actor, row.uscc)
        if row.status != "open":
            raise Conflict(f"dispute {dispute_id} was already answered ({row.status})")
        snap_id = None
        value = None
        if body.status == "corrected":
            value = body.corrected_value if "corrected_value" in body.model_fields_set else row.claimed_value
            latest = snapshots.latest(session, row.uscc)
            assert latest is not None  # the disputed snapshot exists
            profile = _checked_profile(snapshots.profile_of(session, latest), row.field, value,
                                       ("body", "corrected_value"))  # fmt: skip
            source = {"via": "dispute", "department": None, "import_id": None, "file": None,
                      "as_of": profile["as_of"], "by": actor.key_id, "dispute_id": row.id,
                      "label": f"dispute {row.id}"}  # fmt: skip
            provenance = carried_provenance(session, latest, profile, {row.field}, source)
            snap = snapshots.add(session, profile=profile, actor=actor.key_id, provenance=provenance)
            snap_id = snap.id
        store.resolve(session, row, actor=actor.key_id, status=body.status, reply=body.reply, corrected_value=value,
                      correction_snapshot_id=snap_id, now=now)  # fmt: skip
        uscc = row.uscc
    new = redecide(ctx, actor, uscc) if snap_id is not None else []
    with ctx.read() as session:
        found = store.get(session, dispute_id)
        assert found is not None
        return dispute_out(found, now, new)


def report_disputes(session: Session, uscc: str, snapshot_id: int) -> list[dict[str, Any]]:
    """For a decision's report: the enterprise's open disputes, and those about or corrected by its snapshot."""
    now = utcnow()
    rows = store.page(session, uscc=uscc, limit=1000)
    keep = [d for d in rows if d.status == "open" or snapshot_id in (d.snapshot_id, d.correction_snapshot_id)]
    return [dispute_out(d, now).model_dump(mode="json") for d in keep]
