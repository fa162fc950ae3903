"""Governance routes (监督): rule-set lifecycle with maker-checker, diff, backtest, monitoring,
performance, overrides, retention and erasure of personal data.

Roles: committee and approver keys draft rule sets; only an approver approves and publishes, and
never their own draft (409); auditors read everything. Every write is in the audit chain.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from parkcredit.api.auth import require
from parkcredit.api.deps import Ctx, IdemDep, respond
from parkcredit.app import Actor, enterprises, monitoring, overrides, rulesets
from parkcredit.app import governance_schemas as g
from parkcredit.profile import Uscc

router = APIRouter(prefix="/v1", tags=["governance"])

Drafter = Annotated[Actor, Depends(require("committee", "approver"))]
Approver = Annotated[Actor, Depends(require("approver"))]
Committee = Annotated[Actor, Depends(require("committee"))]
Reader = Annotated[Actor, Depends(require("committee", "approver", "auditor"))]
OverrideReader = Annotated[Actor, Depends(require("committee", "auditor"))]
RuleSetId = Annotated[int, Path(ge=1, le=2**31 - 1, description="ruleset_id")]
Product = Annotated[str, Query(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$", examples=["chengxindai"])]
ParkId = Annotated[str | None, Query(max_length=100)]
Against = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="default: latest published version")]
RETENTION_YEARS = 5
_KEPT = (
    ("decisions", "决策记录（含规则版本与哈希）", "decision records (with rule-set version and hash)"),
    ("audit_log", "审计日志（哈希链）", "audit log (hash chain)"),
    ("loan_outcomes", "银行报送的贷款结果", "loan outcomes reported by banks"),
    ("snapshots", "企业画像快照（不含个人信息）", "profile snapshots (without personal data)"),
    ("ruleset_versions", "全部规则版本及其审批记录", "every rule-set version and its approvals"),
    ("overrides", "人工调整记录", "overrides"),
    ("bank_queries", "银行查询日志", "bank query log"),
    # issue 14: the loan lifecycle
    ("loans", "银行报送的贷款及其状态", "loans reported by banks, with their status"),
    ("loan_events", "贷款状态变化记录", "loan status events"),
    ("alerts", "贷后预警", "post-loan alerts"),
    ("pool_movements", "风险补偿资金池资金变动", "risk-pool movements"),
)


# -- rule sets ---------------------------------------------------------------------------------
@router.get("/rulesets", response_model=list[g.RuleSetOut])
def read_rulesets(
    ctx: Ctx,
    caller: Reader,
    product: Annotated[str | None, Query(max_length=50)] = None,
    status: g.RuleSetStatus | None = None,
) -> Any:
    """Rule-set versions with their lifecycle, by product."""
    return rulesets.list_versions(ctx, product=product, status=status)


@router.get("/rulesets/{ruleset_id}", response_model=g.RuleSetDetail)
def read_ruleset(ruleset_id: RuleSetId, ctx: Ctx, caller: Reader) -> Any:
    """One version with its exact YAML text."""
    return rulesets.read_version(ctx, ruleset_id)


@router.post("/rulesets/validate", response_model=g.ValidateOut)
def validate_text(body: g.RuleSetText, caller: Reader) -> Any:
    """Check a rule-set file without storing it (422 naming file, line, rule and reason)."""
    return rulesets.validate_text(body.text, body.filename)


@router.post("/rulesets", status_code=201, response_model=g.RuleSetOut)
def create_draft(body: g.DraftIn, ctx: Ctx, caller: Drafter, idem: IdemDep) -> Any:
    """Store a checked rule-set file as a draft (a bad file is refused and nothing is stored)."""
    return respond(rulesets.create_draft(ctx, caller, text=body.text, filename=body.filename, note=body.note,
                                         idem=idem))  # fmt: skip


@router.put("/rulesets/{ruleset_id}", response_model=g.RuleSetOut)
def replace_draft(ruleset_id: RuleSetId, body: g.DraftIn, ctx: Ctx, caller: Drafter) -> Any:
    """Replace a draft's text (its author only); an approved or published version cannot change (409)."""
    return rulesets.replace_draft(ctx, caller, ruleset_id, text=body.text, filename=body.filename, note=body.note)


@router.post("/rulesets/{ruleset_id}/validate", response_model=g.ValidateOut)
def validate_stored(ruleset_id: RuleSetId, ctx: Ctx, caller: Reader) -> Any:
    """Re-check a stored version's text with today's checks."""
    return rulesets.validate_stored(ctx, ruleset_id)


@router.post("/rulesets/{ruleset_id}/approve", response_model=g.RuleSetOut)
def approve(ruleset_id: RuleSetId, body: g.ApproveIn, ctx: Ctx, caller: Approver, idem: IdemDep) -> Any:
    """Approve the draft whose text has `content_hash` (maker-checker: never its author, by any key; 409 if the
    text changed since it was reviewed)."""
    return respond(rulesets.approve(ctx, caller, ruleset_id, note=body.note, content_hash=body.content_hash,
                                    idem=idem))  # fmt: skip


@router.post("/rulesets/{ruleset_id}/publish", response_model=g.RuleSetOut)
def publish(ruleset_id: RuleSetId, body: g.PublishIn, ctx: Ctx, caller: Approver, idem: IdemDep) -> Any:
    """Publish the approved version whose text has `content_hash`: from its effective_from it decides snapshots
    of that as_of or later."""
    return respond(rulesets.publish(ctx, caller, ruleset_id, content_hash=body.content_hash, idem=idem))


