"""Committee overrides: reason codes and the report by officer and direction.

An override never edits the decision: it is a new record beside it (table `overrides`), with a
reason code from `REASON_CODES` and the officer's text. The report counts them by officer,
direction and reason, so a supervisor (纪检) sees who overrides what, and which way.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["DIRECTIONS", "REASON_CODES", "overrides_report"]

REASON_CODES: dict[str, tuple[str, str]] = {
    "DATA_ERROR": ("数据有误，已核实更正", "data error, verified and corrected"),
    "NEW_INFORMATION": ("有新信息尚未入库", "new information not yet in the profile"),
    "POLICY_SUPPORT": ("符合园区重点扶持政策", "park policy support (priority industry or project)"),
    "COLLATERAL_OR_GUARANTEE": ("追加担保或增信措施", "added guarantee or credit enhancement"),
    "RISK_CONCERN": ("评分未反映的风险", "risk the score does not capture"),
    "REPAYMENT_CAPACITY": ("还款能力与额度不匹配", "limit does not match repayment capacity"),
    "OTHER": ("其他（须在说明中写明）", "other (explain in the text)"),
}
DIRECTIONS: dict[str, tuple[str, str]] = {
    "to_eligible": ("改为符合条件", "made eligible"),
    "to_ineligible": ("改为不符合条件", "made ineligible"),
    "limit_up": ("调高额度", "limit raised"),
    "limit_down": ("调低额度", "limit lowered"),
}


def _counts(frame: pd.DataFrame, by: str, labels: dict[str, tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    out = []
    for key, g in frame.groupby(by, sort=True):
        row: dict[str, Any] = {by: key, "total": int(len(g))}
        if labels is not None:
            zh, en = labels.get(str(key), (str(key), str(key)))
            row |= {"zh": zh, "en": en}
        for d in DIRECTIONS:
            row[d] = int((g["direction"] == d).sum())
        row["limit_change_yuan"] = int((g["limit_yuan"] - g["original_limit_yuan"]).sum())
        out.append(row)
    return out


def overrides_report(overrides: pd.DataFrame, decisions: int | None = None) -> dict[str, Any]:
    """Counts of overrides (columns created_by, direction, reason_code, product, limit_yuan, original_limit_yuan)
    by officer, direction, reason and product; `decisions` (if given) gives the override rate."""
    n = len(overrides)
    out: dict[str, Any] = {
        "total": n,
        "decisions": decisions,
        "override_rate": round(n / decisions, 6) if decisions else None,
        "by_direction": [
            {"direction": d, "zh": zh, "en": en, "total": int((overrides["direction"] == d).sum()) if n else 0}
            for d, (zh, en) in DIRECTIONS.items()
        ],
        "by_officer": [],
        "by_reason": [],
        "by_product": [],
    }
    if not n:
        return out
    frame = overrides.rename(columns={"created_by": "officer"})
    out["by_officer"] = _counts(frame, "officer")
    out["by_reason"] = _counts(frame, "reason_code", REASON_CODES)
    out["by_product"] = _counts(frame, "product")
    return out
