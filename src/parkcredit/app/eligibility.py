"""What a partner bank is shown: one summary, built in one place (`summarize`), from the decision and the
enterprise's live lending position; the single and batch eligibility queries and the whitelist.

The stored decision stays what the rules and the model said on the snapshot (replay reproduces it
byte for byte). What happened since is laid over it here, each with its reason or flag:

- a committee override in force (the newest override of the decision): its eligibility and limit, flagged;
- a loan of the enterprise at overdue_90, default or written_off at any partner bank: a knock-out
  (`LOAN_SERIOUS_DELINQUENCY`), so no bank sees it eligible for a new loan;
- the shared exposure: the limit available is the decided limit less the outstanding principal of the
  enterprise's loans under the product at all partner banks;
- a product backed by a risk pool: NOT_APPLICABLE with `POOL_CAPACITY` once the pool's leverage cap is
  used up, and the available limit never above what the pool (and its per-enterprise cap) can still back;
- flags from providers (`register_flag_provider`): the built-in ones are the override and data older
  than the decision's validity; the enterprise-rights work adds fields under dispute.

Access: only under the enterprise's authorization of this bank for this product in force today;
every lookup (answered or refused) is logged in `bank_queries`. A decision made because a bank asked
is made by the system (`created_by = "system"`), and an audit entry names the bank query it was made on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from sqlalchemy.orm import Session

from parkcredit.app import bank_schemas as b
from parkcredit.app.actor import SYSTEM, Actor
from parkcredit.app.context import AppContext
from parkcredit.app.decisions import compute, store_records
from parkcredit.app.rulesets import in_force
from parkcredit.errors import Forbidden, InvalidInput, NotFound
from parkcredit.profile.uscc import UsccError, parse_uscc
from parkcredit.rules import RuleSet
from parkcredit.store import access, audit, loans, overrides, pools, snapshots
from parkcredit.store import decisions as store
from parkcredit.store.tables import Decision, Override, Snapshot

__all__ = [
    "FLAG_PROVIDERS", "LIVE_REASONS", "NO_AUTHORIZATION", "FastLookup", "FlagContext", "OverrideTerms", "Position",
    "batch_eligibility", "eligibility", "positions", "register_flag_provider", "summarize", "summary_of_decision",
    "whitelist",
]  # fmt: skip

log = logging.getLogger("parkcredit")

NO_AUTHORIZATION = "no authorization in force for this bank and product"
NO_PROFILE = "no profile on record"

# reasons fed by what happened after the decision (zh, en)
LIVE_REASONS: dict[str, tuple[str, str]] = {
    "LOAN_SERIOUS_DELINQUENCY": (
        "该企业在合作银行有逾期90天以上、违约或已核销的贷款，不得新增贷款",
        "The enterprise has a loan 90+ days overdue, in default or written off at a partner bank: no new loan",
    ),
    "POOL_CAPACITY": (
        "本产品风险补偿资金池的杠杆上限已用尽，暂不受理新增贷款",
        "The product's risk-compensation pool has reached its leverage cap: no new loans for now",
    ),
}
REFUSALS: dict[str, tuple[str, str, str]] = {  # code -> (reason logged, zh, en)
    "NO_AUTHORIZATION": (NO_AUTHORIZATION, "该企业未授权本行查询此产品（或授权已过期、已撤销）",
                         "No authorization of this bank for this product in force (none, expired or revoked)"),
    "NO_PROFILE": (NO_PROFILE, "尚无该企业的数据", "No profile of the enterprise on record"),
    "INVALID_USCC": ("invalid USCC", "统一社会信用代码无效", "Not a valid USCC"),
}  # fmt: skip
_KIND = {"precondition": "precondition", "knockout": "knock_out", "model": "model"}  # floor, threshold, limit: score


@dataclass(frozen=True)
class FlagContext:
    """What a flag provider is told about the summary being built."""

    uscc: str
    product: str
    decision_id: str
    snapshot_id: int
    today: dt.date


FlagProvider = Callable[[Session, list[FlagContext]], dict[str, list[b.Flag]]]
FLAG_PROVIDERS: list[FlagProvider] = []


def register_flag_provider(provider: FlagProvider) -> FlagProvider:
    """Add a source of flags: called with the session and the summaries' contexts (a batch at once), it
    returns {decision_id: [Flag, …]}. A flag with code `FIELD_DISPUTED` also lists its `fields` in the
    summary's `disputed_fields`."""
    FLAG_PROVIDERS.append(provider)
    return provider


