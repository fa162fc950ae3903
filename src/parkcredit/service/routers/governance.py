"""Governance routes (监督): rule-set lifecycle with maker-checker, diff, backtest, monitoring,
performance, overrides, retention and erasure of personal data.

Roles: committee and approver keys draft rule sets; only an approver approves and publishes, and
never their own draft (409); auditors read everything. Every write is in the audit chain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import func, select

from parkcredit.governance import store_io
from parkcredit.governance.backtest import backtest
from parkcredit.governance.diff import diff_rulesets
from parkcredit.governance.overrides import DIRECTIONS, REASON_CODES, overrides_report
from parkcredit.governance.performance import performance_report
from parkcredit.profile import Uscc
from parkcredit.rules import RuleSet, RuleSetError, parse_ruleset
from parkcredit.service import governance_schemas as g
from parkcredit.service.auth import Caller, require
from parkcredit.service.deps import IdempotencyDep, ReadSession, Services, ServicesDep, WriteSession
from parkcredit.service.errors import Conflict, FieldError, Forbidden, NotFound
from parkcredit.store import repo
from parkcredit.store.tables import Decision, Override, RuleSetVersion

router = APIRouter(prefix="/v1", tags=["governance"])

Drafter = Annotated[Caller, Depends(require("committee", "approver"))]
Approver = Annotated[Caller, Depends(require("approver"))]
Committee = Annotated[Caller, Depends(require("committee"))]
Reader = Annotated[Caller, Depends(require("committee", "approver", "auditor"))]
OverrideReader = Annotated[Caller, Depends(require("committee", "auditor"))]
RuleSetId = Annotated[int, Path(ge=1, le=2**31 - 1, description="ruleset_id")]
Product = Annotated[str, Query(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$", examples=["chengxindai"])]
ParkId = Annotated[str | None, Query(max_length=100)]
RETENTION_YEARS = 5
_KEPT = (
    ("decisions", "决策记录（含规则版本与哈希）", "decision records (with rule-set version and hash)"),
    ("audit_log", "审计日志（哈希链）", "audit log (hash chain)"),
    ("loan_outcomes", "银行报送的贷款结果", "loan outcomes reported by banks"),
    ("snapshots", "企业画像快照（不含个人信息）", "profile snapshots (without personal data)"),
    ("ruleset_versions", "全部规则版本及其审批记录", "every rule-set version and its approvals"),
    ("overrides", "人工调整记录", "overrides"),
    ("bank_queries", "银行查询日志", "bank query log"),
)


@contextmanager
def _store_errors() -> Iterator[None]:
    """Store refusals -> 409 (state conflicts) and 403 (someone else's draft)."""
    try:
        yield
    except repo.StoreConflict as exc:
        raise Conflict(str(exc)) from None
    except repo.NotPermitted as exc:
        raise Forbidden(str(exc)) from None


def _check(body: g.RuleSetText) -> RuleSet:
    """The checked rule set, or 422 on `text` naming the file, line, rule id and reason."""
    try:
        return parse_ruleset(body.text, source=body.filename)
    except RuleSetError as exc:
        raise FieldError(("body", "text"), str(exc)) from None
    except Exception as exc:  # anything else a hostile file provokes is still the file's fault
        raise FieldError(("body", "text"), f"{body.filename}: cannot be checked: {type(exc).__name__}") from None


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns stored UTC times without their offset: give it back (the contract says date-time)."""
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t


def _out(row: RuleSetVersion) -> g.RuleSetOut:
    return g.RuleSetOut(
        ruleset_id=row.id, product=row.product, version=row.version, effective_from=row.effective_from,
        status=row.status, status_zh=g.STATUS_LABELS[row.status][0], content_hash=row.content_hash,  # type: ignore[arg-type]
        source=row.source, note=row.note, created_by=row.created_by, created_at=_utc(row.created_at),
        approved_by=row.approved_by, approved_at=_utc(row.approved_at), published_by=row.published_by,
        published_at=_utc(row.published_at), retired_by=row.retired_by, retired_at=_utc(row.retired_at),
        retire_reason=row.retire_reason,
    )  # fmt: skip


def _row(session: Any, ruleset_id: int) -> RuleSetVersion:
    row = session.get(RuleSetVersion, ruleset_id)
    if row is None:
        raise NotFound(f"no rule set {ruleset_id}")
    return row  # type: ignore[no-any-return]


def _refresh(services: Services, session: Any) -> None:
    """This process's latest published version per product (other workers learn at their next start
    for product validation; deciding always reads the store)."""
    for product, row in repo.latest_published(session).items():
        services.rulesets[product] = services.compiled(row)


# -- rule sets ---------------------------------------------------------------------------------
@router.get("/rulesets", response_model=list[g.RuleSetOut])
def read_rulesets(
    session: ReadSession,
    caller: Reader,
    product: Annotated[str | None, Query(max_length=50)] = None,
    status: g.RuleSetStatus | None = None,
) -> Any:
    """Rule-set versions with their lifecycle, by product."""
    return [_out(r) for r in repo.list_rulesets(session, product, status)]


@router.get("/rulesets/{ruleset_id}", response_model=g.RuleSetDetail)
def read_ruleset(ruleset_id: RuleSetId, session: ReadSession, caller: Reader) -> Any:
    """One version with its exact YAML text."""
    row = _row(session, ruleset_id)
    return g.RuleSetDetail(**_out(row).model_dump(), text=row.text)


@router.post("/rulesets/validate", response_model=g.ValidateOut)
def validate_text(body: g.RuleSetText, caller: Reader) -> Any:
    """Check a rule-set file without storing it (422 naming file, line, rule and reason)."""
    rs = _check(body)
    return g.ValidateOut(ok=True, source=body.filename, product=rs.product, version=rs.version,
                         effective_from=rs.spec.effective_from, content_hash=rs.content_hash)  # fmt: skip


@router.post("/rulesets", status_code=201, response_model=g.RuleSetOut)
def create_draft(body: g.DraftIn, session: WriteSession, caller: Drafter, idem: IdempotencyDep) -> Any:
    """Store a checked rule-set file as a draft (a bad file is refused and nothing is stored)."""
    if (hit := idem.replay(session, caller, body)) is not None:
        return hit
    rs = _check(body)
    with _store_errors():
        row = repo.add_draft(
            session, product=rs.product, version=rs.version, content_hash=rs.content_hash, text=body.text,
            effective_from=rs.spec.effective_from, source=body.filename, note=body.note, actor=caller.key_id,
        )  # fmt: skip
    return idem.finish(session, 201, _out(row))


@router.put("/rulesets/{ruleset_id}", response_model=g.RuleSetOut)
def replace_draft(ruleset_id: RuleSetId, body: g.DraftIn, session: WriteSession, caller: Drafter) -> Any:
    """Replace a draft's text (its author only); an approved or published version cannot change (409)."""
    row = _row(session, ruleset_id)
    if row.status != "draft":
        raise Conflict(f"rule set {row.id} is {row.status}: it cannot change; submit a new draft")
    rs = _check(body)
    with _store_errors():
        repo.replace_draft(
            session, row, product=rs.product, version=rs.version, content_hash=rs.content_hash, text=body.text,
            effective_from=rs.spec.effective_from, source=body.filename, note=body.note, actor=caller.key_id,
        )  # fmt: skip
    session.commit()
    return _out(row)


