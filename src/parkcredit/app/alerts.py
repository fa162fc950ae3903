"""Post-loan early warning: alerts for the banks concerned when an enterprise turns worse, and their webhooks.

When a new snapshot or decision of an enterprise with a live loan or an authorization in force shows a
new knock-out, a band drop, a lower tax or environmental grade, a new dishonest-debtor, abnormal-operation
or serious-illegal listing, a new work-safety dishonesty listing, a serious or fatal accident or a larger
environmental incident, one alert is created for each bank concerned (`on_new_snapshots`,
`on_new_decisions`, called inside the transaction that stores the snapshots or decisions). A loan turning
90+ days overdue, defaulting or written off alerts the other banks concerned (`on_serious_loan`).

Banks poll `GET /v1/alerts?after=` and may register a webhook: every alert is then POSTed to it, the
body signed with the bank's secret (`X-Parkcredit-Signature: sha256=<HMAC-SHA256 hex of the body>`),
delivered at least once: retried with exponential back-off until the receiver answers 2xx (or the
attempts run out), every attempt recorded. Delivery runs in a worker thread of the service
(`DeliveryWorker`), woken after each commit that queued deliveries, never inside a write transaction:
a delivery is claimed in one short transaction, POSTed with no transaction open, and its attempt
recorded in another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy.orm import Session

from parkcredit.app import bank_schemas as b
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.errors import Forbidden, InvalidInput, NotFound
from parkcredit.profile.schema import FIELDS
from parkcredit.rules import RuleSet
from parkcredit.store import alerts as store
from parkcredit.store.decisions import NewDecision
from parkcredit.store.snapshots import NewSnapshot
from parkcredit.store.tables import Alert, Decision, Loan, Snapshot, Webhook, utcnow

__all__ = [
    "SIGNATURE_HEADER", "DeliveryWorker", "alert_out", "deliver_due", "list_alerts", "list_deliveries",
    "concerned_banks", "list_webhooks", "on_new_decisions", "on_new_snapshots", "on_serious_loan", "register_webhook",
    "revoke_webhook", "sign",
]  # fmt: skip

log = logging.getLogger("parkcredit.alerts")

SIGNATURE_HEADER = "X-Parkcredit-Signature"
WORSE_TAX = {"A": 0, "B": 1, "M": 2, "C": 3, "D": 4}  # 纳税信用等级, best first (DOMAIN §2.1)
WORSE_ENV = {"GREEN": 0, "BLUE": 1, "NOT_RATED": 2, "YELLOW": 3, "RED": 4, "BLACK": 5}  # 环境信用 (DOMAIN §2.2)
WORSE_INCIDENT = {"NONE": 0, "GENERAL": 1, "LARGER": 2, "MAJOR": 3, "SPECIALLY_MAJOR": 4}
# kind -> (zh, en) of the alert's headline
KINDS: dict[str, tuple[str, str]] = {
    "TAX_GRADE_DOWN": ("纳税信用等级下降", "Tax credit grade lowered"),
    "ENV_GRADE_DOWN": ("环境信用等级下降", "Environmental credit level lowered"),
    "DISHONEST_DEBTOR": ("新列入失信被执行人名单", "Newly listed as a dishonest judgment debtor"),
    "ABNORMAL_OPERATION": ("新列入经营异常名录", "Newly on the abnormal-operation list"),
    "SERIOUS_ILLEGAL": ("新列入严重违法失信名单", "Newly on the serious illegal and dishonest list"),
    "SAFETY_DISHONEST": ("新列入安全生产严重失信名单", "Newly on the work-safety serious-dishonesty list"),
    "SERIOUS_ACCIDENT": ("发生较大及以上或死亡生产安全事故", "A serious or fatal work-safety accident"),
    "ENV_INCIDENT": ("发生较大及以上突发环境事件", "A larger-or-worse environmental incident"),
    "KNOCKOUT_NEW": ("新的一票否决", "A new knock-out"),
    "BAND_DROP": ("评级下降", "Band dropped"),
    "LOAN_SERIOUS_DELINQUENCY": ("在合作银行的贷款出现严重逾期、违约或核销",
                                 "A loan at a partner bank is 90+ days overdue, in default or written off"),
}  # fmt: skip
_FLAGS = {  # boolean listings: False/None -> True is new
    "dishonest_debtor_enterprise": "DISHONEST_DEBTOR", "dishonest_debtor_legal_rep": "DISHONEST_DEBTOR",
    "abnormal_operation_list": "ABNORMAL_OPERATION", "serious_illegal_list": "SERIOUS_ILLEGAL",
    "safety_dishonest_list": "SAFETY_DISHONEST",
}  # fmt: skip
_ORDERED = {"tax_credit_grade": ("TAX_GRADE_DOWN", WORSE_TAX), "env_credit_level": ("ENV_GRADE_DOWN", WORSE_ENV),
            "env_incident_level_36m": ("ENV_INCIDENT", WORSE_INCIDENT)}  # fmt: skip
_DATES = {"accident_serious_last_on": "SERIOUS_ACCIDENT", "accident_fatal_last_on": "SERIOUS_ACCIDENT"}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:200]


def _alert(bank: str, uscc: str, kind: str, field: str, old: Any, new: Any, dept: str, on: dt.date | None,
           **links: Any) -> Alert:  # fmt: skip
    hz, he = KINDS[kind]
    info = FIELDS.get(field)
    fz, fe = (info.zh, info.en) if info else (field, field)
    was, now = _text(old) or "—", _text(new) or "—"
    when = on.isoformat() if on else "—"
    return Alert(
        bank=bank, uscc=uscc, kind=kind, field=field, from_value=_text(old), to_value=_text(new),
        source_department=dept, source_date=on, zh=f"{hz}：{fz} {was} → {now}（{dept}，{when}）",
        en=f"{he}: {fe} {was} → {now} ({dept}, {when})", **links,
    )  # fmt: skip


def concerned_banks(session: Session, usccs: Iterable[str], product: str | None = None) -> dict[str, set[str]]:
    """uscc -> banks with a live loan (of `product`, or any) or an authorization in force today."""
    return store.concerned_banks(session, usccs, today=dt.date.today(), product=product)


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """(kind, field, from, to) of every change for the worse between two profiles."""
    out = []
    for field, (kind, order) in _ORDERED.items():
        a, z = old.get(field), new.get(field)
        if a in order and z in order and order[z] > order[a]:
            out.append((kind, field, a, z))
    for field, kind in _FLAGS.items():
        if new.get(field) is True and old.get(field) is not True:
            out.append((kind, field, old.get(field), True))
    for field, kind in _DATES.items():
        a, z = old.get(field), new.get(field)
        if z is not None and (a is None or str(z) > str(a)):
            out.append((kind, field, a, z))
    return out


def on_new_snapshots(session: Session, snaps: Sequence[Snapshot | NewSnapshot], *, actor: str) -> list[Alert]:
    """Alerts for the banks concerned by what the new snapshots show for the worse (inside their transaction)."""
    concerned = concerned_banks(session, [x.uscc for x in snaps])
    rows: list[Alert] = []
    for snap in snaps:
        banks = concerned.get(snap.uscc)
        if not banks:
            continue
        prev = store.previous_snapshot(session, snap)
        if prev is None:
            continue
        for kind, field, old, new in _changes(prev.profile, snap.profile):
            dept = FIELDS[field].dept if field in FIELDS else "—"
            rows += [_alert(bank, snap.uscc, kind, field, old, new, dept, snap.as_of, snapshot_id=snap.id)
                     for bank in sorted(banks)]  # fmt: skip
    # the entry is on the first snapshot that caused alerts; each alert row names its own snapshot
    first = str(rows[0].snapshot_id) if rows else ""
    return store.add_alerts(session, rows, actor=actor, cause="snapshot", cause_id=first)


def _record(text: str) -> dict[str, Any]:
    """A stored record, parsed by orjson (~3 × json's speed for ~8.5 KB; only its codes and dates are read, so
    how a float would round does not matter); by json what orjson refuses (NaN)."""
    try:
        out: dict[str, Any] = orjson.loads(text)
    except orjson.JSONDecodeError:
        out = json.loads(text)
    return out


def on_new_decisions(
    session: Session, stored: Sequence[Decision | NewDecision], ruleset: RuleSet, *, actor: str
) -> list[Alert]:
    """Alerts for the banks concerned by a new knock-out or a band drop in the new decisions (inside their
    transaction). Compared with the enterprise's previous decision of the product."""
    if not stored:
        return []
    concerned = concerned_banks(session, [d.uscc for d in stored], ruleset.product)
    if not concerned:  # the common case: no bank follows these enterprises — nothing more is read
        return []
    bands = [x.id for x in ruleset.spec.bands]  # best first
    rows: list[Alert] = []
    for d in stored:
        banks = concerned.get(d.uscc)
        if not banks:
            continue
        prev = store.previous_decision(session, d)
        if prev is None or prev.snapshot_id > d.snapshot_id:
            continue
        new, old = _record(d.record), _record(prev.record)
        on = dt.date.fromisoformat(new["as_of"]) if new.get("as_of") else None
        found: list[tuple[str, str, str | None, str | None]] = []
        before = {k["code"] for k in old.get("knockouts", [])}
        for k in new.get("knockouts", []):
            if k["code"] not in before:
                found.append(("KNOCKOUT_NEW", k["code"], None, f"{k['code']} {k['zh']} / {k['en']}"))
        if d.band in bands and prev.band in bands and bands.index(d.band) > bands.index(prev.band):
            found.append(("BAND_DROP", "band", prev.band, d.band))
        for kind, field, a, z in found:
            rows += [_alert(bank, d.uscc, kind, field, a, z, "园区", on, decision_id=d.id, product=d.product)
                     for bank in sorted(banks)]  # fmt: skip
    first = str(rows[0].decision_id) if rows else ""
    return store.add_alerts(session, rows, actor=actor, cause="decision", cause_id=first)