class DecisionKey(Protocol):
    """What `positions` reads of a decision: a stored `Decision`, a `DecisionRef` or one just computed."""

    @property
    def id(self) -> str: ...
    @property
    def snapshot_id(self) -> int: ...


@dataclass(frozen=True)
class _Computed:
    id: str
    snapshot_id: int


def _parse(record: str) -> dict[str, Any]:
    """A stored record as a dict (orjson: the same objects as `json.loads`, several times faster; the rare
    text orjson refuses, e.g. a NaN, goes through json)."""
    try:
        out: dict[str, Any] = orjson.loads(record)
    except orjson.JSONDecodeError:
        out = json.loads(record)
    return out


@dataclass
class PoolPosition:
    pool_id: int
    available_yuan: int  # balance × leverage − outstanding principal of the pool's live loans
    per_enterprise_cap_yuan: int


@dataclass
class Position:
    """The live lending position of one enterprise under one product, as of now."""

    outstanding_yuan: int = 0
    serious_status: str | None = None  # status of a loan at overdue_90 / default / written_off, if any
    override: Override | OverrideTerms | None = None
    pool: PoolPosition | None = None
    flags: list[b.Flag] = field(default_factory=list)


def pool_position(session: Session, product: str, *, exclude_loan: int | None = None) -> PoolPosition | None:
    pool = pools.for_product(session, product)
    if pool is None:
        return None
    out = loans.pool_outstanding(session, pool.id)
    if exclude_loan is not None:
        loan = loans.get(session, exclude_loan)
        if loan is not None and loan.pool_id == pool.id and loan.status in loans.LIVE:
            out -= loan.principal_outstanding_yuan
    capacity = int(pools.balance(session, pool.id) * pool.leverage)
    return PoolPosition(pool.id, capacity - out, pool.per_enterprise_cap_yuan)


def positions(
    session: Session, keys: Sequence[tuple[str, DecisionKey]], product: str, *, today: dt.date,
    exclude_loan: int | None = None,
) -> dict[str, Position]:  # fmt: skip
    """The position of each (uscc, decision) under `product`, read in a few bulk queries."""
    usccs = [u for u, _ in keys]
    outstanding, serious = loans.live_positions(session, usccs, product, exclude_loan=exclude_loan)  # one query
    newest: dict[str, Override] = {}
    for o in overrides.of_decisions(session, [d.id for _, d in keys]):
        newest[o.decision_id] = o  # ordered by id: the last one is in force
    pool = pool_position(session, product, exclude_loan=exclude_loan)
    contexts = [FlagContext(u, product, d.id, d.snapshot_id, today) for u, d in keys]
    extra: dict[str, list[b.Flag]] = {}
    for provider in FLAG_PROVIDERS:
        for decision_id, flags in provider(session, contexts).items():
            extra.setdefault(decision_id, []).extend(flags)
    return {
        u: Position(
            outstanding_yuan=outstanding.get(u, 0),
            serious_status=serious.get(u),
            override=newest.get(d.id),
            pool=pool,
            flags=extra.get(d.id, []),
        )
        for u, d in keys
    }


def _reason(code: str, kind: str, zh: str, en: str) -> b.PrincipalReason:
    return b.PrincipalReason(code=code, kind=kind, zh=zh, en=en)