@router.post("/rulesets/{ruleset_id}/validate", response_model=g.ValidateOut)
def validate_stored(ruleset_id: RuleSetId, session: ReadSession, caller: Reader) -> Any:
    """Re-check a stored version's text with today's checks."""
    row = _row(session, ruleset_id)
    rs = _check(g.RuleSetText(filename=f"ruleset_versions/{row.id}", text=row.text))
    return g.ValidateOut(ok=True, source=f"ruleset_versions/{row.id}", product=rs.product, version=rs.version,
                         effective_from=rs.spec.effective_from, content_hash=rs.content_hash)  # fmt: skip


@router.post("/rulesets/{ruleset_id}/approve", response_model=g.RuleSetOut)
def approve(
    ruleset_id: RuleSetId,
    session: WriteSession,
    caller: Approver,
    idem: IdempotencyDep,
    body: g.ApproveIn | None = None,
) -> Any:
    """Approve a draft (maker-checker: never the author's own key; 409 if it is)."""
    body = body or g.ApproveIn()
    if (hit := idem.replay(session, caller, {"id": ruleset_id, **body.model_dump()})) is not None:
        return hit
    row = _row(session, ruleset_id)
    _check(g.RuleSetText(filename=f"ruleset_versions/{row.id}", text=row.text))
    with _store_errors():
        repo.approve_ruleset(session, row, caller.key_id, body.note)
    return idem.finish(session, 200, _out(row))


