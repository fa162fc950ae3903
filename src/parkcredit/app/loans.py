"""Loans reported by partner banks: disbursements checked against the authorization, the decision relied on
and the limit the bank is shown; their status events; declined applications; the committee's view.

A disbursement is refused — nothing stored — when the bank holds no authorization of the enterprise for
the product in force on the disbursement date (403), or (422, naming the field and the reason) when
the date is in the future, the decision is unknown, of another enterprise or product, made after the
disbursement, expired, superseded by a decision on newer data or rules, or not eligible as the bank is
shown it now (override, serious delinquency at any bank, pool capacity), or when the amount is above
the limit available (the decided limit less the outstanding principal at all partner banks). Loan
writes are serialized (`store.loans.lock`), so two banks cannot both lend the same remaining limit.

A loan under a product with a risk pool draws on it: its default (or write-off) claims the pool's
share of the principal outstanding, and later recoveries return the pool's share of them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from parkcredit.app import alerts
from parkcredit.app import bank_schemas as b
from parkcredit.app import schemas as s
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.eligibility import summary_of_decision
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.errors import Conflict, Forbidden, InvalidInput, NotFound
from parkcredit.profile.uscc import UsccError, parse_uscc
from parkcredit.store import decisions as store_decisions
from parkcredit.store import loans, pools
from parkcredit.store.tables import Loan, LoanDecline, LoanEvent, PoolMovement, utcnow

__all__ = [
    "DECLINE_REASONS", "add_event", "create_loan", "decline", "list_declines", "list_loans", "loan_out",
    "outcome_alias", "outstanding", "read_loan", "recent_loans",
]  # fmt: skip

DECLINE_REASONS: dict[str, tuple[str, str]] = {
    "BANK_CREDIT_POLICY": ("不符合本行授信政策", "Outside the bank's credit policy"),
    "INSUFFICIENT_CASH_FLOW": ("经营现金流不足以覆盖还款", "Operating cash flow does not cover repayment"),
    "OVER_INDEBTED": ("负债水平过高", "Indebtedness too high"),
    "INCOMPLETE_DOCUMENTS": ("申请材料不完整", "Application documents incomplete"),
    "ADVERSE_INFORMATION": ("本行掌握的其他不良信息", "Other adverse information held by the bank"),
    "APPLICANT_WITHDREW": ("企业撤回申请", "The applicant withdrew"),
    "OTHER": ("其他（见说明）", "Other (see the note)"),
}


def _uscc(value: str, loc: tuple[str, ...] = ("body", "uscc")) -> str:
    try:
        return str(parse_uscc(value))
    except UsccError as exc:
        raise InvalidInput(loc, str(exc), "invalid_uscc") from None


def _not_future(day: dt.date, loc: tuple[str, ...], today: dt.date) -> None:
    if day > today:
        raise InvalidInput(loc, f"{day} is in the future (today is {today})", "future_date")


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def loan_out(row: Loan) -> b.LoanOut:
    return b.LoanOut(
        loan_id=row.id, bank=row.bank, loan_ref=row.loan_ref, uscc=row.uscc, product=row.product,
        decision_id=row.decision_id, band=row.band, amount_yuan=row.amount_yuan, disbursed_on=row.disbursed_on,
        term_months=row.term_months, status=row.status, principal_outstanding_yuan=row.principal_outstanding_yuan,
        status_on=row.status_on, pool_id=row.pool_id, created_at=row.created_at,
    )  # fmt: skip


def _event_out(row: LoanEvent) -> b.LoanEventOut:
    return b.LoanEventOut(
        event_id=row.id, loan_id=row.loan_id, status=row.status,
        principal_outstanding_yuan=row.principal_outstanding_yuan, recovered_yuan=row.recovered_yuan,
        event_on=row.event_on, reported_at=row.reported_at,
    )  # fmt: skip


def _decline_out(row: LoanDecline) -> b.DeclineOut:
    zh, en = DECLINE_REASONS.get(row.reason_code, (row.reason_code, row.reason_code))
    return b.DeclineOut(
        decline_id=row.id, bank=row.bank, uscc=row.uscc, product=row.product, decision_id=row.decision_id,
        reason_code=row.reason_code, reason_zh=zh, reason_en=en, declined_on=row.declined_on, note=row.note,
        created_at=row.created_at,
    )  # fmt: skip


def _checked(
    ctx: AppContext, session: Session, actor: Actor, body: b.LoanIn, today: dt.date
) -> tuple[str, str, int | None]:
    """(uscc, band, pool id) of an acceptable disbursement; Forbidden / InvalidInput naming the reason otherwise."""
    assert actor.bank is not None, "a bank key"
    ctx.product(body.product, ("body", "product"))
    uscc = _uscc(body.uscc)
    _not_future(body.disbursed_on, ("body", "disbursed_on"), today)
    if loans.authorization_on(session, uscc=uscc, bank=actor.bank, product=body.product, on=body.disbursed_on) is None:
        raise Forbidden(
            f"{actor.bank} holds no authorization of {uscc} for {body.product} in force on {body.disbursed_on}"
        )
    loc = ("body", "decision_id")
    d = store_decisions.get(session, str(body.decision_id))
    if d is None:
        raise InvalidInput(loc, f"no decision {body.decision_id}", "unknown_decision")
    if d.uscc != uscc or d.product != body.product:
        raise InvalidInput(loc, f"decision {d.id} is of {d.uscc} for {d.product}, not of {uscc} for {body.product}",
                           "decision_of_another_enterprise")  # fmt: skip
    if _utc(d.created_at).date() > body.disbursed_on:
        raise InvalidInput(loc, f"decision {d.id} was made on {_utc(d.created_at).date()}, after the disbursement "
                                f"on {body.disbursed_on}", "decision_after_disbursement")  # fmt: skip
    if d.valid_until is not None and body.disbursed_on > d.valid_until:
        raise InvalidInput(loc, f"decision {d.id} was valid until {d.valid_until}, before the disbursement",
                           "decision_expired")  # fmt: skip
    newest = store_decisions.latest(session, uscc=uscc, product=body.product)
    if newest is not None and newest.id != d.id and (newest.snapshot_id, newest.ruleset_hash) != (
        d.snapshot_id, d.ruleset_hash
    ):  # fmt: skip
        raise InvalidInput(loc, f"decision {d.id} was superseded by decision {newest.id} (newer data or rules): "
                                "ask for the enterprise's eligibility again", "decision_superseded")  # fmt: skip
    shown = summary_of_decision(session, d, today=today)
    if shown.status != "ELIGIBLE":
        codes = ", ".join(r.code for r in shown.reasons[:5]) or "—"
        raise InvalidInput(loc, f"the decision relied on is {shown.status} as the bank is shown it ({codes})",
                           "decision_not_eligible")  # fmt: skip
    if body.amount_yuan > shown.limit_available_yuan:
        raise InvalidInput(
            ("body", "amount_yuan"),
            f"{body.amount_yuan:,} yuan is above the limit available of {shown.limit_available_yuan:,} yuan "
            f"(limit {shown.limit_decided_yuan:,} yuan less {shown.outstanding_yuan:,} yuan outstanding at all "
            "partner banks" + (", within the risk pool's capacity" if pools.for_product(session, body.product) else "")
            + ")",
            "amount_above_available_limit",
        )  # fmt: skip
    pool = pools.for_product(session, body.product)
    return uscc, d.band, pool.id if pool is not None else None


def create_loan(ctx: AppContext, actor: Actor, body: b.LoanIn, *, idem: Idem | None = None) -> b.LoanOut | Replayed:
    """Record a disbursement by the actor's bank after every check (see the module); nothing is stored if one fails."""
    assert actor.bank is not None, "a bank key"
    today = dt.date.today()
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, body)) is not None:
            return hit
        loans.lock(session)
        if loans.by_ref(session, bank=actor.bank, loan_ref=body.loan_ref) is not None:
            raise Conflict(f"{actor.bank} already reported a loan {body.loan_ref!r}")
        uscc, band, pool_id = _checked(ctx, session, actor, body, today)
        loan, _ = loans.add(
            session, actor=actor.key_id, bank=actor.bank, loan_ref=body.loan_ref, uscc=uscc, product=body.product,
            decision_id=str(body.decision_id), band=band, amount_yuan=body.amount_yuan, disbursed_on=body.disbursed_on,
            term_months=body.term_months, pool_id=pool_id,
        )  # fmt: skip
        out = loan_out(loan)
        remember(session, actor, idem, 201, out)
        return out