def _live(code: str, kind: str) -> b.PrincipalReason:
    zh, en = LIVE_REASONS[code]
    return _reason(code, kind, zh, en)


def summarize(record: dict[str, Any], position: Position, *, today: dt.date) -> b.EligibilityOut:
    """What the bank is shown: the decision `record` with the live `position` laid over it (the one builder)."""
    status: str = record["status"]
    limit = int(record["limit_yuan"])
    reasons = [_reason(r["code"], _KIND.get(r["kind"], "score"), r["zh"], r["en"]) for r in record["reasons"]]
    flags: list[b.Flag] = []
    ov = position.override
    if ov is not None:
        limit, status = ov.limit_yuan, "ELIGIBLE" if ov.eligible else "INELIGIBLE"
        flags.append(b.Flag(code="OVERRIDE", zh="管委会人工调整生效中", en="A committee override is in force",
                            limit_yuan=ov.limit_yuan, reason_code=ov.reason_code))  # fmt: skip
    if position.serious_status is not None:
        # after the failed preconditions (if any), before the decision's own knock-outs and score reasons
        reasons.insert(sum(r.kind == "precondition" for r in reasons), _live("LOAN_SERIOUS_DELINQUENCY", "knock_out"))
        if status == "ELIGIBLE":
            status = "INELIGIBLE"
    pool = position.pool
    if pool is not None and pool.available_yuan <= 0:
        status = "NOT_APPLICABLE"
        reasons.insert(0, _live("POOL_CAPACITY", "precondition"))
    if status == "NOT_APPLICABLE":
        reasons = [r for r in reasons if r.kind == "precondition"]
    eligible = status == "ELIGIBLE"
    decided = limit if eligible else 0
    available = max(0, decided - position.outstanding_yuan)
    if pool is not None:
        per_firm_left = pool.per_enterprise_cap_yuan - position.outstanding_yuan
        available = max(0, min(available, pool.available_yuan, per_firm_left))
    valid_until = record.get("valid_until")
    if valid_until and dt.date.fromisoformat(valid_until) < today:
        flags.append(b.Flag(code="STALE_DATA", zh=f"数据已超过有效期（{valid_until}）",
                            en=f"The data is older than its validity (valid until {valid_until})"))  # fmt: skip
    flags.extend(position.flags)
    disputed = sorted({f for flag in flags if flag.code == "FIELD_DISPUTED" for f in flag.fields})
    return b.EligibilityOut(
        uscc=record["uscc"], product=record["product"], status=status, eligible=eligible,
        limit_decided_yuan=decided, limit_available_yuan=available, outstanding_yuan=position.outstanding_yuan,
        band=None if status == "NOT_APPLICABLE" else record["band"], valid_until=valid_until, as_of=record["as_of"],
        decision_id=record["decision_id"], ruleset_version=record["ruleset"]["version"], reasons=reasons,
        flags=flags, disputed_fields=disputed,
    )  # fmt: skip


def _register_dispute_flags() -> None:
    from parkcredit.app.disputes import bank_flags  # issue 15: fields under an open dispute (异议)

    if bank_flags not in FLAG_PROVIDERS:
        register_flag_provider(bank_flags)


_register_dispute_flags()


def summary_of_decision(
    session: Session, d: Decision, *, today: dt.date, exclude_loan: int | None = None
) -> b.EligibilityOut:
    """The summary of one stored decision now (what a bank relying on it is held to)."""
    pos = positions(session, [(d.uscc, d)], d.product, today=today, exclude_loan=exclude_loan)[d.uscc]
    return summarize(_parse(d.record), pos, today=today)


# ---- the queries ------------------------------------------------------------------------------------------------


@dataclass
class _Lookup:
    uscc: str
    refusal: str | None = None
    auth_id: str | None = None
    snap: Snapshot | None = None
    record: dict[str, Any] | None = None
    decision: DecisionKey | None = None
    ruleset: RuleSet | None = None
    new: bool = False


