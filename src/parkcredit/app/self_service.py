"""The enterprise's own view and its own authorizations (an `enterprise` key, bound to one USCC).

It sees its latest inputs (each with the supplying department and date), its decisions with their
reasons, the override in force and the fields under dispute, its path to eligibility, which banks
queried it and when, its authorizations, disputes, review requests and credit events — and nothing
of any other enterprise (`scope.ensure_may_see`). It grants and revokes a bank's authorization
itself (`granted_by = enterprise`); the committee still records a paper 授权书 (`committee_on_paper`).
"""

from __future__ import annotations

import json
from typing import Any

from parkcredit.app import rights_schemas as r
from parkcredit.app import schemas as s
from parkcredit.app import views
from parkcredit.app.access import check_validity
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.credit_events import event_out
from parkcredit.app.disputes import dispute_flags, dispute_out
from parkcredit.app.enterprises import enterprise_page
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.app.overrides import override_out
from parkcredit.app.reports import _inputs as report_inputs
from parkcredit.app.reviews import review_out
from parkcredit.app.scope import ensure_may_see, own_uscc
from parkcredit.errors import NotFound
from parkcredit.reports.i18n import DEPT_EN
from parkcredit.store import access, decisions, disputes, overrides, reviews, snapshots
from parkcredit.store import credit_events as store_events
from parkcredit.store.tables import utcnow

__all__ = ["enterprise_view", "grant_authorization", "own_authorizations", "revoke_own_authorization"]


def _source_label(source: dict[str, Any] | None) -> str | None:
    """How a value came in: "dispute 3", "credit events", "import <file>", "api", or None when not recorded."""
    if not source:
        return None
    if source.get("label"):
        return str(source["label"])
    if source.get("via") == "import":
        return f"import {source.get('file') or source.get('import_id') or ''}".strip()
    return str(source.get("via") or "") or None


def enterprise_view(ctx: AppContext, actor: Actor, uscc: str, *, product: str | None = None) -> r.SelfView:
    """Everything the enterprise may see about itself (Forbidden for another enterprise's key)."""
    ensure_may_see(actor, uscc)
    product = product or ctx.default_product()
    ctx.product(product)
    page = enterprise_page(ctx, uscc, product)  # the path to eligibility, decided with the version in force
    now = utcnow()
    with ctx.read() as session:
        snap = snapshots.latest(session, uscc)
        if snap is None:
            raise NotFound(f"no snapshot of {uscc}")
        flags = dispute_flags(session, uscc)
        disputed = {f.field for f in flags}
        inputs = [
            r.InputOut(name=i["name"], zh=i["zh"], en=i["en"], dept=i["dept"], unit=i["unit"], value=i["value"],
                       dept_en=DEPT_EN.get(i["dept"], i["dept"]), as_of=str(i["as_of"]), disputed=i["name"] in disputed,
                       source=_source_label(i.get("source")))
            for i in report_inputs(snap.profile, snap.as_of.isoformat(),
                                   snapshots.field_sources(snapshots.provenance_of(session, snap.id)))
        ]  # fmt: skip
        rows = decisions.latest_of(session, uscc, limit=50)
        in_force = {o.decision_id: o for o in overrides.of_decisions(session, [d.id for d in rows])}  # last wins
        own = []
        for d in rows:
            rec = json.loads(d.record)
            o = in_force.get(d.id)
            own.append(r.OwnDecision(
                decision_id=d.id, product=d.product, snapshot_id=d.snapshot_id, as_of=rec["as_of"],
                eligible=d.eligible, limit_yuan=d.limit_yuan, band=d.band, total_score=d.total_score,
                valid_until=rec.get("valid_until"), created_at=d.created_at,
                reasons=[s.Reason(code=x["code"], zh=x["zh"], en=x["en"]) for x in rec.get("reasons", [])],
                knockouts=[s.Reason(code=x["code"], zh=x["zh"], en=x["en"]) for x in rec.get("knockouts", [])],
                override=override_out(o) if o else None, disputed_fields=flags,
            ))  # fmt: skip
        return r.SelfView(
            uscc=uscc, name=snap.name, snapshot_id=snap.id, as_of=snap.as_of, product=product, inputs=inputs,
            decisions=own, eligible_now=page.eligible_now, path_to_eligibility=page.path, path_error=page.path_error,
            bank_queries=[r.OwnBankQuery(bank=q.bank, product=q.product, allowed=q.allowed, reason=q.reason,
                                         at=q.created_at) for q in access.queries_about(session, uscc=uscc)],
            authorizations=[views.authorization(a) for a in access.authorizations_of(session, uscc=uscc)],
            disputes=[dispute_out(x, now) for x in disputes.page(session, uscc=uscc, limit=200)],
            reviews=[review_out(session, x) for x in reviews.page(session, uscc=uscc, limit=200)],
            credit_events=[event_out(e) for e in store_events.of_enterprise(session, uscc)],
        )  # fmt: skip


def grant_authorization(
    ctx: AppContext, actor: Actor, body: r.EnterpriseGrantIn, *, idem: Idem | None = None
) -> s.AuthorizationOut | Replayed:
    """The enterprise authorizes a bank itself: recorded with `granted_by = enterprise` and its key as evidence."""
    uscc = own_uscc(actor)
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, body)) is not None:
            return hit
        for i, product in enumerate(body.products):
            ctx.product(product, ("body", "products", i))
        check_validity(ctx, body.valid_from, body.valid_to)  # the same period checks as the committee's
        row = access.add_authorization(
            session, actor=actor.key_id, uscc=uscc, bank=body.bank, products=body.products,
            valid_from=body.valid_from, valid_to=body.valid_to, scope=body.scope, purpose=body.purpose,
            evidence_ref=f"granted online by enterprise key {actor.key_id}", evidence_sha256=None,
            granted_by="enterprise",
        )  # fmt: skip
        out = views.authorization(row)
        remember(session, actor, idem, 201, out)
        return out


def revoke_own_authorization(ctx: AppContext, actor: Actor, authorization_id: str) -> s.AuthorizationOut:
    """The enterprise revokes one of its authorizations (whoever granted it); NotFound for another's."""
    uscc = own_uscc(actor)
    with ctx.write() as session:
        row = access.get_authorization(session, authorization_id)
        if row is None or row.uscc != uscc:  # another enterprise's authorization does not exist for this key
            raise NotFound(f"no authorization {authorization_id} of {uscc}")
        access.revoke(session, row, actor=actor.key_id)
        return views.authorization(row)


def own_authorizations(ctx: AppContext, actor: Actor) -> list[s.AuthorizationOut]:
    """The enterprise's authorizations, newest first."""
    uscc = own_uscc(actor)
    with ctx.read() as session:
        return [views.authorization(a) for a in access.authorizations_of(session, uscc=uscc)]
