"""Human review of an automated refusal (个人信息保护法 art. 24): request, the committee's queue, the outcome.

The enterprise (or the committee on its behalf) asks for a review of a refusal with its reason; the
request waits in the committee's queue; the outcome is an override of the decision with its reason
(`app.overrides.create_override`, so it is counted with every other override) or the refusal upheld
with a written reason. Each step is audited and the enterprise sees the outcome.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.orm import Session

from parkcredit.app import governance_schemas as g
from parkcredit.app import rights_schemas as r
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.app.overrides import create_override, override_out
from parkcredit.app.scope import ensure_may_see, own_uscc
from parkcredit.errors import Conflict, InvalidInput, NotFound
from parkcredit.store import decisions as store_decisions
from parkcredit.store import reviews as store
from parkcredit.store.tables import ReviewRequest, utcnow

__all__ = ["decide_review", "list_reviews", "request_review", "review_out"]


def review_out(session: Session, row: ReviewRequest) -> r.ReviewOut:
    found = store.override_of(session, row)
    return r.ReviewOut(
        review_id=row.id, uscc=row.uscc, decision_id=row.decision_id, product=row.product, reason=row.reason,
        requested_as=row.requested_as, requested_by=row.requested_by,
        requested_at=row.requested_at, status=row.status, outcome_reason=row.outcome_reason,
        override=override_out(found) if found else None, decided_by=row.decided_by, decided_at=row.decided_at,
    )  # fmt: skip


def request_review(
    ctx: AppContext, actor: Actor, body: r.ReviewIn, *, idem: Idem | None = None
) -> r.ReviewOut | Replayed:
    """Queue a review of a refusal. InvalidInput for a decision that is not a refusal; Conflict if one is pending."""
    decision_id = str(body.decision_id)
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, body)) is not None:
            return hit
        d = store_decisions.get(session, decision_id)
        if d is None:
            raise NotFound(f"no decision {decision_id}")
        ensure_may_see(actor, d.uscc)
        if d.eligible:
            raise InvalidInput(("body", "decision_id"), "only a refusal can be reviewed: this decision is eligible")
        if store.pending_for(session, decision_id) is not None:
            raise Conflict(f"a review of decision {decision_id} is already pending")
        row = store.add(session, actor=actor.key_id, uscc=d.uscc, decision_id=d.id, product=d.product,
                        reason=body.reason,
                        requested_as="enterprise" if actor.role == "enterprise" else "committee_on_behalf")  # fmt: skip
        out = review_out(session, row)
        remember(session, actor, idem, 201, out)
        return out


def list_reviews(
    ctx: AppContext, actor: Actor, *, status: str | None = None, after_id: int = 0, limit: int = 100
) -> r.ReviewPage:
    """The review queue by id: the committee and auditors see all (pending first with `status=pending`);
    an enterprise sees its own."""
    uscc = own_uscc(actor) if actor.role == "enterprise" else None
    with ctx.read() as session:
        rows = store.page(session, uscc=uscc, status=status, after_id=after_id, limit=limit)
        return r.ReviewPage(items=[review_out(session, x) for x in rows],
                            next_after_id=rows[-1].id if len(rows) == limit else None)  # fmt: skip


def decide_review(ctx: AppContext, actor: Actor, review_id: int, body: r.ReviewDecideIn) -> r.ReviewOut:
    """Close a pending review: an override (recorded by `create_override`) or the refusal upheld; Conflict if
    it was already decided."""
    with ctx.read() as session:
        row = store.get(session, review_id)
        if row is None:
            raise NotFound(f"no review {review_id}")
        if row.status != "pending":
            raise Conflict(f"review {review_id} was already decided ({row.status})")
        decision_id = row.decision_id
    override_id = None
    if body.outcome == "override":
        assert body.eligible is not None and body.limit_yuan is not None and body.reason_code is not None
        try:
            change = g.OverrideIn(eligible=body.eligible, limit_yuan=body.limit_yuan, reason_code=body.reason_code,
                                  reason=body.reason)  # fmt: skip
        except ValidationError as exc:
            raise InvalidInput(("body", "limit_yuan"), str(exc.errors()[0]["msg"])) from None
        made = create_override(ctx, actor, decision_id, change)
        assert isinstance(made, g.OverrideOut)  # no idempotency key: never a replay
        override_id = made.override_id
    with ctx.write() as session:
        row = store.get(session, review_id)
        assert row is not None
        if row.status != "pending":  # decided concurrently; the override (if any) stays, counted like any other
            raise Conflict(f"review {review_id} was already decided ({row.status})")
        store.decide(session, row, actor=actor.key_id, status="overridden" if override_id else "upheld",
                     reason=body.reason, override_id=override_id, now=utcnow())  # fmt: skip
        return review_out(session, row)