def _look_up(
    ctx: AppContext, actor: Actor, raw: list[str], product: str, loc: tuple[str, ...] = ("body", "product")
) -> list[b.BatchItem]:
    """Look up each enterprise as the bank's query: refused ones individually, new decisions made in one batch."""
    assert actor.bank is not None, "a bank key"
    ctx.product(product, loc)
    today = dt.date.today()
    items: list[_Lookup] = []
    with ctx.read() as session:
        parsed: list[tuple[str, str | None]] = []
        for value in raw:
            try:
                parsed.append((value, str(parse_uscc(value))))
            except UsccError:
                parsed.append((value, None))
        codes = sorted({c for _, c in parsed if c is not None})
        auths = access.authorization_ids_in_force(session, codes, bank=actor.bank, product=product, today=today)
        snaps = snapshots.latest_of(session, [c for c in codes if c in auths])
        stored = store.latest_refs(session, sorted(snaps), product=product)
        seen: dict[str, _Lookup] = {}  # an enterprise asked twice in a batch is looked up once
        versions: dict[dt.date, RuleSet] = {}  # the version in force, per as_of
        for value, code in parsed:
            if code is None:
                items.append(_Lookup(value[:30], "INVALID_USCC"))
                continue
            if code in seen:
                items.append(dataclasses.replace(seen[code], new=False))
                continue
            auth, snap = auths.get(code), snaps.get(code)
            item = _Lookup(code, None if auth else "NO_AUTHORIZATION", auth, snap)
            if auth and snap is None:
                item.refusal = "NO_PROFILE"
            if item.refusal is None and snap is not None:
                if snap.as_of not in versions:
                    versions[snap.as_of] = in_force(ctx, session, product, snap.as_of, loc)
                item.ruleset = versions[snap.as_of]
                d = stored.get(code)
                if d is not None and d.snapshot_id == snap.id and d.ruleset_hash == item.ruleset.content_hash:
                    item.record, item.decision = _parse(d.record), d
            seen[code] = item
            items.append(item)
        todo: dict[str, tuple[RuleSet, list[_Lookup]]] = {}
        first: dict[str, _Lookup] = {}  # an enterprise asked twice in one batch is decided once
        for item in items:
            if item.refusal is None and item.record is None and item.uscc not in first:
                assert item.ruleset is not None
                first[item.uscc] = item
                todo.setdefault(item.ruleset.content_hash, (item.ruleset, []))[1].append(item)
        for ruleset, group in todo.values():  # one vectorised batch per rule-set version
            records = compute(ctx, session, [i.snap for i in group if i.snap is not None], ruleset)
            for i, rec in zip(group, records, strict=True):
                assert i.snap is not None
                i.record, i.new, i.decision = rec, True, _Computed(rec["decision_id"], i.snap.id)
        for item in items:
            if item.refusal is None and item.record is None:
                item.record, item.decision = first[item.uscc].record, first[item.uscc].decision
        # the live position, read here rather than under the write lock (issue 18); a decision made just now
        # has no override yet, and its id is the one stored below
        answered = {i.uscc: i.decision for i in items if i.refusal is None and i.decision is not None}
        pos = positions(session, list(answered.items()), product, today=today)
    out: list[b.BatchItem] = []
    with ctx.write() as session:
        logs = []
        for item in items:
            log = {"bank": actor.bank, "key_id": actor.key_id, "uscc": item.uscc, "product": product}
            if item.refusal is not None:
                logs.append({**log, "allowed": False, "reason": REFUSALS[item.refusal][0]})
            else:
                assert item.record is not None
                logs.append({**log, "allowed": True, "reason": "authorized", "authorization_id": item.auth_id,
                             "decision_id": item.record["decision_id"]})  # fmt: skip
        if len(logs) == 1:  # a single query: its own audit entry, as before
            logged = [access.log_query(session, **logs[0])]
        else:  # a batch: one row per lookup, bound in one entry (the write lock is held for milliseconds)
            logged = access.log_queries(session, logs, key_id=actor.key_id, bank=actor.bank, product=product)
        query_of = {i.record["decision_id"]: q.id for i, q in zip(items, logged, strict=True) if i.new and i.record}
        for ruleset, group in todo.values():
            store_records(session, [i.record for i in group if i.record is not None and i.new], ruleset, SYSTEM.key_id)
        if query_of:
            audit.append(session, SYSTEM.key_id, "decision.on_bank_query", "bank", actor.bank,
                         {"key_id": actor.key_id, "product": product, "decisions": query_of})  # fmt: skip
        for item in items:
            if item.refusal is not None:
                _, zh, en = REFUSALS[item.refusal]
                out.append(b.BatchItem(uscc=item.uscc, refused=b.Refusal(code=item.refusal, zh=zh, en=en)))
            else:
                assert item.record is not None
                summary = summarize(item.record, pos[item.uscc], today=today)
                out.append(b.BatchItem(uscc=item.uscc, summary=summary))
    return out


