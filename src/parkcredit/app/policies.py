"""政策找企业: which policies and products an enterprise matches, and each policy's push list."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd

from parkcredit.app import explain_schemas as x
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.paths import ensure_may_read_path
from parkcredit.errors import Forbidden, NotFound
from parkcredit.policies import Policy, evaluate, load_policies
from parkcredit.profile import to_frame
from parkcredit.rules import RuleSet
from parkcredit.store import frames, snapshots

__all__ = ["PushListPage", "enterprise_policies", "list_policies", "match_frame", "policy_push_list", "push_list_page"]

MAX_PUSH_ROWS = 1000


@cache
def _policies() -> tuple[Policy, ...]:
    return tuple(load_policies())


def _out(p: Policy) -> x.PolicyOut:
    s = p.spec
    return x.PolicyOut(
        policy_id=s.id, kind=s.kind, name_zh=s.name_zh, name_en=s.name_en, issuer_zh=s.issuer_zh,
        issuer_en=s.issuer_en, offer_zh=s.offer_zh, offer_en=s.offer_en, products=s.products, basis=s.basis,
    )  # fmt: skip


def _rulesets(ctx: AppContext) -> dict[str, RuleSet]:
    return {code: ctx.product(code) for code in ctx.products()}


def match_frame(ctx: AppContext, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The policies checked against a one-row profile frame (the enterprise page reads it inside its own
    use case): each policy's description, `matched` and criteria, matched ones first."""
    policies = list(_policies())
    results = evaluate(frame, policies, _rulesets(ctx))[0]
    out = [{**_out(p).model_dump(), **r} for p, r in zip(policies, results, strict=True)]
    return sorted(out, key=lambda m: (not m["matched"], m["policy_id"]))


def list_policies(ctx: AppContext) -> list[x.PolicyOut]:
    """The bundled policies."""
    return [_out(p) for p in _policies()]


def enterprise_policies(ctx: AppContext, actor: Actor, uscc: str) -> x.PoliciesOut:
    """Every policy checked against the enterprise's latest snapshot, matched ones first."""
    ensure_may_read_path(actor, uscc)
    with ctx.read() as session:
        snap = snapshots.latest(session, uscc)
        if snap is None:
            raise NotFound(f"no enterprise {uscc}")
        frame = to_frame([snapshots.profile_of(session, snap)])
        snap_id, as_of = snap.id, snap.as_of
    policies = list(_policies())
    results = evaluate(frame, policies, _rulesets(ctx))[0]
    matches = [
        x.PolicyMatch(**_out(p).model_dump(), matched=r["matched"], criteria=r["criteria"])
        for p, r in zip(policies, results, strict=True)
    ]
    matches.sort(key=lambda m: (not m.matched, m.policy_id))
    return x.PoliciesOut(uscc=uscc, snapshot_id=snap_id, as_of=as_of, matched=sum(m.matched for m in matches),
                         policies=matches)  # fmt: skip


def policy_push_list(ctx: AppContext, actor: Actor, policy_id: str, *, limit: int = 200) -> x.PushListOut:
    """The enterprises (latest snapshots) a policy finds, by name; the committee pushes the policy to them."""
    if actor.role not in ("committee", "auditor"):
        raise Forbidden("push lists are for the committee and the auditor")
    policy = next((p for p in _policies() if p.id == policy_id), None)
    if policy is None:
        raise NotFound(f"no policy {policy_id!r}; known: {', '.join(p.id for p in _policies())}")
    with ctx.read() as session:
        frame = frames.portfolio(session)
    checked = len(frame)
    rows: list[x.PushListRow] = []
    total = 0
    if checked:
        results = evaluate(frame, [policy], _rulesets(ctx))
        hit = [i for i, r in enumerate(results) if r[0]["matched"]]
        total = len(hit)
        sub = frame.iloc[hit]
        order = sub.sort_values(["name", "uscc"], na_position="last").index[: min(limit, MAX_PUSH_ROWS)]
        for i in order:
            r = frame.loc[i]
            rows.append(x.PushListRow(uscc=r["uscc"], name=r.get("name") if isinstance(r.get("name"), str) else None,
                                      industry_code=r.get("industry_code") if isinstance(r.get("industry_code"), str)
                                      else None, as_of=r["as_of"]))  # fmt: skip
    return x.PushListOut(policy=_out(policy), enterprises_checked=checked, total=total, rows=rows)


@dataclass
class PushListPage:
    """What the committee's policy page shows: every policy, and the push list of the chosen one."""

    policies: list[x.PolicyOut]
    push: x.PushListOut | None


def push_list_page(ctx: AppContext, actor: Actor, policy_id: str | None) -> PushListPage:
    """The policies and the push list of `policy_id` (default: the first policy)."""
    all_policies = list_policies(ctx)
    chosen = policy_id or (all_policies[0].policy_id if all_policies else None)
    push = policy_push_list(ctx, actor, chosen) if chosen else None
    return PushListPage(all_policies, push)
