"""Credit events and their repair (信用修复): record a negative record, record its repair, re-decide.

Recording an event or a repair stores a new snapshot of the enterprise whose event-fed fields
(`profile.events.derive_counts`: penalties, accidents, listings) are derived from the events that
still count — provenance "credit events", in the audit chain — and decides the enterprise again
(2026 信用修复管理办法 art. 3: "有关方面应当更新信用评价结果"). A repair is refused before the record's
minimum disclosure period has passed. The rule files keep reading "env penalties in 36 months".
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from pydantic import ValidationError
from sqlalchemy.orm import Session

from parkcredit.app import rights_schemas as r
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.disputes import carried_provenance, redecide
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.app.scope import ensure_may_see
from parkcredit.errors import Conflict, Forbidden, InvalidInput, NotFound
from parkcredit.profile import Profile
from parkcredit.profile.departments import department_name
from parkcredit.profile.events import (
    INCIDENT_LEVELS,
    KINDS,
    SEVERITIES,
    counts_at,
    derive_counts,
    earliest_repair,
    min_disclosure_months,
)  # fmt: skip
from parkcredit.profile.events import CreditEvent as Event
from parkcredit.store import audit, snapshots
from parkcredit.store import credit_events as store
from parkcredit.store.tables import CreditEvent, Snapshot, utcnow

__all__ = ["event_out", "list_events", "record_event", "repair_event", "report_events"]

PROVENANCE = "credit events"


def event_out(row: CreditEvent) -> r.CreditEventOut:
    kind = KINDS.get(row.kind)
    return r.CreditEventOut(
        event_id=row.id, uscc=row.uscc, kind=row.kind, kind_zh=kind.zh if kind else row.kind,
        kind_en=kind.en if kind else row.kind, department=row.department, occurred_on=row.occurred_on,
        severity=row.severity, amount_yuan=row.amount_yuan, reference=row.reference,
        min_disclosure_months=row.min_disclosure_months,
        earliest_repair_on=earliest_repair(row.kind, row.severity, row.occurred_on, row.min_disclosure_months),
        repaired_on=row.repaired_on, repair_evidence_ref=row.repair_evidence_ref,
        repair_evidence_sha256=row.repair_evidence_sha256, recorded_by=row.recorded_by, recorded_at=row.recorded_at,
    )  # fmt: skip


def _domain(row: CreditEvent) -> Event:
    return Event(kind=row.kind, occurred_on=row.occurred_on, severity=row.severity, amount_yuan=row.amount_yuan,
                 repaired_on=row.repaired_on, event_id=row.id)  # fmt: skip


def _resnapshot(session: Session, actor: Actor, uscc: str, today: dt.date) -> tuple[Snapshot, dict[str, object]]:
    """A new snapshot of `uscc`: its latest profile with the event-fed fields derived at the new as_of.

    The as_of moves forward only as far as the newest event date (occurrence or repair) up to today,
    so a repair takes effect in the snapshot while the other inputs keep their own date.
    """
    latest = snapshots.latest(session, uscc)
    if latest is None:
        raise NotFound(f"no snapshot of {uscc}; store its profile first")
    rows = store.of_enterprise(session, uscc)
    dates = [d for e in rows for d in (e.occurred_on, e.repaired_on) if d is not None and d <= today]
    as_of = max([latest.as_of, *dates])
    derived = derive_counts([_domain(e) for e in rows], as_of)
    try:
        profile = Profile.model_validate(
            {**snapshots.profile_of(session, latest), **derived, "as_of": as_of.isoformat()}
        ).model_dump(mode="json")
    except ValidationError as exc:  # the derived values are of the schema's types; say so if not
        raise InvalidInput(("body",), f"the derived profile is not valid: {exc.errors()[0]['msg']}") from None
    source = {"via": "credit events", "department": None, "import_id": None, "file": None,
              "as_of": as_of.isoformat(), "by": actor.key_id, "event_ids": [e.id for e in rows],
              "label": PROVENANCE}  # fmt: skip
    provenance = carried_provenance(session, latest, profile, set(derived), source)
    snap = snapshots.add(session, profile=profile, actor=actor.key_id, provenance=provenance)
    audit.append(
        session, actor.key_id, "snapshot.provenance", "snapshot", snap.id,
        {"uscc": uscc, "provenance": PROVENANCE, "event_ids": [e.id for e in rows], "derived": derived,
         "repaired_on": {str(e.id): e.repaired_on for e in rows if e.repaired_on is not None},
         "as_of": as_of, "previous_snapshot_id": latest.id},
    )  # fmt: skip
    return snap, derived


def _check_department(actor: Actor, kind: str) -> None:
    """A department key records and repairs only its own department's events (the committee: all)."""
    if actor.role != "department":
        return
    try:
        own = department_name(actor.department or "")
    except ValueError:
        own = ""
    if own != KINDS[kind].dept:
        raise Forbidden(f"a {actor.department} key records only its own department's events; {kind} is "
                        f"{KINDS[kind].dept}'s")  # fmt: skip


