"""Rule-set versions: draft -> approved -> published -> retired (maker-checker), and what is in force.

A non-draft version's text and identity never change: `install_guards(sessionmaker)` refuses it in
code on every flush of the project's sessions (the database triggers of migration 0002 refuse it too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, bindparam, case, event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, sessionmaker

from parkcredit.errors import Conflict, Forbidden, ImmutableRuleSet
from parkcredit.store import audit
from parkcredit.store.tables import ApiKey, RuleSetVersion, utcnow

__all__ = [
    "RULESET_STATES", "ImmutableRuleSet", "NotPermitted", "StoreConflict", "add_draft", "approve", "get",
    "RuleSetRef", "in_force", "in_force_ref", "install_guards", "latest_published", "list_versions", "publish",
    "ref_for_use", "replace_draft", "retire", "seed", "stored_for_use",
]  # fmt: skip


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get(session: Session, ruleset_id: int) -> RuleSetVersion | None:
    return session.get(RuleSetVersion, ruleset_id)


# StoreConflict -> 409 and NotPermitted -> 403 at every surface (the app layer maps them).

RULESET_STATES = ("draft", "approved", "published", "retired")
_FROZEN = ("text", "content_hash", "product", "version", "effective_from")


StoreConflict = Conflict  # the request conflicts with the stored state (a published version cannot change, ...)
NotPermitted = Forbidden  # the caller may not do this to this object (someone else's draft, ...)


def _effective_from_text(text: str) -> dt.date:
    import yaml

    try:
        value = (yaml.safe_load(text) or {}).get("effective_from")
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except (yaml.YAMLError, ValueError, AttributeError):
        return dt.date(1970, 1, 1)


def _guard_rulesets(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse, in code, any change of a non-draft rule set's text or identity, and its deletion."""
    for obj in session.dirty:
        if not isinstance(obj, RuleSetVersion):
            continue
        state = inspect(obj)
        hist = state.attrs.status.history
        old_status = hist.deleted[0] if hist.deleted else obj.status
        if old_status != "draft" and any(state.attrs[name].history.has_changes() for name in _FROZEN):
            raise ImmutableRuleSet(f"rule set {obj.id} is {old_status}: its text and identity cannot change")
    for obj in session.deleted:
        if isinstance(obj, RuleSetVersion) and obj.status != "draft":
            raise ImmutableRuleSet(f"rule set {obj.id} is {obj.status}: it is kept, never deleted")


def _ruleset_payload(row: RuleSetVersion, **extra: Any) -> dict[str, Any]:
    return {
        "product": row.product, "version": row.version, "hash": row.content_hash, "status": row.status,
        "effective_from": row.effective_from, "text_sha256": sha256_hex(row.text), **extra,
    }  # fmt: skip


def list_versions(session: Session, *, product: str | None = None, status: str | None = None) -> list[RuleSetVersion]:
    """Rule-set versions, by product then id."""
    q = select(RuleSetVersion).order_by(RuleSetVersion.product, RuleSetVersion.id)
    if product is not None:
        q = q.where(RuleSetVersion.product == product)
    if status is not None:
        q = q.where(RuleSetVersion.status == status)
    return list(session.scalars(q))


def in_force(session: Session, *, product: str, as_of: dt.date) -> RuleSetVersion | None:
    """The published version of `product` in force on `as_of` (latest effective_from <= as_of).

    A snapshot dated before the product's first published version is decided by that first
    version (there was no earlier rule); None only when the product has no published version.
    """
    base = select(RuleSetVersion).where(RuleSetVersion.product == product, RuleSetVersion.status == "published")
    row = session.scalar(
        base.where(RuleSetVersion.effective_from <= as_of)
        .order_by(RuleSetVersion.effective_from.desc(), RuleSetVersion.id.desc())
        .limit(1)
    )
    if row is None:
        row = session.scalar(base.order_by(RuleSetVersion.effective_from, RuleSetVersion.id).limit(1))
    return row


