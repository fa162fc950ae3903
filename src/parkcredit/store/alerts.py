"""Early-warning alerts, the banks' webhooks, and the webhook delivery queue with its attempt log.

Alerts and webhooks are facts (bound in the audit entry that creates them). Deliveries and attempts
are exempt from binding (`binding.EXEMPT`): the queue state and an operational log of HTTP calls,
re-creatable from the alerts they carry; every attempt is still kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import bindparam, event, literal, null, select, union_all
from sqlalchemy.orm import Session, sessionmaker

from parkcredit.store import audit, loans
from parkcredit.store.db import among, chunked
from parkcredit.store.decisions import NewDecision
from parkcredit.store.snapshots import NewSnapshot
from parkcredit.store.tables import (
    Alert,
    Authorization,
    Decision,
    Loan,
    Snapshot,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    utcnow,
)  # fmt: skip

__all__ = [
    "PENDING_FLAG", "Previous", "add_alerts", "add_webhook", "alerts_page", "any_due", "attempts_of",
    "claim_due", "concerned_banks", "deliveries_of", "get_alert", "get_webhook", "on_commit",
    "previous_decision", "previous_snapshot", "record_attempt", "revoke_webhook", "webhooks_of",
]  # fmt: skip

PENDING_FLAG = "parkcredit.webhook_pending"  # session.info key: this transaction queued deliveries


def previous_snapshot(session: Session, snap: Snapshot | NewSnapshot) -> Snapshot | None:
    """The enterprise's snapshot stored just before `snap` (what an alert compares with)."""
    q = select(Snapshot).where(Snapshot.uscc == snap.uscc, Snapshot.id < snap.id).order_by(Snapshot.id.desc())
    return session.scalar(q.limit(1))


@dataclass(frozen=True, slots=True)
class Previous:
    """What an alert compares a new decision with: the enterprise's previous decision of the product."""

    id: str
    snapshot_id: int
    band: str
    record: str


_PREVIOUS = (
    select(Decision.id, Decision.snapshot_id, Decision.band, Decision.record)
    .where(Decision.uscc == bindparam("uscc"), Decision.product == bindparam("product"), Decision.id != bindparam("id"))
    .order_by(Decision.created_at.desc(), Decision.id)
    .limit(1)
)  # statements built once: building one costs more than sending it (issue 18, the one-decision request)


def previous_decision(session: Session, d: Decision | NewDecision) -> Previous | None:
    """The enterprise's newest other decision of the same product (what an alert compares with)."""
    row = session.connection().execute(_PREVIOUS, {"uscc": d.uscc, "product": d.product, "id": d.id}).first()
    return Previous(row[0], int(row[1]), row[2], row[3]) if row is not None else None


def _banks_query(match: Callable[[Any], Any], *, of_product: bool) -> Any:
    """(uscc, "loan" | "auth", bank, products) of the live loans and the authorizations in force whose uscc
    `match`es: one statement for both."""
    live = select(Loan.uscc, literal("loan"), Loan.bank, null()).where(match(Loan.uscc), Loan.status.in_(loans.LIVE))
    if of_product:
        live = live.where(Loan.product == bindparam("product"))
    a = Authorization
    auth = select(a.uscc, literal("auth"), a.bank, a.products).where(
        match(a.uscc), a.revoked_at.is_(None), a.valid_from <= bindparam("today"), a.valid_to >= bindparam("today"),
    )  # fmt: skip
    return union_all(auth, live)


# one enterprise (each decision, snapshot or loan asks): the statements built once — building one costs more
# than sending it (issue 18, the one-decision request)
_ONE = {flag: _banks_query(lambda c: c == bindparam("uscc"), of_product=flag) for flag in (True, False)}


def concerned_banks(
    session: Session, usccs: Iterable[str], *, today: dt.date, product: str | None = None
) -> dict[str, set[str]]:
    """uscc -> the banks with a live loan (of `product`, or any) or an authorization in force today (for
    `product`, or any): one statement for one enterprise, one per slice of `chunked` for many (a batch chunk
    asks for thousands; three columns and a tag, not ORM objects)."""
    ids = sorted(set(usccs))
    params: dict[str, Any] = {"today": today, "product": product}
    conn, out = session.connection(), dict[str, set[str]]()
    if len(ids) == 1:
        results = [conn.execute(_ONE[product is not None], {**params, "uscc": ids[0]})]
    else:
        results = [conn.execute(_banks_query(partial(among, session, values=part), of_product=product is not None),
                                params) for part in chunked(ids)]  # fmt: skip
    for rows in results:
        for uscc, kind, bank, products in rows:
            if kind == "loan" or product is None or product in products:
                out.setdefault(uscc, set()).add(bank)
    return out


def add_alerts(session: Session, rows: list[Alert], *, actor: str, cause: str, cause_id: str) -> list[Alert]:
    """Store alerts under one audit entry binding them all, and queue a delivery to each bank's live webhooks."""
    if not rows:
        return rows
    session.add_all(rows)
    session.flush()
    audit.append(session, actor, "alert.create", cause, cause_id,
                 {"alert_ids": [a.id for a in rows], "banks": sorted({a.bank for a in rows})}, bind=rows)  # fmt: skip
    hooks: dict[str, list[Webhook]] = {}
    for hook in session.scalars(select(Webhook).where(Webhook.bank.in_({a.bank for a in rows}),
                                                      Webhook.revoked_at.is_(None))):  # fmt: skip
        hooks.setdefault(hook.bank, []).append(hook)
    now = utcnow()
    queued = [WebhookDelivery(alert_id=a.id, webhook_id=h.id, status="pending", attempts=0, next_attempt_at=now,
                              created_at=now) for a in rows for h in hooks.get(a.bank, [])]  # fmt: skip
    if queued:
        session.add_all(queued)
        session.info[PENDING_FLAG] = True
    return rows