@router.post("/rulesets/{ruleset_id}/publish", response_model=g.RuleSetOut)
def publish(
    ruleset_id: RuleSetId, request: Request, session: WriteSession, caller: Approver, idem: IdempotencyDep,
    services: ServicesDep,
) -> Any:  # fmt: skip
    """Publish an approved version: from its effective_from it decides snapshots of that as_of or later."""
    if (hit := idem.replay(session, caller, {"id": ruleset_id})) is not None:
        return hit
    row = _row(session, ruleset_id)
    _check(g.RuleSetText(filename=f"ruleset_versions/{row.id}", text=row.text))
    with _store_errors():
        repo.publish_ruleset(session, row, caller.key_id)
    out = idem.finish(session, 200, _out(row))
    _refresh(services, session)
    return out


@router.post("/rulesets/{ruleset_id}/retire", response_model=g.RuleSetOut)
def retire(
    ruleset_id: RuleSetId, body: g.RetireIn, session: WriteSession, caller: Drafter, idem: IdempotencyDep,
    services: ServicesDep,
) -> Any:  # fmt: skip
    """Retire a version (kept for replay). Approver for approved/published ones; a draft's author may withdraw it."""
    if (hit := idem.replay(session, caller, {"id": ruleset_id, **body.model_dump()})) is not None:
        return hit
    row = _row(session, ruleset_id)
    if caller.role != "approver" and not (row.status == "draft" and row.created_by == caller.key_id):
        raise Forbidden("only an approver retires an approved or published rule set (an author may withdraw a draft)")
    with _store_errors():
        repo.retire_ruleset(session, row, caller.key_id, body.reason)
    out = idem.finish(session, 200, _out(row))
    _refresh(services, session)
    return out


def _baseline(session: Any, row: RuleSetVersion, against: int | None) -> RuleSetVersion:
    if against is not None:
        return _row(session, against)
    published = [r for r in repo.list_rulesets(session, row.product, "published") if r.id != row.id]
    if not published:
        raise NotFound(f"no other published version of {row.product} to compare with; pass `against`")
    return max(published, key=lambda r: (r.effective_from, r.id))


@router.get("/rulesets/{ruleset_id}/diff", response_model=g.DiffOut)
def diff(
    ruleset_id: RuleSetId,
    session: ReadSession,
    caller: Reader,
    services: ServicesDep,
    against: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="default: latest published version")] = None,
) -> Any:
    """What changed from `against` (default: the latest published version of the product) to this version."""
    row = _row(session, ruleset_id)
    base = _baseline(session, row, against)
    changes = diff_rulesets(services.compiled(base), services.compiled(row))
    return g.DiffOut(old=_out(base), new=_out(row), count=len(changes),
                     changes=[g.ChangeOut(**c.to_dict()) for c in changes])  # fmt: skip


