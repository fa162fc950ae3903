"""The path to eligibility (达标路径) of an enterprise: its decision explained, for the committee and the
enterprise itself — each principal reason with what would change it, what waiting does, minimal changes."""

from __future__ import annotations

from parkcredit.app import explain_schemas as x
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.rulesets import in_force
from parkcredit.app.scope import ensure_may_see
from parkcredit.errors import Forbidden, NotFound
from parkcredit.profile import to_frame
from parkcredit.store import snapshots

__all__ = ["eligibility_path", "ensure_may_read_path"]

READERS = ("committee", "auditor")


def ensure_may_read_path(actor: Actor, uscc: str) -> None:
    """The committee and the auditor read any enterprise's path; an enterprise key only its own (app.scope)."""
    if actor.role not in (*READERS, "enterprise"):
        raise Forbidden("the path to eligibility is for the committee, the auditor and the enterprise itself")
    ensure_may_see(actor, uscc)


def eligibility_path(ctx: AppContext, actor: Actor, uscc: str, product: str) -> x.PathOut:
    """The latest snapshot decided with the version in force at its as_of (as a decision of it would be),
    explained: reasons with their fixes, the dates time alone brings, the minimal sets of changes."""
    from parkcredit.model.counterfactual import explain

    ensure_may_read_path(actor, uscc)
    ctx.product(product)  # an unknown product is a 422 naming `product`
    with ctx.read() as session:
        snap = snapshots.latest(session, uscc)
        if snap is None:
            raise NotFound(f"no enterprise {uscc}")
        ruleset = in_force(ctx, session, product, snap.as_of)
        frame = to_frame([snapshots.profile_of(session, snap)])
        snap_id, as_of = snap.id, snap.as_of
    out = explain(frame, ruleset, ctx.model)
    rec = out["record"]
    return x.PathOut(
        uscc=uscc, product=product, snapshot_id=snap_id, as_of=as_of, ruleset=rec["ruleset"], status=rec["status"],
        eligible=rec["eligible"], total_score=rec["total_score"], band=rec["band"], limit_yuan=rec["limit_yuan"],
        reasons=out["reasons"], model_view=rec["model_view"], waiting=out["waiting"], options=out["options"],
    )  # fmt: skip
