"""Stored decisions: the canonical record text, its sha256 and the columns the pages read."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from parkcredit.store import audit, binding
from parkcredit.store.tables import Decision, utcnow

__all__ = [
    "NewDecision",
    "RuleSetRow",
    "add",
    "count",
    "get",
    "latest",
    "latest_many",
    "latest_of",
    "latest_versions",
    "page",
]


class RuleSetRow(Protocol):
    """What a stored decision names of its rule-set version (a `RuleSetVersion`, or `rulesets.RuleSetRef`)."""

    @property
    def id(self) -> int: ...
    @property
    def version(self) -> str: ...
    @property
    def content_hash(self) -> str: ...


@dataclass(frozen=True, slots=True)
class NewDecision:
    """The stored values of a decision written by `add` (a Core insert: no ORM object is built or flushed)."""

    id: str
    uscc: str
    product: str
    snapshot_id: int
    ruleset_hash: str
    band: str
    record: str
    record_sha256: str


_DECISIONS: Table = Decision.__table__  # type: ignore[assignment]  # a Table (declarative)
_INSERT = insert(_DECISIONS)


def add(
    session: Session, *, record: dict[str, Any], canonical_text: str, ruleset: RuleSetRow, actor: str
) -> NewDecision:
    """Store a decision record (already carrying its decision_id and snapshot_id) and audit it.

    One Core insert (issue 18: the ORM object, its flush and its digest from attributes cost ~1 ms of the
    one-decision request); the row is bound by `binding.ref_values` of exactly the values inserted."""
    model = record.get("model") or {}
    sha = hashlib.sha256(canonical_text.encode("utf-8")).hexdigest()
    values: dict[str, Any] = {
        "id": record["decision_id"],
        "uscc": record["uscc"],
        "product": record["product"],
        "snapshot_id": record["snapshot_id"],
        "ruleset_id": ruleset.id,
        "ruleset_version": ruleset.version,
        "ruleset_hash": ruleset.content_hash,
        "model_version": model.get("version"),
        "model_status": str(model.get("status", "none"))[:200],
        "eligible": bool(record["eligible"]),
        "limit_yuan": int(record["limit_yuan"]),
        "band": str(record["band"]),
        "total_score": float(record["total_score"]),
        "valid_until": dt.date.fromisoformat(record["valid_until"]) if record.get("valid_until") else None,
        "record": canonical_text,
        "record_sha256": sha,
        "created_by": actor,
        "created_at": utcnow(),  # the ORM default, set here: the binding hashes the value inserted
    }
    session.connection().execute(_INSERT, values)
    audit.append(session, actor, "decision.create", "decision", values["id"], {"uscc": values["uscc"], "sha256": sha},
                 bind_refs=[binding.ref_values("decisions", values["id"], values)])  # fmt: skip
    return NewDecision(values["id"], values["uscc"], values["product"], values["snapshot_id"], values["ruleset_hash"],
                       values["band"], canonical_text, sha)  # fmt: skip


def get(session: Session, decision_id: str) -> Decision | None:
    return session.get(Decision, decision_id)


def latest(session: Session, *, uscc: str, product: str) -> Decision | None:
    """The newest decision of `uscc` for `product`."""
    q = (
        select(Decision)
        .where(Decision.uscc == uscc, Decision.product == product)
        .order_by(Decision.created_at.desc(), Decision.id)
        .limit(1)
    )
    return session.scalar(q)


def _newest(usccs: Sequence[str], product: str, *what: Any) -> Any:
    """`what` of the newest decision for `product` of each of `usccs` (newest created_at; rows ordered by id
    descending, so a tie on created_at ends on the lowest id — the one `latest` picks)."""
    newest = (
        select(Decision.uscc, func.max(Decision.created_at).label("at"))
        .where(Decision.uscc.in_(usccs), Decision.product == product)
        .group_by(Decision.uscc)
        .subquery()
    )
    return (
        select(*what)
        .join(newest, (Decision.uscc == newest.c.uscc) & (Decision.created_at == newest.c.at))
        .where(Decision.product == product)
        .order_by(Decision.id.desc())
    )


def latest_many(session: Session, usccs: list[str], *, product: str, chunk: int = 500) -> dict[str, Decision]:
    """The newest decision for `product` of each of `usccs` that has one (as `latest`, in a few queries)."""
    out: dict[str, Decision] = {}
    for start in range(0, len(usccs), chunk):
        part = usccs[start : start + chunk]
        for d in session.scalars(_newest(part, product, Decision)):
            out[d.uscc] = d
    return out


@dataclass(frozen=True, slots=True)
class DecisionRef:
    """What the banks' hot path reads of a stored decision (issue 18: a Core select of five columns, no ORM)."""

    id: str
    uscc: str
    snapshot_id: int
    ruleset_hash: str
    record: str


def latest_refs(session: Session, usccs: list[str], *, product: str, chunk: int = 500) -> dict[str, DecisionRef]:
    """`latest_many` as `DecisionRef`s (the same rows: newest created_at, a tie to the lowest id)."""
    out: dict[str, DecisionRef] = {}
    for start in range(0, len(usccs), chunk):
        part = usccs[start : start + chunk]
        q = _newest(part, product, Decision.id, Decision.uscc, Decision.snapshot_id, Decision.ruleset_hash,
                    Decision.record)  # fmt: skip
        for row in session.execute(q):
            out[row[1]] = DecisionRef(row[0], row[1], int(row[2]), row[3], row[4])
    return out


def latest_versions(
    session: Session, usccs: list[str], *, product: str, chunk: int = 500
) -> dict[str, tuple[int, str]]:
    """uscc -> (snapshot id, rule-set hash) of the rows `latest_refs` gives, without their records (~8.5 KB
    each): what tells whether a stored decision is still on the data and the version in force."""
    out: dict[str, tuple[int, str]] = {}
    for start in range(0, len(usccs), chunk):
        q = _newest(usccs[start : start + chunk], product, Decision.uscc, Decision.snapshot_id, Decision.ruleset_hash)
        for uscc, snapshot_id, ruleset_hash in session.execute(q):
            out[uscc] = (int(snapshot_id), ruleset_hash)
    return out


def latest_of(session: Session, uscc: str, *, limit: int = 20) -> list[Decision]:
    """The enterprise's decisions, newest first."""
    q = select(Decision).where(Decision.uscc == uscc).order_by(Decision.created_at.desc()).limit(limit)
    return list(session.scalars(q))


def page(session: Session, *, uscc: str | None, offset: int, limit: int) -> list[Decision]:
    """Decisions newest first (optionally of one enterprise)."""
    q = select(Decision).order_by(Decision.created_at.desc(), Decision.id)
    if uscc:
        q = q.where(Decision.uscc == uscc)
    return list(session.scalars(q.offset(offset).limit(limit)))


def count(session: Session) -> int:
    return int(session.scalar(select(func.count(Decision.id))) or 0)