def _in_force_ref_query() -> Any:
    v = RuleSetVersion
    started = v.effective_from <= bindparam("as_of", type_=Date)
    return (
        select(v.id, v.content_hash)
        .where(v.product == bindparam("product"), v.status == "published")
        .order_by(
            case((started, 0), else_=1),
            case((started, v.effective_from)).desc(),
            case((started, v.id)).desc(),
            v.effective_from,
            v.id,
        )
        .limit(1)
    )


_IN_FORCE_REF = _in_force_ref_query()  # built once (issue 18: building it cost as much as sending it)


def in_force_ref(session: Session, *, product: str, as_of: dt.date) -> tuple[int, str] | None:
    """(id, content hash) of `in_force`'s version, without loading its text (the hot path of every decision
    and bank query: the compiled rule set is looked up by its hash).

    One query (issue 18): the versions effective by `as_of`, newest first, then — when there is none —
    the first version (what `in_force` falls back to), in the same ORDER BY."""
    row = session.execute(_IN_FORCE_REF, {"product": product, "as_of": as_of}).first()
    return (int(row[0]), str(row[1])) if row is not None else None


def latest_published(session: Session) -> dict[str, RuleSetVersion]:
    """Product -> its published version with the latest effective date."""
    out: dict[str, RuleSetVersion] = {}
    q = select(RuleSetVersion).where(RuleSetVersion.status == "published")
    for row in session.scalars(q.order_by(RuleSetVersion.effective_from, RuleSetVersion.id)):
        out[row.product] = row
    return out


def seed(session: Session, rulesets: list[Any], *, actor: str = "system") -> list[RuleSetVersion]:
    """Store bundled rule sets (`RuleSet`s) as the first published versions of products the store lacks.

    Idempotent. A product that already has versions is left alone: a changed bundled file is not
    published behind the approver's back (submit it as a draft).
    """
    added = []
    for rs in rulesets:
        if session.scalar(select(RuleSetVersion.id).where(RuleSetVersion.product == rs.product).limit(1)):
            continue
        now = utcnow()
        try:
            with session.begin_nested():
                row = RuleSetVersion(
                    product=rs.product, version=rs.version, content_hash=rs.content_hash, text=rs.text,
                    status="published", effective_from=rs.spec.effective_from, source=f"bundled:{rs.source}",
                    note="bundled first version", created_by=actor, approved_by=actor, approved_at=now,
                    published_by=actor, published_at=now,
                )  # fmt: skip
                session.add(row)
        except IntegrityError:  # another worker seeded it first
            continue
        audit.append(session, actor, "ruleset.seed", "ruleset", row.id, _ruleset_payload(row, source=row.source),
                     bind=[row])  # fmt: skip
        added.append(row)
    return added