def _check_severity(body: r.CreditEventIn) -> None:
    allowed = INCIDENT_LEVELS if body.kind == "env_incident" else SEVERITIES
    if body.severity not in allowed:
        raise InvalidInput(("body", "severity"), f"{body.kind} takes one of {', '.join(allowed)}")


def record_event(
    ctx: AppContext, actor: Actor, body: r.CreditEventIn, *, idem: Idem | None = None
) -> r.CreditEventResult | Replayed:
    """Record a negative event; store the snapshot with the derived fields and decide the enterprise again."""
    _check_department(actor, body.kind)
    _check_severity(body)
    today = dt.date.today()
    if body.occurred_on > today:
        raise InvalidInput(("body", "occurred_on"), "an event cannot occur in the future")
    kind = KINDS[body.kind]
    floor = min_disclosure_months(body.kind, body.severity)
    months = floor if body.min_disclosure_months is None else body.min_disclosure_months
    if months < floor:
        raise InvalidInput(("body", "min_disclosure_months"),
                           f"at least {floor} months for a {body.severity} {body.kind}")  # fmt: skip
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, body)) is not None:
            return hit
        if snapshots.latest(session, str(body.uscc)) is None:
            raise NotFound(f"no snapshot of {body.uscc}; store its profile first")
        row = store.add(
            session, actor=actor.key_id, uscc=str(body.uscc), kind=body.kind, department=kind.dept,
            occurred_on=body.occurred_on, severity=body.severity, amount_yuan=body.amount_yuan,
            reference=body.reference, min_disclosure_months=months,
        )  # fmt: skip
        snap, derived = _resnapshot(session, actor, row.uscc, today)
        event, snap_id, as_of, uscc = event_out(row), snap.id, snap.as_of, row.uscc
    out = r.CreditEventResult(event=event, snapshot_id=snap_id, as_of=as_of, derived=derived,
                              new_decisions=redecide(ctx, actor, uscc))  # fmt: skip
    if idem is not None and idem.key is not None:
        with ctx.write() as session:
            remember(session, actor, idem, 201, out)
    return out


def repair_event(ctx: AppContext, actor: Actor, event_id: int, body: r.CreditRepairIn) -> r.CreditEventResult:
    """Record the repair of an event (after its minimum disclosure period); re-snapshot and decide again.

    Conflict if it is already repaired; InvalidInput naming `repaired_on` before the period ends.
    """
    today = dt.date.today()
    with ctx.write() as session:
        row = store.get(session, event_id)
        if row is None:
            raise NotFound(f"no credit event {event_id}")
        ensure_may_see(actor, row.uscc)
        _check_department(actor, row.kind)
        if row.repaired_on is not None:
            raise Conflict(f"credit event {event_id} was already repaired on {row.repaired_on}")
        first = earliest_repair(row.kind, row.severity, row.occurred_on, row.min_disclosure_months)
        if body.repaired_on < first:
            raise InvalidInput(
                ("body", "repaired_on"),
                f"before the end of the minimum disclosure period ({row.min_disclosure_months} months from "
                f"{row.occurred_on}): a repair takes effect on {first} at the earliest",
            )
        if body.repaired_on > today:
            raise InvalidInput(("body", "repaired_on"), "a repair cannot take effect in the future")
        store.repair(session, row, actor=actor.key_id, repaired_on=body.repaired_on, evidence_ref=body.evidence_ref,
                     evidence_sha256=body.evidence_sha256, now=utcnow())  # fmt: skip
        snap, derived = _resnapshot(session, actor, row.uscc, today)
        event, snap_id, as_of, uscc = event_out(row), snap.id, snap.as_of, row.uscc
    return r.CreditEventResult(
        event=event, snapshot_id=snap_id, as_of=as_of, derived=derived, new_decisions=redecide(ctx, actor, uscc)
    )


def list_events(ctx: AppContext, actor: Actor, uscc: str) -> list[r.CreditEventOut]:
    """The enterprise's credit events, oldest first (an enterprise key: its own only)."""
    ensure_may_see(actor, uscc)
    with ctx.read() as session:
        return [event_out(e) for e in store.of_enterprise(session, uscc)]


def report_events(session: Session, snapshot_id: int, as_of: dt.date) -> list[dict[str, object]]:
    """For a decision's report: the credit events its snapshot was derived from (provenance "credit events"),
    each saying whether it counts in the decision or was repaired by the snapshot's as_of."""
    entry = audit.first_entry(session, action="snapshot.provenance", object_id=str(snapshot_id))
    if entry is None:
        return []
    wanted = set(entry.payload.get("event_ids") or [])
    known = entry.payload.get("repaired_on") or {}  # the repairs known when the snapshot was made
    out: list[dict[str, object]] = []
    for row in (e for e in store.of_enterprise(session, entry.payload.get("uscc", "")) if e.id in wanted):
        then = dt.date.fromisoformat(known[str(row.id)]) if str(row.id) in known else None
        event = dataclasses.replace(_domain(row), repaired_on=then)
        shown = event_out(row).model_dump(mode="json") | {"repaired_on": then.isoformat() if then else None}
        out.append(shown | {"repaired": then is not None and then <= as_of, "counts": counts_at(event, as_of)})
    return out
