"""Rule-set versions: the version in force (asked here and nowhere else) and the lifecycle with
maker-checker — validate, draft, edit, approve, publish, retire — plus diff and backtest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from parkcredit.app import governance_schemas as g
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.errors import Forbidden, InvalidInput, NotFound
from parkcredit.governance.backtest import backtest
from parkcredit.governance.diff import diff_rulesets
from parkcredit.rules import RuleSet, RuleSetError
from parkcredit.rules.source import cached, compile_text
from parkcredit.store import frames
from parkcredit.store import rulesets as store
from parkcredit.store.tables import RuleSetVersion

__all__ = [
    "approve", "backtest_version", "check_text", "create_draft", "diff_versions", "history", "in_force",
    "list_versions",
    "publish", "read_version", "replace_draft", "retire", "validate_stored", "validate_text", "version_out",
]  # fmt: skip


def in_force(
    ctx: AppContext, session: Session, product: str, as_of: dt.date, loc: tuple[str | int, ...] = ("query", "product")
) -> RuleSet:
    """The published version of `product` in force at `as_of` — the one answer every surface uses.

    A snapshot dated before the product's first published version is decided by that first version;
    a product the store has no published version of falls back to its bundled file.
    """
    ctx.product(product, loc)  # unknown product -> InvalidInput naming the field
    ref = store.in_force_ref(session, product=product, as_of=as_of)
    if ref is None:
        return ctx.product(product, loc)
    if (hit := cached(ref[1])) is not None:  # compiled already: its text is not read again (issue 18)
        return hit
    row = store.get(session, ref[0])
    assert row is not None
    return ctx.compiled(row)


def check_text(text: str, filename: str) -> RuleSet:
    """The checked rule set, or InvalidInput on `text` naming the file, line, rule id and reason."""
    try:
        return compile_text(text, filename)
    except RuleSetError as exc:
        raise InvalidInput(("body", "text"), str(exc)) from None
    except Exception as exc:  # anything else a hostile file provokes is still the file's fault
        raise InvalidInput(("body", "text"), f"{filename}: cannot be checked: {type(exc).__name__}") from None


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns stored UTC times without their offset: give it back (the contract says date-time)."""
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t


def version_out(row: RuleSetVersion) -> g.RuleSetOut:
    return g.RuleSetOut(
        ruleset_id=row.id, product=row.product, version=row.version, effective_from=row.effective_from,
        status=row.status, status_zh=g.STATUS_LABELS[row.status][0], content_hash=row.content_hash,
        source=row.source, note=row.note, created_by=row.created_by, created_at=_utc(row.created_at),
        approved_by=row.approved_by, approved_at=_utc(row.approved_at), published_by=row.published_by,
        published_at=_utc(row.published_at), retired_by=row.retired_by, retired_at=_utc(row.retired_at),
        retire_reason=row.retire_reason,
    )  # fmt: skip


def _row(session: Session, ruleset_id: int) -> RuleSetVersion:
    row = store.get(session, ruleset_id)
    if row is None:
        raise NotFound(f"no rule set {ruleset_id}")
    return row


def list_versions(ctx: AppContext, *, product: str | None = None, status: str | None = None) -> list[g.RuleSetOut]:
    """Rule-set versions with their lifecycle, by product."""
    with ctx.read() as session:
        return [version_out(r) for r in store.list_versions(session, product=product, status=status)]


def read_version(ctx: AppContext, ruleset_id: int) -> g.RuleSetDetail:
    """One version with its exact YAML text."""
    with ctx.read() as session:
        row = _row(session, ruleset_id)
        return g.RuleSetDetail(**version_out(row).model_dump(), text=row.text)


def _validated(rs: RuleSet, source: str) -> g.ValidateOut:
    return g.ValidateOut(ok=True, source=source, product=rs.product, version=rs.version,
                         effective_from=rs.spec.effective_from, content_hash=rs.content_hash)  # fmt: skip


def validate_text(text: str, filename: str) -> g.ValidateOut:
    """Check a rule-set file without storing it."""
    return _validated(check_text(text, filename), filename)


def validate_stored(ctx: AppContext, ruleset_id: int) -> g.ValidateOut:
    """Re-check a stored version's text with today's checks."""
    with ctx.read() as session:
        row = _row(session, ruleset_id)
        source = f"ruleset_versions/{row.id}"
        return _validated(check_text(row.text, source), source)


def create_draft(
    ctx: AppContext, actor: Actor, *, text: str, filename: str, note: str, idem: Idem | None = None
) -> g.RuleSetOut | Replayed:
    """Store a checked rule-set file as a draft (a bad file is refused and nothing is stored)."""
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, {"filename": filename, "text": text, "note": note})) is not None:
            return hit
        rs = check_text(text, filename)
        row = store.add_draft(
            session, product=rs.product, version=rs.version, content_hash=rs.content_hash, text=text,
            effective_from=rs.spec.effective_from, source=filename, note=note, actor=actor.key_id,
        )  # fmt: skip
        out = version_out(row)
        remember(session, actor, idem, 201, out)
        return out


def replace_draft(
    ctx: AppContext, actor: Actor, ruleset_id: int, *, text: str, filename: str, note: str
) -> g.RuleSetOut:
    """Replace a draft's text (its author only); an approved or published version cannot change (409)."""
    with ctx.write() as session:
        row = _row(session, ruleset_id)
        if row.status != "draft":
            raise store.StoreConflict(f"rule set {row.id} is {row.status}: it cannot change; submit a new draft")
        rs = check_text(text, filename)
        store.replace_draft(
            session, row, product=rs.product, version=rs.version, content_hash=rs.content_hash, text=text,
            effective_from=rs.spec.effective_from, source=filename, note=note, actor=actor.key_id,
        )  # fmt: skip
        return version_out(row)