def _pool_effects(session: Session, loan: Loan, body: b.LoanEventIn, actor: Actor) -> list[PoolMovement]:
    """The pool movements an event causes: a claim on the first default / write-off, a recovery's share back."""
    pool = pools.get(session, loan.pool_id) if loan.pool_id is not None else None
    if pool is None:
        return []
    out = []
    claims = pools.claims_of(session, loan.id)
    if body.status in ("default", "written_off") and not claims:
        basis = body.principal_outstanding_yuan
        share = basis * pool.share_pool_bp // 10_000
        bank_share = basis * pool.share_bank_bp // 10_000
        paid = max(0, min(share, pools.balance(session, pool.id)))
        note = "" if paid == share else f"pool balance short by {share - paid:,} yuan"
        out.append(pools.new_movement(
            session, pool, actor=actor.key_id, kind="claim", amount_yuan=-paid, loan_id=loan.id, bank=loan.bank,
            basis_yuan=basis, bank_share_yuan=bank_share, guarantor_share_yuan=basis - share - bank_share, note=note,
        ))  # fmt: skip
        claims = out
    if body.recovered_yuan and claims:
        basis = body.recovered_yuan
        share = basis * pool.share_pool_bp // 10_000
        bank_share = basis * pool.share_bank_bp // 10_000
        out.append(pools.new_movement(
            session, pool, actor=actor.key_id, kind="recovery", amount_yuan=share, loan_id=loan.id, bank=loan.bank,
            basis_yuan=basis, bank_share_yuan=bank_share, guarantor_share_yuan=basis - share - bank_share,
        ))  # fmt: skip
    return out


