"""Adapter between stored snapshots and the domain's `decide`: score, record, replay.

The decision record stored and returned is `Decisions.record(i)` plus `decision_id` and
`snapshot_id`; its canonical JSON (`decision.canonical_json`) is what replay compares byte for byte.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from parkcredit.decision import canonical_json, decide
from parkcredit.profile import to_frame
from parkcredit.rules import RuleSet, parse_ruleset
from parkcredit.service.errors import FieldError
from parkcredit.store import repo
from parkcredit.store.tables import Decision, Snapshot

__all__ = ["Replay", "check_numbers", "compute", "compute_in_force", "replay", "store"]


MAX_EXACT = 2**53  # the decision frame holds numbers as float64: integers are exact below this


def check_numbers(profile: dict[str, Any]) -> None:
    """Refuse (422, naming the field) a number the decision frame cannot hold exactly."""
    for name, value in profile.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= MAX_EXACT:
            raise FieldError(("body", name), f"must be below 2**53 (9,007,199,254,740,992), got {str(value)[:20]}…")


def _records(
    profiles: list[dict[str, Any]], ruleset: RuleSet, model: Any, model_status: dict[str, Any]
) -> list[dict[str, Any]]:
    try:
        frame = to_frame(profiles)
    except (OverflowError, ValueError) as exc:  # snapshots stored before check_numbers existed
        raise FieldError(("snapshot",), f"the stored profile cannot be decided: {exc}") from None
    decisions = decide(frame, ruleset, model)
    out = []
    for i in range(len(decisions)):
        rec = decisions.record(i)
        if model is None and model_status.get("status") not in (None, "ok"):
            # say why there is no model (DESIGN §6: the model's version or null, and its status)
            rec["model"] = {**rec["model"], "status": str(model_status["status"])}
        out.append(rec)
    return out


def compute(
    session: Session, snapshots: list[Snapshot], ruleset: RuleSet, model: Any, model_status: dict[str, Any]
) -> list[dict[str, Any]]:
    """Decision records of `snapshots` as one vectorised batch (reads only; run it outside the write lock)."""
    records = _records([repo.profile_of(session, s) for s in snapshots], ruleset, model, model_status)
    return [
        {"decision_id": str(uuid.uuid4()), "snapshot_id": snap.id, **rec}
        for snap, rec in zip(snapshots, records, strict=True)
    ]


def store(session: Session, records: list[dict[str, Any]], ruleset: RuleSet, actor: str) -> list[Decision]:
    """Store computed records and the rule-set version they used (inside a write transaction)."""
    rs_row = repo.ruleset_version(
        session, ruleset.product, ruleset.version, ruleset.content_hash, ruleset.text, ruleset.spec.effective_from
    )
    return [repo.add_decision(session, rec, canonical_json(rec), rec["snapshot_id"], rs_row, actor) for rec in records]


def compute_in_force(
    session: Session, snapshots: list[Snapshot], product: str, services: Any
) -> list[tuple[RuleSet, list[dict[str, Any]]]]:
    """Decision records of `snapshots`, each decided by the version of `product` in force at its as_of,
    as (rule set, records) groups (one vectorised batch per version)."""
    groups: dict[str, tuple[RuleSet, list[Snapshot]]] = {}
    for snap in snapshots:
        rs = services.ruleset(product, session=session, as_of=snap.as_of)
        groups.setdefault(rs.content_hash, (rs, []))[1].append(snap)
    return [(rs, compute(session, snaps, rs, services.model, services.model_status)) for rs, snaps in groups.values()]


@dataclass
class Replay:
    """Result of recomputing a stored decision."""

    identical: bool
    stored_sha256: str
    replayed_sha256: str
    replayed: dict[str, Any]
    note: str | None = None


def replay(session: Session, d: Decision, model: Any) -> Replay:
    """Recompute `d` from its stored snapshot, stored rule-set text and model version."""
    snap = session.get(Snapshot, d.snapshot_id)
    rs_row = d.ruleset_id and session.get(repo.RuleSetVersion, d.ruleset_id)
    assert snap is not None and rs_row
    ruleset = parse_ruleset(rs_row.text, source=f"ruleset_versions/{rs_row.id}")
    note = None
    use_model = None
    if d.model_version is not None:
        if model is not None and getattr(model, "version", None) == d.model_version:
            use_model = model
        else:
            note = f"model version {d.model_version} is not loaded; replayed without it"
    (rec,) = _records([repo.profile_of(session, snap)], ruleset, use_model, {"status": d.model_status})
    rec = {"decision_id": d.id, "snapshot_id": snap.id, **rec}
    text = canonical_json(rec)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Replay(text == d.record and sha == d.record_sha256, d.record_sha256, sha, rec, note)