def on_serious_loan(session: Session, loan: Loan, *, actor: str) -> list[Alert]:
    """Alerts for the other banks concerned when a loan turns 90+ days overdue, defaults or is written off."""
    banks = concerned_banks(session, [loan.uscc]).get(loan.uscc, set()) - {loan.bank}
    rows = [_alert(bank, loan.uscc, "LOAN_SERIOUS_DELINQUENCY", "loan_status", None, loan.status, "银行",
                   loan.status_on, loan_id=loan.id, product=loan.product) for bank in sorted(banks)]  # fmt: skip
    return store.add_alerts(session, rows, actor=actor, cause="loan", cause_id=str(loan.id))


# ---- reading alerts; webhooks ------------------------------------------------------------------------------------


def alert_out(row: Alert) -> b.AlertOut:
    return b.AlertOut(
        alert_id=row.id, bank=row.bank, uscc=row.uscc, product=row.product, kind=row.kind, field=row.field,
        from_value=row.from_value, to_value=row.to_value, source_department=row.source_department,
        source_date=row.source_date, snapshot_id=row.snapshot_id, decision_id=row.decision_id, loan_id=row.loan_id,
        zh=row.zh, en=row.en, created_at=row.created_at,
    )  # fmt: skip


def _scope(actor: Actor) -> str | None:
    return actor.bank if actor.role == "bank" else None