@router.get("/rulesets/{ruleset_id}/backtest", response_model=g.BacktestOut)
def backtest_ruleset(
    ruleset_id: RuleSetId,
    session: ReadSession,
    caller: Reader,
    services: ServicesDep,
    against: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="default: latest published version")] = None,
    park_id: ParkId = None,
) -> Any:
    """What-if: this version against the baseline on the current portfolio (latest snapshots) and outcomes."""
    row = _row(session, ruleset_id)
    base = _baseline(session, row, against)
    frame = store_io.portfolio(session, park_id)
    bad = store_io.outcome_labels(session, row.product, frame["uscc"])
    report = backtest(frame, services.compiled(base), services.compiled(row), bad=bad, model=services.model)
    return g.BacktestOut(park_id=park_id, baseline_id=base.id, candidate_id=row.id, **report)


# -- monitoring and performance --------------------------------------------------------------
@router.get("/monitoring/psi", response_model=g.MonitoringOut)
def read_monitoring(
    session: ReadSession,
    caller: Reader,
    services: ServicesDep,
    product: Product = "chengxindai",
    park_id: ParkId = None,
    ref_from: dt.date | None = None,
    ref_to: dt.date | None = None,
    cur_from: dt.date | None = None,
    cur_to: dt.date | None = None,
) -> Any:
    """Population stability of every input, characteristic and score: current vs reference window (by as_of)."""
    services.ruleset(product)
    try:
        windows = store_io.default_windows(session, park_id, ref_from, ref_to, cur_from, cur_to)
    except ValueError as exc:
        raise FieldError(("query", str(exc).split(":")[0]), str(exc)) from None
    ruleset = services.ruleset(product, session=session, as_of=windows[3])
    rf, rt, cf, ct = windows
    report = store_io.monitoring(session, product, ruleset=ruleset, model=services.model, park_id=park_id,
                                 ref_from=rf, ref_to=rt, cur_from=cf, cur_to=ct)  # fmt: skip
    return g.MonitoringOut(**report)