@router.post("/rulesets/{ruleset_id}/retire", response_model=g.RuleSetOut)
def retire(ruleset_id: RuleSetId, body: g.RetireIn, ctx: Ctx, caller: Drafter, idem: IdemDep) -> Any:
    """Retire a version (kept for replay). Approver for approved/published ones; a draft's author may withdraw it."""
    return respond(rulesets.retire(ctx, caller, ruleset_id, reason=body.reason, idem=idem))


@router.get("/rulesets/{ruleset_id}/diff", response_model=g.DiffOut)
def diff(ruleset_id: RuleSetId, ctx: Ctx, caller: Reader, against: Against = None) -> Any:
    """What changed from `against` (default: the latest published version of the product) to this version."""
    return rulesets.diff_versions(ctx, ruleset_id, against=against)


@router.get("/rulesets/{ruleset_id}/backtest", response_model=g.BacktestOut)
def backtest_ruleset(ruleset_id: RuleSetId, ctx: Ctx, caller: Reader, against: Against = None,
                     park_id: ParkId = None) -> Any:  # fmt: skip
    """What-if: this version against the baseline on the current portfolio (latest snapshots) and outcomes."""
    return rulesets.backtest_version(ctx, ruleset_id, against=against, park_id=park_id)


# -- monitoring and performance --------------------------------------------------------------
@router.get("/monitoring/psi", response_model=g.MonitoringOut)
def read_monitoring(
    ctx: Ctx,
    caller: Reader,
    product: Product = "chengxindai",
    park_id: ParkId = None,
    ref_from: dt.date | None = None,
    ref_to: dt.date | None = None,
    cur_from: dt.date | None = None,
    cur_to: dt.date | None = None,
) -> Any:
    """Population stability of every input, characteristic and score: current vs reference window (by as_of)."""
    report = monitoring.monitoring(ctx, product, park_id=park_id, ref_from=ref_from, ref_to=ref_to,
                                   cur_from=cur_from, cur_to=cur_to)  # fmt: skip
    return g.MonitoringOut(**report)


@router.get("/monitoring/performance", response_model=g.PerformanceOut)
def read_performance(
    ctx: Ctx,
    caller: Reader,
    product: Annotated[str | None, Query(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$")] = None,
    freq: Annotated[str, Query(pattern="^(month|quarter|year)$")] = "quarter",
) -> Any:
    """Realised default rates (banks' outcomes) by band and product over time; AUC/KS of rules, model, blend."""
    return g.PerformanceOut(**monitoring.performance(ctx, product=product, freq=freq))


# -- overrides ------------------------------------------------------------------------------
@router.post("/decisions/{decision_id}/overrides", status_code=201, response_model=g.OverrideOut)
def create_override(
    decision_id: Annotated[str, Path(max_length=36)], body: g.OverrideIn, ctx: Ctx, caller: Committee, idem: IdemDep
) -> Any:
    """Override a decision (eligibility or limit) with a reason code and text; the decision itself is unchanged."""
    return respond(overrides.create_override(ctx, caller, decision_id, body, idem=idem))


@router.get("/decisions/{decision_id}/overrides", response_model=list[g.OverrideOut])
def read_decision_overrides(decision_id: Annotated[str, Path(max_length=36)], ctx: Ctx, caller: OverrideReader) -> Any:
    """The overrides recorded beside one decision, oldest first (the last one is in force)."""
    return overrides.overrides_of(ctx, decision_id)


@router.get("/overrides", response_model=g.OverridePage)
def read_overrides(
    ctx: Ctx,
    caller: OverrideReader,
    after_id: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Every override, paged by `after_id`."""
    return overrides.list_overrides(ctx, after_id=after_id, limit=limit)


@router.get("/overrides/report", response_model=g.OverridesReportOut)
def read_overrides_report(ctx: Ctx, caller: Reader) -> Any:
    """Overrides counted by officer, direction (eligible ↔ not, limit up/down), reason and product."""
    return overrides.report(ctx)


# -- retention ----------------------------------------------------------------------------------
@router.post("/enterprises/{uscc}/personal-data/erase", response_model=g.EraseOut)
def erase_personal_data(uscc: Uscc, body: g.EraseIn, ctx: Ctx, caller: Committee, idem: IdemDep) -> Any:
    """Erase the legal representative's personal data of every snapshot (replay and the audit chain stay intact)."""
    return respond(enterprises.erase_personal_data(ctx, caller, uscc, legal_basis=body.legal_basis, idem=idem))


@router.get("/governance/retention", response_model=g.RetentionOut)
def read_retention(request: Request, caller: Reader) -> Any:
    """The retention policy, and the API's DELETE routes (none touches decisions, audit entries or outcomes)."""
    paths = request.app.openapi()["paths"]
    deletes = sorted(p for p, ops in paths.items() if "delete" in ops)
    kept = [{"object": o, "zh": zh, "en": en} for o, zh, en in _KEPT]
    erasable = [{
        "object": "snapshot_pii", "zh": "法定代表人姓名及身份证件哈希：依法（个人信息保护法第四十七条）可删除",
        "en": "legal representative's name and ID hash: erasable when the law requires (PIPL art. 47)",
    }]  # fmt: skip
    return g.RetentionOut(policy_years=RETENTION_YEARS, kept=kept, erasable=erasable, delete_routes=deletes)
