"""zh/en texts of the explaining pages (issue 17): status and reasons, the path box, policies, rule governance."""

from __future__ import annotations

__all__ = ["EXPLAIN_CATALOG", "PRODUCT_NAMES", "product_label"]

# the bundled products; another product shows its code
PRODUCT_NAMES: dict[str, tuple[str, str]] = {
    "chengxindai": ("企业诚信贷", "Enterprise Integrity Loan"),
    "yuanbaodai": ("园保贷", "Park Guarantee Loan"),
    "xiaoweikuaidai": ("小微快贷", "Micro and Small Quick Loan"),
}


def product_label(code: str | None, lang: str) -> str:
    """企业诚信贷 / Enterprise Integrity Loan for `chengxindai` (the code itself when unknown)."""
    if not code:
        return "—"
    names = PRODUCT_NAMES.get(code)
    return names[0 if lang == "zh" else 1] if names else code


EXPLAIN_CATALOG: dict[str, tuple[str, str]] = {
    # the enterprise page: status first
    "ex.status_now": ("当前结论（按最新快照与现行规则）", "Outcome now (latest snapshot, rules in force)"),
    "ex.reasons": ("主要原因及如何改变", "Principal reasons and what would change them"),
    "ex.kind": ("类型", "Kind"),
    "ex.reason": ("原因", "Reason"),
    "ex.fix": ("如何改变", "What would change it"),
    "ex.fix_time": ("时间会解决：{date} 起满足", "Time will fix this: met from {date}"),
    "ex.fix_history": ("历史记录阻止，直到 {date}", "History blocks it until {date}"),
    "ex.fix_history_nodate": ("历史记录阻止（无可计算的解除日期）", "History blocks it (no date can be computed)"),
    "ex.fix_actions": ("可通过以下改变解决：", "These changes would fix it:"),
    "ex.fix_data": (
        "数据缺失：由主管部门补充该项数据即可重新评估",
        "Data missing: the department supplying it can fill it in",
    ),
    "ex.fix_none": ("单项改变无法解决（见达标路径）", "No single change fixes it (see the path below)"),
    "ex.points_lost": ("失分 {p}", "{p} points lost"),
    "ex.no_reasons": ("无扣分原因：各项均已满分。", "No reason: every item has its best points."),
    "ex.model_view": (
        "模型观点（咨询模式：仅供参考，不影响决策）",
        "The model's view (advisory: shown apart, it does not decide)",
    ),
    "ex.model_view_help": (
        "以下因素使模型估计的违约概率上升最多。",
        "These factors raise the model's probability of default the most.",
    ),
    "ex.stale": (
        "数据快照（{as_of}，编号 {snap}）晚于最新决策所用快照（编号 {used}）：该决策可能已过时，请重新评分。",
        "The data snapshot ({as_of}, id {snap}) is newer than the one the latest decision used (id {used}): "
        "that decision may be out of date; decide again.",
    ),
    "ex.stale_short": ("数据快照晚于该决策：请重新评分", "the data snapshot is newer than this decision: decide again"),
    "ex.stored_decision": ("最新存档决策", "Latest stored decision"),
    "ex.unavailable": ("无法计算：{why}", "Cannot be computed: {why}"),
    # the path box
    "ex.path_time": ("时间会解决", "Time will fix this"),
    "ex.path_history": ("历史记录阻止，直到", "History blocks it until"),
    "ex.path_changes": ("以下改变可使其达标", "These changes would make it eligible"),
    "ex.path_eligible_on": (
        "若其他条件不变，将于 {date} 起达标。",
        "All else unchanged, it becomes eligible on {date}.",
    ),
    "ex.path_then_also": ("届时另需更新：", "By then also renew: "),
    "ex.path_no_date": ("无可计算日期", "no date can be computed"),
    "ex.path_no_changes": ("没有可行的整改组合能使其达标。", "No combination of actionable changes makes it eligible."),
    "ex.gate": ("条件", "Condition"),
    "ex.date": ("日期", "Date"),
    # policies
    "pol.title": ("政策找企业：匹配的政策与产品", "Policies that find the enterprise"),
    "pol.help": (
        "按园区政策规则（与评分规则同一规则语言）对最新快照逐条检查。",
        "The park's policy rules (in the same rule language as the scorecards) checked on the latest snapshot.",
    ),
    "pol.match": ("是否符合", "Match"),
    "pol.matched": ("符合", "matches"),
    "pol.not_matched": ("不符合", "does not match"),
    "pol.none": ("暂无匹配的政策。", "No policy matches yet."),
    "pol.criteria": ("条件", "Criteria"),
    "pol.offer": ("支持内容", "Offer"),
    "pol.issuer": ("发布单位", "Issued by"),
    "pol.push_list": ("推送名单", "Push list"),
    "pol.push_title": ("政策推送名单", "Policy push list"),
    "pol.checked": ("已检查 {n} 家企业，符合 {m} 家", "{n} enterprises checked, {m} match"),
    "pol.kind.support": ("扶持政策", "support"),
    "pol.kind.reward": ("奖励政策", "reward"),
    "pol.kind.prequalification": ("产品预授信", "pre-qualification"),
    "nav.policies": ("政策推送", "Policies"),
    # the list
    "f.top_reason": ("首要原因", "Top reason"),
    "ent.reason_filter": ("首要原因", "Top reason"),
    # bank query log: the logged reason texts
    "bq.reason.authorized": ("已授权", "authorized"),
    "bq.reason.no authorization in force for this bank and product": (
        "该企业未授权本行查询此产品（或授权已过期、已撤销）",
        "no authorization of this bank for this product in force",
    ),
    "bq.reason.no profile on record": ("尚无该企业的数据", "no profile on record"),
    "bq.reason.invalid USCC": ("统一社会信用代码无效", "not a valid USCC"),
    "bq.reason.whitelist": ("白名单查询：{n} 家达标", "whitelist: {n} eligible"),
    # job states
    "job.queued": ("排队中", "queued"),
    "job.running": ("运行中", "running"),
    "job.done": ("已完成", "done"),
    "job.failed": ("失败", "failed"),
    "job.result": ("结果", "Result"),
    "job.decided": ("已评分", "decided"),
    "job.eligible": ("达标", "eligible"),
    "f.logodds_unit": ("对数几率", "log-odds"),
    "model_status.ok": ("正常", "ok"),
    "model_status.none": ("未使用", "not used"),
    "mode.off": ("不使用", "off"),
    "mode.advisory": ("咨询（不影响决策）", "advisory (does not decide)"),
    "mode.pd_ceiling": ("违约概率上限", "PD ceiling"),
    "mode.limit_scaling": ("按违约概率调整额度", "limit scaled by PD"),
    "rs.note_bundled": ("随软件发布的首个版本", "bundled first version"),
    # units
    "unit.persons": ("人", "persons"),
    "unit.months": ("个月", "months"),
    "unit.yuan": ("元", "yuan"),
    "unit.mu": ("亩", "mu"),
    "unit.tce": ("吨标准煤", "tce"),
    "unit.ratio": ("比例", "ratio"),
    "unit.days": ("天", "days"),
    "unit.亩": ("亩", "mu"),
    "unit.yuan/亩": ("元/亩", "yuan per mu"),
    "unit.tce/万元": ("吨标准煤/万元", "tce per 10k yuan"),
    "unit.years": ("年", "years"),
    # rule governance pages
    "gov.title": ("规则治理", "Rule governance"),
    "gov.new_draft": ("新建或上传草稿", "New or uploaded draft"),
    "gov.file": ("规则文件（YAML）", "Rule file (YAML)"),
    "gov.text": ("规则文本", "Rule text"),
    "gov.note": ("说明", "Note"),
    "gov.submit_draft": ("保存草稿", "Save the draft"),
    "gov.replace_draft": ("保存修改", "Save the changes"),
    "gov.error_at": ("第 {line} 行：{reason}", "line {line}: {reason}"),
    "gov.error": ("规则文件有误", "The rule file has an error"),
    "gov.version": ("版本详情", "Version"),
    "gov.diff": ("与现行版本的差异", "Changes against the version in force"),
    "gov.backtest": ("回测（按当前组合）", "Backtest (on the current portfolio)"),
    "gov.approve": ("复核通过", "Approve"),
    "gov.publish": ("发布", "Publish"),
    "gov.retire": ("停用", "Retire"),
    "gov.hash_note": (
        "复核与发布针对本页显示文本的内容哈希；若文本已被修改，操作将被拒绝（409）。",
        "Approval and publication are for the content hash of the text on this page; if it changed meanwhile, "
        "they are refused (409).",
    ),
    "gov.swap_in": ("新增达标", "Swap-in"),
    "gov.swap_out": ("不再达标", "Swap-out"),
    "gov.by_band": ("按等级", "By band"),
    "gov.by_industry": ("按行业", "By industry"),
    "gov.no_baseline": (
        "本产品尚无其他已发布版本可供比较（这是它的第一个版本）。",
        "The product has no other published version to compare with (this is its first).",
    ),
    "gov.no_changes": ("无差异。", "No change."),
    "gov.changed": ("变更", "Change"),
    "gov.old": ("原值", "Before"),
    "gov.new": ("新值", "After"),
    "gov.status": ("状态", "Status"),
    "gov.effective_from": ("生效日期", "Effective from"),
    "gov.author": ("起草人", "Drafted by"),
    "gov.approver": ("复核人", "Approved by"),
    "gov.open": ("查看", "Open"),
    "gov.done": ("操作已完成。", "Done."),
    "rs.state.draft": ("草稿", "draft"),
    "rs.state.approved": ("已复核", "approved"),
    "rs.state.published": ("已发布", "published"),
    "rs.state.retired": ("已停用", "retired"),
    # charts
    "chart.enterprises": ("企业数", "enterprises"),
    "chart.score": ("总分", "total score"),
    "chart.band": ("等级", "band"),
    "chart.industry": ("行业", "industry"),
    "chart.limit_10k": ("可贷额度（万元）", "limit (10k yuan)"),
}