def get_alert(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


def alerts_page(session: Session, *, bank: str | None, after_id: int = 0, limit: int = 100,
                uscc: str | None = None, newest_first: bool = False) -> list[Alert]:  # fmt: skip
    """Alerts by id after `after_id` (of one bank, or all)."""
    q = select(Alert)
    if bank is not None:
        q = q.where(Alert.bank == bank)
    if uscc is not None:
        q = q.where(Alert.uscc == uscc)
    q = q.order_by(Alert.id.desc()) if newest_first else q.where(Alert.id > after_id).order_by(Alert.id)
    return list(session.scalars(q.limit(limit)))


def add_webhook(session: Session, *, actor: str, bank: str, url: str, secret: str) -> Webhook:
    """Register a bank's receiver; an earlier live one of the bank is revoked (one receiver per bank)."""
    now = utcnow()
    changed: list[Webhook] = []
    for old in webhooks_of(session, bank):
        old.revoked_at = now
        changed.append(old)
    row = Webhook(bank=bank, url=url, secret=secret, created_by=actor, created_at=now)
    session.add(row)
    session.flush()
    audit.append(session, actor, "webhook.create", "webhook", row.id,
                 {"bank": bank, "url": url, "replaces": [w.id for w in changed]}, bind=[row, *changed])  # fmt: skip
    return row


def revoke_webhook(session: Session, row: Webhook, *, actor: str) -> Webhook:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        audit.append(session, actor, "webhook.revoke", "webhook", row.id, {"bank": row.bank}, bind=[row])
    return row


def get_webhook(session: Session, webhook_id: int) -> Webhook | None:
    return session.get(Webhook, webhook_id)


def webhooks_of(session: Session, bank: str) -> list[Webhook]:
    """The bank's live webhooks."""
    q = select(Webhook).where(Webhook.bank == bank, Webhook.revoked_at.is_(None)).order_by(Webhook.id)
    return list(session.scalars(q))


def any_due(session: Session, *, now: dt.datetime) -> bool:
    """Whether a pending delivery is due by `now`."""
    q = select(WebhookDelivery.id).where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
    return session.scalar(q.limit(1)) is not None


def claim_due(
    session: Session, *, now: dt.datetime, lease: dt.timedelta, limit: int = 20
) -> list[tuple[WebhookDelivery, Alert, Webhook]]:
    """Pending deliveries due by `now`, claimed for `lease` (their next attempt moved past it) so that no
    other worker takes them meanwhile. Call inside a write transaction."""
    q = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    out = []
    for d in session.scalars(q).all():
        d.next_attempt_at = now + lease
        alert, hook = session.get(Alert, d.alert_id), session.get(Webhook, d.webhook_id)
        assert alert is not None and hook is not None
        if hook.revoked_at is not None:  # the bank replaced or removed its receiver meanwhile
            live = webhooks_of(session, hook.bank)
            if not live:
                d.status = "failed"  # no receiver any more: the alert stays pollable
                continue
            d.webhook_id, hook = live[-1].id, live[-1]
        out.append((d, alert, hook))
    return out


def record_attempt(
    session: Session, delivery_id: int, *, http_status: int | None, error: str | None, duration_ms: int,
    delivered: bool, next_attempt_at: dt.datetime | None, at: dt.datetime,
) -> WebhookAttempt:  # fmt: skip
    """Log one attempt; the delivery becomes delivered, stays pending until `next_attempt_at`, or failed (None)."""
    d = session.get(WebhookDelivery, delivery_id)
    assert d is not None
    d.attempts += 1
    row = WebhookAttempt(delivery_id=d.id, attempt=d.attempts, at=at, http_status=http_status,
                         error=(error or None) and error[:500], duration_ms=duration_ms)  # fmt: skip
    session.add(row)
    if delivered:
        d.status, d.delivered_at = "delivered", at
    elif next_attempt_at is None:
        d.status = "failed"
    else:
        d.next_attempt_at = next_attempt_at
    return row


def deliveries_of(
    session: Session, *, alert_id: int | None = None, bank: str | None = None, limit: int = 100
) -> list[WebhookDelivery]:
    q = select(WebhookDelivery)
    if alert_id is not None:
        q = q.where(WebhookDelivery.alert_id == alert_id)
    if bank is not None:
        q = q.join(Webhook, Webhook.id == WebhookDelivery.webhook_id).where(Webhook.bank == bank)
    return list(session.scalars(q.order_by(WebhookDelivery.id.desc()).limit(limit)))


def attempts_of(session: Session, delivery_ids: list[int]) -> list[WebhookAttempt]:
    if not delivery_ids:
        return []
    q = select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids)).order_by(WebhookAttempt.id)
    return list(session.scalars(q))


def on_commit(sessions: sessionmaker[Session], callback: Callable[[], Any]) -> Callable[[], None]:
    """Call `callback` after each commit of a transaction that queued deliveries; returns the un-register."""

    def _after_commit(session: Session) -> None:
        if session.info.pop(PENDING_FLAG, False):
            callback()

    def _after_rollback(session: Session, *_: Any) -> None:
        session.info.pop(PENDING_FLAG, None)

    event.listen(sessions, "after_commit", _after_commit)
    event.listen(sessions, "after_soft_rollback", _after_rollback)

    def remove() -> None:
        event.remove(sessions, "after_commit", _after_commit)
        event.remove(sessions, "after_soft_rollback", _after_rollback)

    return remove