def add_draft(
    session: Session, *, product: str, version: str, content_hash: str, text: str, effective_from: dt.date,
    source: str, note: str, actor: str,
) -> RuleSetVersion:  # fmt: skip
    """Store a checked rule set as a draft; 409 if the same content is already stored."""
    same = session.scalar(select(RuleSetVersion).where(RuleSetVersion.content_hash == content_hash))
    if same is not None:
        raise StoreConflict(
            f"the same rule set is already stored as version {same.id} ({same.product} v{same.version}, {same.status})"
        )
    row = RuleSetVersion(
        product=product, version=version, content_hash=content_hash, text=text, status="draft",
        effective_from=effective_from, source=source[:200], note=note, created_by=actor,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.append(session, actor, "ruleset.draft", "ruleset", row.id, _ruleset_payload(row, note=note), bind=[row])
    return row


def replace_draft(
    session: Session, row: RuleSetVersion, *, product: str, version: str, content_hash: str, text: str,
    effective_from: dt.date, source: str, note: str, actor: str,
) -> RuleSetVersion:  # fmt: skip
    """Replace a draft's text (its author only); anything past draft is immutable (409)."""
    lock_product(session, row.product)
    session.refresh(row)
    if row.status != "draft":
        raise ImmutableRuleSet(f"rule set {row.id} is {row.status}: it cannot change; submit a new draft")
    if row.created_by != actor:
        raise NotPermitted(f"only the author ({row.created_by}) may edit draft {row.id}; submit your own draft")
    same = session.scalar(select(RuleSetVersion).where(RuleSetVersion.content_hash == content_hash))
    if same is not None and same.id != row.id:
        raise StoreConflict(f"the same rule set is already stored as version {same.id} ({same.status})")
    row.product, row.version, row.content_hash, row.text = product, version, content_hash, text
    row.effective_from, row.source, row.note = effective_from, source[:200], note
    audit.append(session, actor, "ruleset.edit", "ruleset", row.id, _ruleset_payload(row, note=note), bind=[row])
    return row


def lock_product(session: Session, product: str) -> None:
    """Serialise lifecycle transitions of one product until the transaction ends.

    PostgreSQL: a transaction-level advisory lock keyed by the product; SQLite write transactions
    already hold the database write lock (BEGIN IMMEDIATE). Checks made after the lock (the last
    published version, a clash of effective dates) then see every earlier transition.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"ruleset:{product}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def holder_of(session: Session, key_id: str) -> str:
    """The person holding key `key_id` (the key id itself for keys without a holder, e.g. system)."""
    holder = session.scalar(select(ApiKey.holder).where(ApiKey.id == key_id))
    return holder or key_id


def _check_maker_checker(session: Session, row: RuleSetVersion, actor: str, verb: str) -> None:
    if row.created_by == actor or holder_of(session, row.created_by) == holder_of(session, actor):
        raise StoreConflict(
            f"maker-checker: {holder_of(session, actor)} wrote rule set {row.id} and cannot {verb} it, with any key"
        )


def _check_reviewed(row: RuleSetVersion, content_hash: str | None) -> None:
    if content_hash is not None and content_hash != row.content_hash:
        raise StoreConflict(
            f"rule set {row.id} changed since it was reviewed: its content hash is now {row.content_hash}, "
            f"the reviewed one was {content_hash[:80]}; read it again"
        )


def approve(
    session: Session, row: RuleSetVersion, *, actor: str, note: str = "", content_hash: str | None = None
) -> RuleSetVersion:
    """draft -> approved, by a person other than the author (maker-checker, compared by key holder).

    `content_hash` is the hash of the text the approver read: 409 when the draft changed since.
    """
    lock_product(session, row.product)
    session.refresh(row)
    if row.status != "draft":
        raise StoreConflict(f"rule set {row.id} is {row.status}; only a draft can be approved")
    _check_reviewed(row, content_hash)
    _check_maker_checker(session, row, actor, "approve")
    row.status, row.approved_by, row.approved_at = "approved", actor, utcnow()
    audit.append(session, actor, "ruleset.approve", "ruleset", row.id, _ruleset_payload(row, note=note), bind=[row])
    return row


def publish(session: Session, row: RuleSetVersion, *, actor: str, content_hash: str | None = None) -> RuleSetVersion:
    """approved -> published, in force from its effective date (by a person other than the author)."""
    lock_product(session, row.product)
    session.refresh(row)
    if row.status != "approved":
        raise StoreConflict(f"rule set {row.id} is {row.status}; only an approved rule set can be published")
    _check_reviewed(row, content_hash)
    _check_maker_checker(session, row, actor, "publish")
    clash = session.scalar(
        select(RuleSetVersion).where(
            RuleSetVersion.product == row.product,
            RuleSetVersion.status == "published",
            RuleSetVersion.effective_from == row.effective_from,
        )
    )
    if clash is not None:
        raise StoreConflict(
            f"version {clash.id} ({clash.product} v{clash.version}) is already published effective "
            f"{clash.effective_from}: retire it first or choose another effective_from"
        )
    row.status, row.published_by, row.published_at = "published", actor, utcnow()
    try:
        session.flush()
    except IntegrityError:  # the unique index, should a writer have bypassed the lock
        raise StoreConflict(
            f"another version of {row.product} is already published effective {row.effective_from}"
        ) from None
    audit.append(session, actor, "ruleset.publish", "ruleset", row.id, _ruleset_payload(row), bind=[row])
    return row


def retire(session: Session, row: RuleSetVersion, *, actor: str, reason: str) -> RuleSetVersion:
    """-> retired (kept for replay); the last published version of a product cannot be retired."""
    lock_product(session, row.product)
    session.refresh(row)
    if row.status == "retired":
        raise StoreConflict(f"rule set {row.id} is already retired")
    if row.status == "published":
        others = session.scalar(
            select(func.count(RuleSetVersion.id)).where(
                RuleSetVersion.product == row.product,
                RuleSetVersion.status == "published",
                RuleSetVersion.id != row.id,
            )
        )
        if not others:
            raise StoreConflict(
                f"rule set {row.id} is the only published version of {row.product}: publish its successor first"
            )
    before = row.status
    row.status, row.retired_by, row.retired_at, row.retire_reason = "retired", actor, utcnow(), reason
    audit.append(session, actor, "ruleset.retire", "ruleset", row.id, _ruleset_payload(row, was=before, reason=reason),
                 bind=[row])  # fmt: skip
    return row


def stored_for_use(
    session: Session, *, product: str, version: str, content_hash: str, text: str, effective_from: dt.date | None = None
) -> RuleSetVersion:
    """The stored row of a rule set, inserted on first use (concurrent inserts are tolerated).

    Decisions use published versions, which are already stored; a row inserted here (a rule set
    decided with but not in the store) is recorded as published, since a decision used it.
    """
    # the text (~20 KB) is not read: the caller stores its id, version and hash (issue 18: every decision)
    q = select(RuleSetVersion).where(RuleSetVersion.content_hash == content_hash).options(defer(RuleSetVersion.text))
    row = session.scalar(q)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = RuleSetVersion(
                product=product, version=version, content_hash=content_hash, text=text, status="published",
                effective_from=effective_from or _effective_from_text(text), source="stored on use",
                published_by="system", published_at=utcnow(),
            )  # fmt: skip
            session.add(row)
    except IntegrityError:
        row = session.scalar(q)
        assert row is not None
        return row
    session.info.setdefault(_INSERTED, set()).add(row.id)
    audit.append(
        session,
        "system",
        "ruleset.store",
        "ruleset",
        row.id,
        {"product": product, "version": version, "hash": content_hash},
        bind=[row],
    )
    return row


@dataclass(frozen=True, slots=True)
class RuleSetRef:
    """What a stored decision names of its rule-set version: id, version and content hash."""

    id: int
    version: str
    content_hash: str


_INSERTED = "parkcredit.rulesets_stored_on_use"  # session.info key: ids `stored_for_use` inserted in this transaction
# engine -> (product, version, content_hash) -> the stored version's ref; see `ref_for_use`
_REFS: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], RuleSetRef]] = weakref.WeakKeyDictionary()


def ref_for_use(
    session: Session, *, product: str, version: str, content_hash: str, text: str, effective_from: dt.date | None = None
) -> RuleSetRef:
    """`stored_for_use` as a `RuleSetRef`, remembered per engine (issue 18: one query less per decision).

    Safe to remember: only a version that is past draft and was committed by another transaction is kept —
    its id, product, version and content hash never change and it is never deleted (`install_guards` in
    code, migration 0002's triggers in the database); a draft, or a row this transaction inserted (which
    a rollback could undo), is read again next time. Keyed by the engine, so another database (a test's
    fresh one) starts empty; a database swapped under a running engine (restored from another one) is
    not supported by this cache — restart the service after a restore."""
    bind = session.get_bind()
    known = _REFS.get(bind)
    key = (product, version, content_hash)
    if known is not None and (hit := known.get(key)) is not None:
        return hit
    row = stored_for_use(session, product=product, version=version, content_hash=content_hash, text=text,
                         effective_from=effective_from)  # fmt: skip
    ref = RuleSetRef(row.id, row.version, row.content_hash)
    if row.status != "draft" and row.id not in session.info.get(_INSERTED, ()) and (row.product, row.version) == (
        product, version
    ):  # fmt: skip
        _REFS.setdefault(bind, {})[key] = ref
    return ref


def install_guards(factory: sessionmaker[Session]) -> None:
    """Attach the immutability guard to the project's own sessions (not SQLAlchemy's global Session)."""
    event.listen(factory, "before_flush", _guard_rulesets)
