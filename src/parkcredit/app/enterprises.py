"""Enterprises: store a profile snapshot, read an enterprise, its path to eligibility, erase personal data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parkcredit.app import alerts, views
from parkcredit.app import governance_schemas as g
from parkcredit.app import schemas as s
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.app.imports import check_numbers, sources_of
from parkcredit.app.rulesets import in_force
from parkcredit.app.scope import ensure_may_see
from parkcredit.errors import InvalidInput, NotFound
from parkcredit.profile import plausible, to_frame
from parkcredit.store import decisions, overrides, snapshots
from parkcredit.store.tables import Decision, Override, Snapshot

__all__ = ["EnterprisePage", "create_snapshot", "enterprise_page", "erase_personal_data", "read_enterprise",
           "read_snapshots"]  # fmt: skip


def create_snapshot(
    ctx: AppContext, actor: Actor, profile: dict[str, Any], *, idem: Idem | None = None
) -> s.SnapshotOut | Replayed:
    """Store a validated profile (JSON form) as a new snapshot of the enterprise."""
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, profile)) is not None:
            return hit
        check_numbers(profile)
        check_plausible(profile)
        snap = snapshots.add(session, profile=profile, actor=actor.key_id)
        alerts.on_new_snapshots(session, [snap], actor=actor.key_id)  # early warning for the banks (issue 14)
        out = views.snapshot(snap)
        remember(session, actor, idem, 201, out)
        return out


def check_plausible(profile: dict[str, Any], loc: tuple[str | int, ...] = ("body",)) -> None:
    """Refuse (InvalidInput naming the field) a date that cannot be or a raw ID number (`profile.plausible`:
    the same checks an import applies row by row)."""
    found = plausible.problems(profile)
    if found:
        raise InvalidInput((*loc, found[0].field), f"{found[0].en} / {found[0].zh}", "implausible")


def read_enterprise(ctx: AppContext, uscc: str, *, actor: Actor | None = None) -> s.EnterpriseOut:
    """The enterprise's latest snapshot and its latest decisions (Forbidden for another enterprise's key)."""
    ensure_may_see(actor, uscc)
    with ctx.read() as session:
        snap = snapshots.latest(session, uscc)
        if snap is None:
            raise NotFound(f"no snapshot of {uscc}")
        rows = decisions.latest_of(session, uscc)
        return s.EnterpriseOut(
            snapshot=views.snapshot_detail(snap),
            decisions=[views.decision_summary(d) for d in rows],
            provenance=sources_of(snapshots.provenance_of(session, snap.id)),
        )


def read_snapshots(ctx: AppContext, uscc: str, *, actor: Actor | None = None) -> list[s.SnapshotOut]:
    """The enterprise's snapshots, newest first (Forbidden for another enterprise's key)."""
    ensure_may_see(actor, uscc)
    with ctx.read() as session:
        return [views.snapshot(x) for x in snapshots.of_enterprise(session, uscc)]


@dataclass
class EnterprisePage:
    """What the committee's enterprise page shows."""

    snap: Snapshot
    snaps: list[Snapshot]
    decisions: list[Decision]
    current: Decision | None
    overrides: list[Override]
    eligible_now: bool | None
    path: list[dict[str, Any]] | None
    path_error: str | None
    explained: dict[str, Any] | None = None  # counterfactual.explain: record, reasons with fixes, waiting, options
    policies: list[dict[str, Any]] | None = None  # 政策找企业: each policy with matched and its criteria
    stale: bool = False  # the latest snapshot is newer than the one the latest decision used


def enterprise_page(ctx: AppContext, uscc: str, product: str) -> EnterprisePage:
    """Snapshots, decisions, overrides, the decision explained (reasons with what would change them, what
    waiting does, minimal changes) and the policies it matches — decided with the version in force at the
    latest snapshot's as_of (the same version a decision of it would use)."""
    from parkcredit.app.policies import match_frame
    from parkcredit.model.counterfactual import explain

    with ctx.read() as session:
        snaps = snapshots.of_enterprise(session, uscc)
        if not snaps:
            raise NotFound(f"no enterprise {uscc}")
        latest = snaps[0]
        rows = decisions.latest_of(session, latest.uscc, limit=50)
        current = next((d for d in rows if d.product == product), None)
        path: list[dict[str, Any]] | None = None
        path_error = eligible_now = None
        explained = matched = None
        try:
            ruleset = in_force(ctx, session, product, latest.as_of)
            frame = to_frame([snapshots.profile_of(session, latest)])
            explained = explain(frame, ruleset, ctx.model, max_changes=3, max_options=6)
            eligible_now = bool(explained["record"]["eligible"])
            path = explained["options"]
            matched = match_frame(ctx, frame)
        except Exception as exc:  # the page shows why, the rest stays usable
            path_error = f"{type(exc).__name__}: {exc}"
        found = overrides.of_decisions(session, [d.id for d in rows])
        stale = current is not None and current.snapshot_id != latest.id
        return EnterprisePage(latest, snaps, rows, current, found, eligible_now, path, path_error, explained, matched,
                              stale)  # fmt: skip


def erase_personal_data(
    ctx: AppContext, actor: Actor, uscc: str, *, legal_basis: str, idem: Idem | None = None
) -> g.EraseOut | Replayed:
    """Erase the legal representative's personal data of every snapshot (replay and the audit chain stay intact)."""
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, {"uscc": uscc, "legal_basis": legal_basis})) is not None:
            return hit
        if snapshots.latest(session, uscc) is None:
            raise NotFound(f"no snapshot of {uscc}")
        ids = snapshots.erase_pii(session, uscc=uscc, actor=actor.key_id, legal_basis=legal_basis)
        out = g.EraseOut(
            uscc=uscc, erased_snapshot_ids=ids, fields=list(snapshots.PII_FIELDS),
            zh=f"已删除{len(ids)}份快照中的法定代表人个人信息；决策记录与审计链保留（仅含哈希）",
            en=f"erased the legal representative's personal data of {len(ids)} snapshot(s); decisions and the audit "
            "chain are kept (they hold hashes only)",
        )  # fmt: skip
        remember(session, actor, idem, 200, out)
        return out
