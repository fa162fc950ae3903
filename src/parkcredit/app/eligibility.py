"""A partner bank's eligibility query: only under the enterprise's authorization, every query logged."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from parkcredit.app import schemas as s
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.decisions import compute, store_records
from parkcredit.app.rulesets import in_force
from parkcredit.errors import Forbidden, NotFound
from parkcredit.store import access, snapshots
from parkcredit.store import decisions as store

__all__ = ["NO_AUTHORIZATION", "eligibility"]

NO_AUTHORIZATION = "no authorization in force for this bank and product"


def eligibility(ctx: AppContext, actor: Actor, *, uscc: str, product: str) -> s.EligibilityOut:
    """The bank's summary view of an enterprise that authorized this bank for this product.

    The stored decision is reused when it was made on the latest snapshot with the version in force;
    otherwise the enterprise is decided now (outside the write lock) and the decision stored.
    Forbidden without an authorization in force today; NotFound without a snapshot. Refusals are logged too.
    """
    ctx.product(product)
    assert actor.bank is not None, "a bank key"
    log = {"bank": actor.bank, "key_id": actor.key_id, "uscc": uscc, "product": product}
    new: list[dict[str, Any]] = []
    with ctx.read() as session:
        auth = access.authorization_in_force(session, uscc=uscc, bank=actor.bank, product=product,
                                             today=dt.date.today())  # fmt: skip
        snap = snapshots.latest(session, uscc) if auth else None
        ruleset = in_force(ctx, session, product, snap.as_of) if snap is not None else None
        d = store.latest(session, uscc=uscc, product=product) if snap else None
        if auth is None or snap is None or ruleset is None:
            reason = NO_AUTHORIZATION if auth is None else "no profile on record"
        elif d is not None and d.snapshot_id == snap.id and d.ruleset_hash == ruleset.content_hash:
            record = json.loads(d.record)
        else:
            new = compute(ctx, session, [snap], ruleset)
            record = new[0]
        auth_id = auth.id if auth else None
    with ctx.write() as session:
        if auth_id is None or snap is None or ruleset is None:
            access.log_query(session, allowed=False, reason=reason, **log)
            session.commit()
            raise Forbidden(reason) if auth_id is None else NotFound(reason)
        store_records(session, new, ruleset, actor.key_id)
        access.log_query(session, allowed=True, reason="authorized", authorization_id=auth_id,
                         decision_id=record["decision_id"], **log)  # fmt: skip
    return s.EligibilityOut(
        uscc=uscc, product=product, eligible=record["eligible"], limit_yuan=record["limit_yuan"],
        band=record["band"], valid_until=record["valid_until"], decision_id=record["decision_id"],
        as_of=record["as_of"], ruleset_version=record["ruleset"]["version"],
        reasons=[s.Reason(code=r["code"], zh=r["zh"], en=r["en"]) for r in record["reasons"]],
    )  # fmt: skip