def add_event(
    ctx: AppContext, actor: Actor, loan_id: int, body: b.LoanEventIn, *, idem: Idem | None = None
) -> b.LoanDetail | Replayed:
    """A new status of one of the bank's loans (and its principal outstanding); pool claims and recoveries follow."""
    today = dt.date.today()
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, {"loan_id": loan_id, **body.model_dump(mode="json")})) is not None:
            return hit
        loans.lock(session)
        loan = loans.get(session, loan_id)
        if loan is None:
            raise NotFound(f"no loan {loan_id}")
        if loan.bank != actor.bank:
            raise Forbidden(f"loan {loan_id} is not a loan of {actor.bank}")
        if loan.status == "repaid":
            raise Conflict(f"loan {loan_id} was repaid on {loan.status_on}: it takes no further events")
        if loan.status == "written_off" and body.status != "written_off":
            raise InvalidInput(("body", "status"), "a written-off loan takes only written_off events (recoveries)")
        _not_future(body.event_on, ("body", "event_on"), today)
        if body.event_on < loan.status_on:
            raise InvalidInput(("body", "event_on"), f"{body.event_on} is before the loan's latest event "
                                                     f"({loan.status_on})", "event_out_of_order")  # fmt: skip
        if body.principal_outstanding_yuan > loan.amount_yuan:
            raise InvalidInput(("body", "principal_outstanding_yuan"),
                               f"above the amount disbursed ({loan.amount_yuan:,} yuan)")  # fmt: skip
        if body.status == "repaid" and body.principal_outstanding_yuan != 0:
            raise InvalidInput(("body", "principal_outstanding_yuan"), "a repaid loan has 0 principal outstanding")
        defaulted = body.status in ("default", "written_off") or loan.status in ("default", "written_off")
        if body.recovered_yuan and not defaulted:
            raise InvalidInput(("body", "recovered_yuan"), "recoveries are reported after a default or write-off")
        was_serious = loan.status in loans.SERIOUS
        movements = _pool_effects(session, loan, body, actor)
        loans.add_event(
            session, loan, actor=actor.key_id, status=body.status,
            principal_outstanding_yuan=body.principal_outstanding_yuan, recovered_yuan=body.recovered_yuan,
            event_on=body.event_on, bind=movements,
        )  # fmt: skip
        if body.status in loans.SERIOUS and not was_serious:
            alerts.on_serious_loan(session, loan, actor=actor.key_id)
        out = b.LoanDetail(
            **loan_out(loan).model_dump(), events=[_event_out(e) for e in loans.events_of(session, loan.id)]
        )
        remember(session, actor, idem, 201, out)
        return out


def _scope(actor: Actor) -> str | None:
    """A bank sees its own loans; the committee and auditors see all."""
    return actor.bank if actor.role == "bank" else None


def list_loans(
    ctx: AppContext, actor: Actor, *, uscc: str | None = None, product: str | None = None, status: str | None = None,
    after_id: int = 0, limit: int = 100,
) -> b.LoanPage:  # fmt: skip
    """Loans by id: a bank's own, or all for the committee and auditors."""
    with ctx.read() as session:
        rows = loans.page(session, bank=_scope(actor), uscc=uscc, product=product, status=status, after_id=after_id,
                          limit=limit)  # fmt: skip
        return b.LoanPage(items=[loan_out(r) for r in rows], next_after_id=rows[-1].id if len(rows) == limit else None)


def recent_loans(ctx: AppContext, actor: Actor, *, limit: int = 50) -> list[b.LoanOut]:
    """The newest loans (a bank: its own), for the pages."""
    with ctx.read() as session:
        return [loan_out(r) for r in loans.page(session, bank=_scope(actor), limit=limit, newest_first=True)]


def read_loan(ctx: AppContext, actor: Actor, loan_id: int) -> b.LoanDetail:
    """One loan with its events (a bank: only its own)."""
    with ctx.read() as session:
        loan = loans.get(session, loan_id)
        if loan is None or (_scope(actor) is not None and loan.bank != actor.bank):
            raise NotFound(f"no loan {loan_id}")
        return b.LoanDetail(
            **loan_out(loan).model_dump(), events=[_event_out(e) for e in loans.events_of(session, loan_id)]
        )