def list_alerts(
    ctx: AppContext, actor: Actor, *, after: int = 0, limit: int = 100, uscc: str | None = None
) -> b.AlertPage:
    """Alerts after `after` (a bank: its own; the committee and auditors: all), oldest first."""
    with ctx.read() as session:
        rows = store.alerts_page(session, bank=_scope(actor), after_id=after, limit=limit, uscc=uscc)
    last = rows[-1].id if rows else after
    return b.AlertPage(items=[alert_out(r) for r in rows], next_after=last if len(rows) == limit else None,
                       cursor=last)  # fmt: skip


def recent_alerts(ctx: AppContext, *, limit: int = 200) -> list[b.AlertOut]:
    """The newest alerts of every bank, for the committee's page."""
    with ctx.read() as session:
        return [alert_out(r) for r in store.alerts_page(session, bank=None, limit=limit, newest_first=True)]


def _webhook_out(row: Webhook) -> b.WebhookOut:
    return b.WebhookOut(webhook_id=row.id, bank=row.bank, url=row.url, created_at=row.created_at,
                        revoked_at=row.revoked_at)  # fmt: skip


def receiver_refusal(url: str, *, allow_loopback: bool) -> str | None:
    """Why the service will not post to `url`, or None.

    Refused: a host that does not resolve, and — unless `allow_loopback` — any address of this machine
    (loopback, unspecified), link-local (cloud metadata lives there), multicast or reserved. Checked at
    registration and again before each delivery (the name may resolve elsewhere by then).
    """
    try:
        host = urlsplit(url).hostname
    except ValueError:  # e.g. "http://[" (an unclosed IPv6 bracket)
        return "the URL cannot be read"
    if not host:
        return "the URL has no host"
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return f"the host {host[:100]} does not resolve"
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip.is_loopback or ip.is_unspecified:
            if not allow_loopback:
                return f"{host[:100]} is this machine ({ip}): receivers on loopback are refused"
        elif ip.is_link_local or ip.is_multicast or ip.is_reserved:
            return f"{host[:100]} resolves to {ip}, a link-local, multicast or reserved address"
    return None


def register_webhook(
    ctx: AppContext, actor: Actor, body: b.WebhookIn, *, idem: Idem | None = None
) -> b.WebhookOut | Replayed:
    """Register the bank's alert receiver (replacing an earlier one); the secret is never shown again."""
    assert actor.bank is not None, "a bank key"
    if (why := receiver_refusal(body.url, allow_loopback=ctx.settings.webhook_allow_loopback)) is not None:
        raise InvalidInput(("body", "url"), why)
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, body)) is not None:
            return hit
        row = store.add_webhook(session, actor=actor.key_id, bank=actor.bank, url=body.url, secret=body.secret)
        out = _webhook_out(row)
        remember(session, actor, idem, 201, out)
        return out


def list_webhooks(ctx: AppContext, actor: Actor) -> list[b.WebhookOut]:
    assert actor.bank is not None, "a bank key"
    with ctx.read() as session:
        return [_webhook_out(w) for w in store.webhooks_of(session, actor.bank)]