def approve(
    ctx: AppContext, actor: Actor, ruleset_id: int, *, content_hash: str, note: str = "", idem: Idem | None = None
) -> g.RuleSetOut | Replayed:
    """Approve the draft the approver reviewed (`content_hash` of its text: 409 if it changed since).

    Maker-checker: never by the author — compared by key holder, so a second key of the same person
    is refused too (409).
    """
    _require(actor, "approver")
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, {"id": ruleset_id, "note": note, "hash": content_hash})) is not None:
            return hit
        row = _row(session, ruleset_id)
        check_text(row.text, f"ruleset_versions/{row.id}")
        store.approve(session, row, actor=actor.key_id, note=note, content_hash=content_hash)
        out = version_out(row)
        remember(session, actor, idem, 200, out)
        return out


def publish(
    ctx: AppContext, actor: Actor, ruleset_id: int, *, content_hash: str, idem: Idem | None = None
) -> g.RuleSetOut | Replayed:
    """Publish the approved version reviewed (`content_hash`): from its effective_from it decides snapshots of
    that as_of or later. Two publications of one product are serialised; the loser of a clash gets 409."""
    _require(actor, "approver")
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, {"id": ruleset_id, "hash": content_hash})) is not None:
            return hit
        row = _row(session, ruleset_id)
        check_text(row.text, f"ruleset_versions/{row.id}")
        store.publish(session, row, actor=actor.key_id, content_hash=content_hash)
        out = version_out(row)
        remember(session, actor, idem, 200, out)
    ctx.refresh()
    return out


def retire(
    ctx: AppContext, actor: Actor, ruleset_id: int, *, reason: str, idem: Idem | None = None
) -> g.RuleSetOut | Replayed:
    """Retire a version (kept for replay). Approver for approved/published ones; a draft's author may withdraw it."""
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, {"id": ruleset_id, "reason": reason})) is not None:
            return hit
        row = _row(session, ruleset_id)
        if actor.role != "approver" and not (row.status == "draft" and row.created_by == actor.key_id):
            raise Forbidden(
                "only an approver retires an approved or published rule set (an author may withdraw a draft)"
            )
        store.retire(session, row, actor=actor.key_id, reason=reason)
        out = version_out(row)
        remember(session, actor, idem, 200, out)
    ctx.refresh()
    return out


def _require(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"role {actor.role!r} may not do this (needs {' or '.join(roles)})")


def _baseline(session: Session, row: RuleSetVersion, against: int | None) -> RuleSetVersion:
    if against is not None:
        return _row(session, against)
    published = [r for r in store.list_versions(session, product=row.product, status="published") if r.id != row.id]
    if not published:
        raise NotFound(f"no other published version of {row.product} to compare with; pass `against`")
    return max(published, key=lambda r: (r.effective_from, r.id))


def diff_versions(ctx: AppContext, ruleset_id: int, *, against: int | None = None) -> g.DiffOut:
    """What changed from `against` (default: the latest published version of the product) to this version."""
    with ctx.read() as session:
        row = _row(session, ruleset_id)
        base = _baseline(session, row, against)
        changes = diff_rulesets(ctx.compiled(base), ctx.compiled(row))
        return g.DiffOut(old=version_out(base), new=version_out(row), count=len(changes),
                         changes=[g.ChangeOut(**c.to_dict()) for c in changes])  # fmt: skip


def backtest_version(
    ctx: AppContext, ruleset_id: int, *, against: int | None = None, park_id: str | None = None
) -> g.BacktestOut:
    """What-if: this version against the baseline on the current portfolio (latest snapshots) and outcomes."""
    with ctx.read() as session:
        row = _row(session, ruleset_id)
        base = _baseline(session, row, against)
        frame = frames.portfolio(session, park_id)
        bad = frames.outcome_labels(session, row.product, frame["uscc"])
        report: dict[str, Any] = backtest(frame, ctx.compiled(base), ctx.compiled(row), bad=bad, model=ctx.model)
        return g.BacktestOut(park_id=park_id, baseline_id=base.id, candidate_id=row.id, **report)


def history(ctx: AppContext) -> tuple[list[RuleSetVersion], list[str]]:
    """Every stored version by product, and the columns the history table shows (not the text)."""
    with ctx.read() as session:
        rows = store.list_versions(session)
    return rows, [c.key for c in RuleSetVersion.__table__.columns if c.key != "text"]


def latest_other(ctx: AppContext, candidate: RuleSet) -> RuleSet:
    """The latest published version of the candidate's product that is not the candidate (a baseline)."""
    with ctx.read() as session:
        others = [r for r in store.list_versions(session, product=candidate.product, status="published")
                  if r.content_hash != candidate.content_hash]  # fmt: skip
        if not others:
            raise InvalidInput(("against",), f"no other published version of {candidate.product}; pass --against")
        return ctx.compiled(max(others, key=lambda r: (r.effective_from, r.id)))


def portfolio_with_outcomes(ctx: AppContext, product: str, *, park_id: str | None = None) -> tuple[Any, Any]:
    """(latest snapshot of every enterprise as a canonical frame, its 0/1/NaN outcome per enterprise)."""
    with ctx.read() as session:
        frame = frames.portfolio(session, park_id)
        return frame, frames.outcome_labels(session, product, frame["uscc"])


def seed_bundled(ctx: AppContext, bundled: dict[str, RuleSet]) -> list[tuple[str, str]]:
    """Store bundled rule sets as first published versions of products the store lacks; (product, version) added."""
    with ctx.write() as session:
        added = [(r.product, r.version) for r in store.seed(session, [bundled[c] for c in sorted(bundled)])]
    ctx.refresh()
    return added