def eligibility(ctx: AppContext, actor: Actor, *, uscc: str, product: str) -> b.EligibilityOut:
    """The bank's summary of an enterprise that authorized this bank for this product.

    The stored decision is reused when it was made on the latest snapshot with the version in force;
    otherwise the enterprise is decided now (outside the write lock) and the decision stored, made by the
    system on this query. Forbidden without an authorization in force today; NotFound without a snapshot.
    Refusals are logged too.
    """
    (item,) = _look_up(ctx, actor, [uscc], product, ("query", "product"))
    if item.refused is not None:
        message = REFUSALS[item.refused.code][0]
        if item.refused.code == "NO_AUTHORIZATION":
            raise Forbidden(message)
        if item.refused.code == "NO_PROFILE":
            raise NotFound(message)
        raise InvalidInput(("path", "uscc"), item.refused.en)
    assert item.summary is not None
    return item.summary


def batch_eligibility(ctx: AppContext, actor: Actor, body: b.BatchEligibilityIn) -> b.BatchEligibilityOut:
    """Up to 1,000 enterprises at once: one result per USCC (in the order asked), refused ones with their reason."""
    items = _look_up(ctx, actor, body.usccs, body.product)
    refused = sum(i.refused is not None for i in items)
    return b.BatchEligibilityOut(product=body.product, answered=len(items) - refused, refused=refused, results=items)


