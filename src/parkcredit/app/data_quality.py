"""A department's data in the store (数据质量): coverage, staleness, and what jumped in its last feed.

Read over the newest snapshot of every enterprise: for each field the department supplies, how
many enterprises have a value; for its graded signals (`profile.freshness`), how many values are
past their validity at the snapshot's as_of, and how many carry no evaluation year; for its
`*_valid_until` dates (certificates, the safety grade), how many have passed. For its last
feed, the values that moved a lot against each enterprise's snapshot before that feed.
"""

from __future__ import annotations

from typing import Any

from parkcredit.app import import_schemas as m
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.imports import import_summary, resolve_department
from parkcredit.errors import Forbidden, InvalidInput
from parkcredit.profile.departments import DEPARTMENTS, department_fields, department_slug
from parkcredit.profile.freshness import SIGNALS, valid_until_date
from parkcredit.profile.schema import FIELDS
from parkcredit.store import imports, snapshots

__all__ = ["JUMP_RATIO", "MAX_JUMPS", "data_quality", "jumped"]

JUMP_RATIO = 0.5  # a number that changed by more than half
MAX_JUMPS = 100
PAGE = 2000


def jumped(kind: str, old: Any, new: Any) -> bool:
    """True when a value moved a lot: a number by more than `JUMP_RATIO` (or from / to 0), anything else changed."""
    if old is None or new is None:
        return False
    if kind in ("int", "float"):
        if (old == 0) != (new == 0):
            return True
        return bool(old != 0 and abs(new - old) / abs(old) > JUMP_RATIO)
    return bool(old != new)


def _slug(actor: Actor, department: str) -> str:
    if actor.role == "department":
        own = resolve_department(actor, None)
        assert own is not None  # a department key always has its department
        try:
            asked = department_slug(department)
        except ValueError as exc:
            raise InvalidInput(("path", "department"), str(exc)) from None
        if asked != own:
            raise Forbidden(f"a {own} key sees the data quality of {own} only, not {asked}")
        return own
    try:
        return department_slug(department)
    except ValueError as exc:
        raise InvalidInput(("path", "department"), str(exc)) from None


def data_quality(ctx: AppContext, actor: Actor, department: str) -> m.DataQualityOut:
    """Coverage, staleness and jumps of one department's fields (a department key: its own only)."""
    slug = _slug(actor, department)
    fields = department_fields(slug)
    signals = [s for s in SIGNALS if s.field in fields]
    filled = dict.fromkeys(fields, 0)
    stale = {s.field: 0 for s in signals}
    # certificates and grades that carry their own end date (安全标准化有效期至, 高新技术企业有效期至 …)
    until_fields = [n for n in fields if n.endswith("_valid_until") and FIELDS[n].kind == "date"]
    stale.update(dict.fromkeys(until_fields, 0))
    undated = {s.field: 0 for s in signals}
    total = 0
    with ctx.read() as session:
        after = 0
        while page := snapshots.latest_page(session, park_id=None, after_id=after, limit=PAGE):
            after = page[-1].id
            for snap in page:
                total += 1
                profile = snap.profile
                for name in fields:
                    if profile.get(name) is not None:
                        filled[name] += 1
                as_of = snap.as_of
                for sig in signals:
                    if profile.get(sig.field) is None:
                        continue
                    year = profile.get(sig.year_field)
                    if year is None:
                        undated[sig.field] += 1
                    elif valid_until_date(sig, int(year)) < as_of:
                        stale[sig.field] += 1
                for name in until_fields:
                    until = profile.get(name)
                    if isinstance(until, str) and until < as_of.isoformat():
                        stale[name] += 1
        last = imports.latest_feed(session, slug)
        jumps: list[m.Jump] = []
        jumps_total = 0
        if last is not None:
            fed = imports.snapshots_of(session, last.id)
            before = snapshots.latest_of(session, [s.uscc for s in fed], before_id=min((s.id for s in fed), default=0))
            for snap in fed:
                prev = before.get(snap.uscc)
                if prev is None:
                    continue
                for name in last.fields:
                    if name not in FIELDS or name in ("uscc", "name", "as_of"):
                        continue
                    old, new = prev.profile.get(name), snap.profile.get(name)
                    if jumped(FIELDS[name].kind, old, new):
                        jumps_total += 1
                        if len(jumps) < MAX_JUMPS:
                            jumps.append(m.Jump(uscc=snap.uscc, field=name, old=old, new=new))
        rows = [
            m.FieldQuality(
                field=name, zh=FIELDS[name].zh, filled=filled[name],
                coverage=round(filled[name] / total, 4) if total else 0.0, stale=stale.get(name),
                undated=undated.get(name),
                stale_share=(round(stale[name] / filled[name], 4) if filled[name] else 0.0) if name in stale else None,
            )
            for name in fields
        ]  # fmt: skip
        return m.DataQualityOut(
            department=slug, department_zh=DEPARTMENTS[slug], enterprises=total, fields=rows,
            last_import=import_summary(last) if last is not None else None, jumps=jumps, jumps_total=jumps_total,
        )  # fmt: skip