@router.get("/monitoring/performance", response_model=g.PerformanceOut)
def read_performance(
    session: ReadSession,
    caller: Reader,
    services: ServicesDep,
    product: Annotated[str | None, Query(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$")] = None,
    freq: Annotated[str, Query(pattern="^(month|quarter|year)$")] = "quarter",
) -> Any:
    """Realised default rates (banks' outcomes) by band and product over time; AUC/KS of rules, model, blend."""
    bands = None
    if product is not None:
        bands = [b.id for b in services.ruleset(product).spec.bands]
    report = performance_report(store_io.linked_loans(session, product), freq=freq, bands=bands)
    return g.PerformanceOut(product=product, **report)


# -- overrides ------------------------------------------------------------------------------
def _override_out(row: Override) -> g.OverrideOut:
    dz, de = DIRECTIONS.get(row.direction, (row.direction, row.direction))
    rz, re_ = REASON_CODES.get(row.reason_code, (row.reason_code, row.reason_code))
    return g.OverrideOut(
        override_id=row.id, decision_id=row.decision_id, uscc=row.uscc, product=row.product,
        original_eligible=row.original_eligible, original_limit_yuan=row.original_limit_yuan, eligible=row.eligible,
        limit_yuan=row.limit_yuan, direction=row.direction, direction_zh=dz, direction_en=de,
        reason_code=row.reason_code, reason_code_zh=rz, reason_code_en=re_, reason=row.reason,
        created_by=row.created_by, created_at=_utc(row.created_at),
    )  # fmt: skip


@router.post("/decisions/{decision_id}/overrides", status_code=201, response_model=g.OverrideOut)
def create_override(
    decision_id: Annotated[str, Path(max_length=36)],
    body: g.OverrideIn,
    session: WriteSession,
    caller: Committee,
    idem: IdempotencyDep,
    services: ServicesDep,
) -> Any:
    """Override a decision (eligibility or limit) with a reason code and text; the decision itself is unchanged."""
    if (hit := idem.replay(session, caller, {"decision_id": decision_id, **body.model_dump()})) is not None:
        return hit
    d = session.get(Decision, decision_id)
    if d is None:
        raise NotFound(f"no decision {decision_id}")
    rs_row = session.get(RuleSetVersion, d.ruleset_id)
    cap = services.compiled(rs_row).cap_yuan if rs_row is not None else None
    if cap is not None and body.limit_yuan > cap:
        raise FieldError(("body", "limit_yuan"), f"above the product's cap of {cap:,} yuan")
    try:
        row = repo.add_override(session, d, eligible=body.eligible, limit_yuan=body.limit_yuan,
                                reason_code=body.reason_code, reason=body.reason, actor=caller.key_id)  # fmt: skip
    except ValueError as exc:
        raise FieldError(("body", "limit_yuan"), str(exc)) from None
    return idem.finish(session, 201, _override_out(row))


@router.get("/decisions/{decision_id}/overrides", response_model=list[g.OverrideOut])
def read_decision_overrides(
    decision_id: Annotated[str, Path(max_length=36)], session: ReadSession, caller: OverrideReader
) -> Any:
    """The overrides recorded beside one decision, oldest first (the last one is in force)."""
    if session.get(Decision, decision_id) is None:
        raise NotFound(f"no decision {decision_id}")
    return [_override_out(r) for r in repo.list_overrides(session, decision_id)]


@router.get("/overrides", response_model=g.OverridePage)
def read_overrides(
    session: ReadSession,
    caller: OverrideReader,
    after_id: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Every override, paged by `after_id`."""
    rows = repo.list_overrides(session, None, after_id, limit)
    return g.OverridePage(items=[_override_out(r) for r in rows],
                          next_after_id=rows[-1].id if len(rows) == limit else None)  # fmt: skip


@router.get("/overrides/report", response_model=g.OverridesReportOut)
def read_overrides_report(session: ReadSession, caller: Reader) -> Any:
    """Overrides counted by officer, direction (eligible ↔ not, limit up/down), reason and product."""
    decisions = int(session.scalar(select(func.count(Decision.id))) or 0)
    return overrides_report(store_io.overrides_frame(session), decisions)


# -- retention ----------------------------------------------------------------------------------
@router.post("/enterprises/{uscc}/personal-data/erase", response_model=g.EraseOut)
def erase_personal_data(
    uscc: Uscc, body: g.EraseIn, session: WriteSession, caller: Committee, idem: IdempotencyDep
) -> Any:
    """Erase the legal representative's personal data of every snapshot (replay and the audit chain stay intact)."""
    if (hit := idem.replay(session, caller, {"uscc": uscc, **body.model_dump()})) is not None:
        return hit
    if repo.latest_snapshot(session, uscc) is None:
        raise NotFound(f"no snapshot of {uscc}")
    ids = repo.erase_pii(session, uscc, caller.key_id, body.legal_basis)
    out = g.EraseOut(
        uscc=uscc, erased_snapshot_ids=ids, fields=list(repo.PII_FIELDS),
        zh=f"已删除{len(ids)}份快照中的法定代表人个人信息；决策记录与审计链保留（仅含哈希）",
        en=f"erased the legal representative's personal data of {len(ids)} snapshot(s); decisions and the audit "
        "chain are kept (they hold hashes only)",
    )  # fmt: skip
    return idem.finish(session, 200, out)


@router.get("/governance/retention", response_model=g.RetentionOut)
def read_retention(request: Request, caller: Reader) -> Any:
    """The retention policy, and the API's DELETE routes (none touches decisions, audit entries or outcomes)."""
    paths = request.app.openapi()["paths"]
    deletes = sorted(p for p, ops in paths.items() if "delete" in ops)
    kept = [{"object": o, "zh": zh, "en": en} for o, zh, en in _KEPT]
    erasable = [{
        "object": "snapshot_pii", "zh": "法定代表人姓名及身份证件哈希：依法（征信业管理条例第十六条）可删除",
        "en": "legal representative's name and ID hash: erasable when the law requires (条例 art. 16)",
    }]  # fmt: skip
    return g.RetentionOut(policy_years=RETENTION_YEARS, kept=kept, erasable=erasable, delete_routes=deletes)