def whitelist(ctx: AppContext, actor: Actor, *, product: str, since: int | None = None) -> b.WhitelistOut:
    """The enterprises currently eligible (on their latest stored decision, with the live position) that
    authorized this bank for `product`; with `since` (a previous answer's `cursor`), only what changed after it.

    An enterprise whose stored decision is not on its latest snapshot with the version in force (or that
    has none) is decided first, as a bank query would decide it (made by the system, the lookup logged).
    Every call compares the list with the one last computed for this bank and product and records the
    differences (`whitelist_changes`), so the cursor sees additions, changes of the available limit or
    band, and removals. The call is logged as one bank query.
    """
    assert actor.bank is not None, "a bank key"
    ctx.product(product)
    today = dt.date.today()
    with ctx.read() as session:  # which authorizing enterprises have no decision on their data as it is now
        usccs = sorted(set(loans.authorized_for(session, bank=actor.bank, product=product, today=today)))
        snaps = snapshots.latest_ids_of(session, usccs)  # ids and dates: the profiles are not needed here
        latest = store.latest_versions(session, sorted(snaps), product=product)  # nor the records
        versions: dict[dt.date, str] = {}
        stale = []
        for u, (snapshot_id, as_of) in sorted(snaps.items()):
            if as_of not in versions:
                versions[as_of] = in_force(ctx, session, product, as_of).content_hash
            if latest.get(u) != (snapshot_id, versions[as_of]):
                stale.append(u)
    for start in range(0, len(stale), 1000):  # decided as a bank query would (by the system, each lookup logged)
        _look_up(ctx, actor, stale[start : start + 1000], product, ("query", "product"))
    now: dict[str, b.WhitelistEntry] = {}
    with ctx.read() as session:  # the list is computed outside the write lock
        usccs = sorted(set(loans.authorized_for(session, bank=actor.bank, product=product, today=today)))
        refs = store.latest_refs(session, usccs, product=product)
        decided = [(u, refs[u]) for u in usccs if u in refs]
        pos = positions(session, decided, product, today=today)
        for u, d in decided:
            s = summarize(_parse(d.record), pos[u], today=today)
            if s.eligible:
                now[u] = b.WhitelistEntry(uscc=u, limit_available_yuan=s.limit_available_yuan, band=s.band,
                                          decision_id=d.id)  # fmt: skip
    with ctx.write() as session:  # compared with the list as last recorded, under the lock
        before = loans.whitelist_state(session, bank=actor.bank, product=product)
        changes: list[dict[str, Any]] = []
        for u, e in now.items():
            old = before.get(u)
            if old is None or old != (e.limit_available_yuan, e.band, e.decision_id):
                changes.append({"uscc": u, "change": "added" if old is None else "changed",
                                "limit_available_yuan": e.limit_available_yuan, "band": e.band,
                                "decision_id": e.decision_id})  # fmt: skip
        for u in sorted(set(before) - set(now)):
            changes.append({"uscc": u, "change": "removed", "limit_available_yuan": 0, "band": None,
                            "decision_id": None})  # fmt: skip
        loans.add_whitelist_changes(session, bank=actor.bank, product=product, changes=changes)
        access.log_query(session, bank=actor.bank, key_id=actor.key_id, uscc="whitelist", product=product,
                         allowed=True, reason=f"whitelist: {len(now)} eligible")  # fmt: skip
        cursor = loans.whitelist_cursor(session, bank=actor.bank, product=product)
        if since is None:
            items = [now[u] for u in sorted(now)]
        else:
            items = [
                b.WhitelistEntry(uscc=c.uscc, change=c.change, limit_available_yuan=c.limit_available_yuan,
                                 band=c.band, decision_id=c.decision_id)
                for c in loans.whitelist_changes(session, bank=actor.bank, product=product, after_id=since)
            ]  # fmt: skip
        return b.WhitelistOut(product=product, since=since, cursor=cursor, items=items)


# ---- the single query's fast path (issue 18) ---------------------------------------------------------------------


@dataclass(frozen=True)
class OverrideTerms:
    """What `summarize` reads of an override in force (an `Override` row has the same attributes)."""

    eligible: bool
    limit_yuan: int
    reason_code: str