def revoke_webhook(ctx: AppContext, actor: Actor, webhook_id: int) -> b.WebhookOut:
    with ctx.write() as session:
        row = store.get_webhook(session, webhook_id)
        if row is None:
            raise NotFound(f"no webhook {webhook_id}")
        if row.bank != actor.bank:
            raise Forbidden(f"webhook {webhook_id} is not a webhook of {actor.bank}")
        return _webhook_out(store.revoke_webhook(session, row, actor=actor.key_id))


def list_deliveries(
    ctx: AppContext, actor: Actor, *, alert_id: int | None = None, limit: int = 100
) -> list[b.WebhookDeliveryOut]:
    """The bank's webhook deliveries, newest first, each with every attempt."""
    with ctx.read() as session:
        rows = store.deliveries_of(session, alert_id=alert_id, bank=_scope(actor), limit=limit)
        attempts: dict[int, list[b.WebhookAttemptOut]] = {}
        for a in store.attempts_of(session, [d.id for d in rows]):
            one = b.WebhookAttemptOut(attempt=a.attempt, at=a.at, http_status=a.http_status, error=a.error,
                                      duration_ms=a.duration_ms)  # fmt: skip
            attempts.setdefault(a.delivery_id, []).append(one)
        return [b.WebhookDeliveryOut(delivery_id=d.id, alert_id=d.alert_id, webhook_id=d.webhook_id, status=d.status,
                                     attempts=d.attempts, next_attempt_at=d.next_attempt_at,
                                     delivered_at=d.delivered_at, attempt_log=attempts.get(d.id, []))
                for d in rows]  # fmt: skip


# ---- delivery ------------------------------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` + the HMAC-SHA256 hex digest of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _backoff(ctx: AppContext, attempts: int) -> dt.timedelta:
    base = ctx.settings.webhook_retry_base_seconds
    return dt.timedelta(seconds=min(3600.0, base * 2 ** (attempts - 1)))


def deliver_due(ctx: AppContext, *, client: httpx.Client | None = None) -> int:
    """POST every delivery that is due (claimed first, so two workers never send one twice at a time); returns
    how many were attempted. No transaction is open during the HTTP calls."""
    now = utcnow()
    with ctx.read() as session:  # a cheap look first: most polls find nothing, and need no write lock
        if not store.any_due(session, now=now):
            return 0
    timeout = ctx.settings.webhook_timeout_seconds
    with ctx.write() as session:
        work = [
            (d.id, d.attempts, hook.url, hook.secret,
             json.dumps({"delivery_id": d.id, "attempt": d.attempts + 1,
                         "alert": alert_out(alert).model_dump(mode="json")},
                        ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8"))
            for d, alert, hook in store.claim_due(session, now=now, lease=dt.timedelta(seconds=timeout * 3 + 5))
        ]  # fmt: skip
    if not work:
        return 0
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    results = []
    try:
        for delivery_id, attempts, url, secret, body in work:
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body),
                       "X-Parkcredit-Delivery": str(delivery_id)}  # fmt: skip
            started = time.monotonic()
            status: int | None = None
            error: str | None = None
            try:
                if (why := receiver_refusal(url, allow_loopback=ctx.settings.webhook_allow_loopback)) is not None:
                    raise PermissionError(why)
                status = http.post(url, content=body, headers=headers).status_code
            except Exception as exc:  # any failure of this call (network, a URL httpx refuses) is this attempt's
                error = f"{type(exc).__name__}: {exc}"
            ms = int((time.monotonic() - started) * 1000)
            results.append((delivery_id, attempts + 1, status, error, ms))
    finally:
        if own:
            http.close()
    with ctx.write() as session:
        for delivery_id, attempt, status, error, ms in results:
            ok = status is not None and 200 <= status < 300
            last = attempt >= ctx.settings.webhook_max_attempts
            store.record_attempt(
                session, delivery_id, http_status=status, error=error, duration_ms=ms, delivered=ok, at=utcnow(),
                next_attempt_at=None if ok or last else utcnow() + _backoff(ctx, attempt),
            )  # fmt: skip
    return len(results)


class DeliveryWorker:
    """The service's webhook delivery thread: woken after a commit that queued deliveries, and every
    `webhook_poll_seconds` for retries that come due."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="parkcredit-webhooks", daemon=True)
        self._unlisten = store.on_commit(ctx.sessions, self.wake.set)

    def start(self) -> DeliveryWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._unlisten()
        self._stop.set()
        self.wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = deliver_due(self.ctx) > 0
            except Exception:  # a broken receiver or a database hiccup must not kill the thread
                log.exception("webhook delivery failed; retrying later")
                busy = False
            if not busy:
                self.wake.wait(self.ctx.settings.webhook_poll_seconds)
                self.wake.clear()