def decline(ctx: AppContext, actor: Actor, body: b.DeclineIn, *, idem: Idem | None = None) -> b.DeclineOut | Replayed:
    """Record an application the bank declined, with its reason code (under an authorization on that day)."""
    assert actor.bank is not None, "a bank key"
    today = dt.date.today()
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, body)) is not None:
            return hit
        ctx.product(body.product, ("body", "product"))
        uscc = _uscc(body.uscc)
        if body.reason_code not in DECLINE_REASONS:
            known = ", ".join(DECLINE_REASONS)
            raise InvalidInput(("body", "reason_code"), f"unknown reason code {body.reason_code!r}; known: {known}",
                               "unknown_reason_code")  # fmt: skip
        _not_future(body.declined_on, ("body", "declined_on"), today)
        if (
            loans.authorization_on(session, uscc=uscc, bank=actor.bank, product=body.product, on=body.declined_on)
            is None
        ):
            raise Forbidden(f"{actor.bank} holds no authorization of {uscc} for {body.product} in force on "
                            f"{body.declined_on}")  # fmt: skip
        decision_id = str(body.decision_id) if body.decision_id else None
        if decision_id is not None:
            d = store_decisions.get(session, decision_id)
            if d is None or d.uscc != uscc or d.product != body.product:
                raise InvalidInput(("body", "decision_id"), f"no decision {decision_id} of {uscc} for {body.product}")
        row = loans.add_decline(session, actor=actor.key_id, bank=actor.bank, uscc=uscc, product=body.product,
                                decision_id=decision_id, reason_code=body.reason_code, note=body.note,
                                declined_on=body.declined_on)  # fmt: skip
        out = _decline_out(row)
        remember(session, actor, idem, 201, out)
        return out


def list_declines(ctx: AppContext, actor: Actor, *, after_id: int = 0, limit: int = 100) -> list[b.DeclineOut]:
    with ctx.read() as session:
        return [_decline_out(r) for r in loans.declines(session, bank=_scope(actor), after_id=after_id, limit=limit)]


def outstanding(ctx: AppContext) -> list[b.OutstandingRow]:
    """Live loans by bank, product and band (the band of the decision each loan relied on)."""
    with ctx.read() as session:
        return [b.OutstandingRow(bank=bk, product=p, band=band, loans=int(n), outstanding_yuan=int(v or 0))
                for bk, p, band, n, v in loans.outstanding_by(session)]  # fmt: skip


def outcome_alias(
    ctx: AppContext, actor: Actor, body: s.OutcomeRequest, *, idem: Idem | None = None
) -> s.OutcomeOut | Replayed:
    """`POST /v1/outcomes`, kept as a thin alias: the first report of a (uscc, product, disbursed_on) at a bank
    is a checked disbursement (loan_ref `outcome:<uscc>:<product>:<date>`), a later one an event of that loan."""
    assert actor.bank is not None, "a bank key"
    if body.decision_id is None:
        raise InvalidInput(("body", "decision_id"), "required: a loan is checked against the decision it relied on")
    ref = f"outcome:{body.uscc}:{body.product}:{body.disbursed_on}"
    with ctx.read() as session:
        if (hit := replay(session, actor, idem, body)) is not None:
            return hit
        existing = loans.by_ref(session, bank=actor.bank, loan_ref=ref)
    if existing is None:
        made = create_loan(ctx, actor, b.LoanIn(loan_ref=ref, uscc=body.uscc, product=body.product,
                                                amount_yuan=max(1, body.disbursed_yuan), disbursed_on=body.disbursed_on,
                                                term_months=12, decision_id=body.decision_id))  # fmt: skip
        assert isinstance(made, b.LoanOut)
        loan_id = made.loan_id
    else:
        loan_id = existing.id
    if existing is not None or body.status != "current":
        principal = 0 if body.status == "repaid" else max(1, body.disbursed_yuan)
        on = dt.date.today() if existing is not None else body.disbursed_on  # a later report: a status as of today
        event = b.LoanEventIn(status=body.status, principal_outstanding_yuan=principal, event_on=on)
        add_event(ctx, actor, loan_id, event)
    with ctx.write() as session:
        loan = loans.get(session, loan_id)
        assert loan is not None
        out = s.OutcomeOut(outcome_id=loan.id, loan_id=loan.id, bank=loan.bank, uscc=loan.uscc, product=loan.product,
                           decision_id=loan.decision_id, disbursed_yuan=loan.amount_yuan,
                           disbursed_on=loan.disbursed_on, status=loan.status, reported_at=utcnow())  # fmt: skip
        remember(session, actor, idem, 201, out)
        return out