class FastLookup:
    """`GET /v1/eligibility/{uscc}` when the stored decision is current: one statement, one group-committed write.

    `answer` is the whole query for the common case — the key, the authorization in force today, the newest
    snapshot, its stored decision made with the version in force, the live position — read in ONE statement
    (`store.access.HotReader.probe`, the same conditions as the ordinary path's queries), the summary built by
    `summarize` (the one builder), and the bank-query record handed to the group-commit writer
    (`app.query_log.QueryLogWriter`). It returns None for everything else — no or a revoked key, not a bank key,
    no authorization, no snapshot, a decision to make, a field under dispute, a flag provider it does not know —
    and the caller then takes the ordinary path (`eligibility`), which answers or refuses and logs exactly as
    before; nothing was written. The key is read from the database on every request (a revoked key is refused at
    once: nothing is cached).
    """

    def __init__(self, ctx: AppContext, *, threads: int = 4) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from parkcredit.app.query_log import QueryLogWriter

        self.ctx = ctx
        self.reader = access.HotReader(ctx.engine)
        # PostgreSQL: the probe on the event loop itself (psycopg's async connection), not in a thread of `executor`
        self.async_reader = (
            access.AsyncHotReader(ctx.engine, connections=threads) if ctx.engine.dialect.name == "postgresql" else None
        )
        self.writer = QueryLogWriter(ctx, shared=True).start()  # one writer for the server's workers
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="parkcredit-eligibility")

    def _askable(self, product: str) -> bool:
        from parkcredit.app.disputes import bank_flags

        return [bank_flags] == FLAG_PROVIDERS and product in self.ctx.latest

    def _key_hash(self, token: str) -> str:
        from parkcredit.store.keys import hash_token

        return hash_token(token, self.ctx.settings.api_key_pepper)

    def answer(self, token: str, uscc: str, product: str) -> tuple[bytes, Future[int]] | None:
        """(the answer's JSON, the future of its logged row) or None: take the ordinary path."""
        if not self._askable(product):
            return None
        today = dt.date.today()
        try:
            p = self.reader.probe(key_hash=self._key_hash(token), uscc=uscc, product=product, today=today)
        except Exception as exc:  # noqa: BLE001 - the ordinary path reports it (503), nothing was written
            log.warning("eligibility fast path: %s", str(exc).splitlines()[0][:200] if str(exc) else type(exc))
            return None
        return self._respond(p, uscc, product, today)

    async def answer_async(self, token: str, uscc: str, product: str) -> tuple[bytes, Future[int]] | None:
        """`answer` on the event loop (PostgreSQL: `store.access.AsyncHotReader`) — no thread hop for the probe."""
        assert self.async_reader is not None
        if not self._askable(product):
            return None
        today = dt.date.today()
        try:
            p = await self.async_reader.probe(key_hash=self._key_hash(token), uscc=uscc, product=product,
                                              today=today)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the ordinary path reports it (503), nothing was written
            log.warning("eligibility fast path: %s", str(exc).splitlines()[0][:200] if str(exc) else type(exc))
            return None
        return self._respond(p, uscc, product, today)

    def _respond(self, p: access.Probe | None, uscc: str, product: str,
                 today: dt.date) -> tuple[bytes, Future[int]] | None:  # fmt: skip
        if p is None or p.revoked or p.role != "bank" or p.bank is None:
            return None  # 401 / 403 as the ordinary path says it
        if p.authorization_id is None or p.snapshot_id is None or p.decision_id is None or p.record is None:
            return None  # refused (logged there) or decided first
        in_force_hash = p.ruleset_hash if p.ruleset_hash is not None else self.ctx.latest[product].content_hash
        if p.decision_snapshot_id != p.snapshot_id or p.decision_ruleset_hash != in_force_hash:
            return None  # not made on the latest snapshot with the version in force: decided there
        if p.open_disputes:
            return None  # FIELD_DISPUTED flags: built by the provider there
        override = None
        if p.override_eligible is not None:
            assert p.override_limit_yuan is not None and p.override_reason_code is not None
            override = OverrideTerms(p.override_eligible, p.override_limit_yuan, p.override_reason_code)
        pool = None
        if p.pool_id is not None:
            assert p.pool_leverage is not None and p.pool_cap_yuan is not None
            capacity = int(p.pool_balance_yuan * p.pool_leverage)  # as `pool_position`
            pool = PoolPosition(p.pool_id, capacity - p.pool_outstanding_yuan, p.pool_cap_yuan)
        position = Position(outstanding_yuan=p.outstanding_yuan, serious_status=p.serious_status, override=override,
                            pool=pool)  # fmt: skip
        record = _parse(p.record)
        summary = summarize(record, position, today=today)
        body = b.EligibilityOut.__pydantic_serializer__.to_json(summary)  # what the route's response model writes
        written = self.writer.submit({"bank": p.bank, "key_id": p.key_id, "uscc": uscc, "product": product,
                                      "allowed": True, "reason": "authorized", "authorization_id": p.authorization_id,
                                      "decision_id": record["decision_id"]})  # fmt: skip
        return body, written

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.writer.stop()
        self.reader.close()
        if self.async_reader is not None:
            self.async_reader.close()
