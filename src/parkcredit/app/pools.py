"""Risk-compensation pools (风险补偿资金池, DOMAIN §3.6) for a product such as 园保贷 (yuanbaodai).

A pool has a balance (the sum of its movements: deposits, claims, recoveries), loss shares (pool / bank /
guarantor, in basis points, adding up to 100 %), a leverage cap (it backs at most balance × leverage of
outstanding principal) and a per-enterprise cap. The product's loans draw on it (`app.loans`); when the
cap would be exceeded, what a bank is shown is NOT_APPLICABLE with `POOL_CAPACITY` (`app.eligibility`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from parkcredit.app import bank_schemas as b
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.app.idempotency import Idem, Replayed, remember, replay
from parkcredit.errors import Conflict, InvalidInput, NotFound
from parkcredit.store import loans, pools
from parkcredit.store.tables import PoolMovement, RiskPool

__all__ = ["MAX_BALANCE_YUAN", "create_pool", "deposit", "list_pools", "pool_out", "statement"]

MAX_BALANCE_YUAN = 2_000_000_000  # what the integer columns hold everywhere


def _bp(value: float) -> int:
    return round(value * 10_000)


def pool_out(session: Session, row: RiskPool) -> b.PoolOut:
    balance = pools.balance(session, row.id)
    capacity = int(balance * row.leverage)
    outstanding = loans.pool_outstanding(session, row.id)
    return b.PoolOut(
        pool_id=row.id, product=row.product, name=row.name, balance_yuan=balance, share_pool=row.share_pool_bp / 10_000,
        share_bank=row.share_bank_bp / 10_000, share_guarantor=row.share_guarantor_bp / 10_000, leverage=row.leverage,
        per_enterprise_cap_yuan=row.per_enterprise_cap_yuan, capacity_yuan=capacity, outstanding_yuan=outstanding,
        available_yuan=max(0, capacity - outstanding), created_at=row.created_at,
    )  # fmt: skip


def _movement_out(m: PoolMovement) -> b.PoolMovementOut:
    return b.PoolMovementOut(
        movement_id=m.id, kind=m.kind, amount_yuan=m.amount_yuan, balance_after_yuan=m.balance_after_yuan,
        loan_id=m.loan_id, bank=m.bank, basis_yuan=m.basis_yuan, bank_share_yuan=m.bank_share_yuan,
        guarantor_share_yuan=m.guarantor_share_yuan, note=m.note, created_at=m.created_at,
    )  # fmt: skip


def create_pool(ctx: AppContext, actor: Actor, body: b.PoolIn, *, idem: Idem | None = None) -> b.PoolOut | Replayed:
    """A pool for one product with its opening balance (one pool per product)."""
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, body)) is not None:
            return hit
        ctx.product(body.product, ("body", "product"))
        if pools.for_product(session, body.product) is not None:
            raise Conflict(f"{body.product} already has a risk pool; deposit into it instead")
        loans.lock(session)
        row, _ = pools.add(
            session, actor=actor.key_id, deposit_yuan=body.balance_yuan, product=body.product, name=body.name,
            share_pool_bp=_bp(body.share_pool), share_bank_bp=_bp(body.share_bank),
            share_guarantor_bp=10_000 - _bp(body.share_pool) - _bp(body.share_bank), leverage=body.leverage,
            per_enterprise_cap_yuan=body.per_enterprise_cap_yuan,
        )  # fmt: skip
        out = pool_out(session, row)
        remember(session, actor, idem, 201, out)
        return out


def deposit(
    ctx: AppContext, actor: Actor, pool_id: int, body: b.DepositIn, *, idem: Idem | None = None
) -> b.PoolOut | Replayed:
    """Add to a pool's balance (a top-up by the park or the district)."""
    with ctx.write() as session:
        if (hit := replay(session, actor, idem, {"pool_id": pool_id, **body.model_dump()})) is not None:
            return hit
        loans.lock(session)
        row = pools.get(session, pool_id)
        if row is None:
            raise NotFound(f"no risk pool {pool_id}")
        if pools.balance(session, pool_id) + body.amount_yuan > MAX_BALANCE_YUAN:
            raise InvalidInput(("body", "amount_yuan"), f"the balance would exceed {MAX_BALANCE_YUAN:,} yuan")
        pools.add_movement(session, row, actor=actor.key_id, kind="deposit", amount_yuan=body.amount_yuan,
                           note=body.note)  # fmt: skip
        out = pool_out(session, row)
        remember(session, actor, idem, 201, out)
        return out


def list_pools(ctx: AppContext) -> list[b.PoolOut]:
    with ctx.read() as session:
        return [pool_out(session, r) for r in pools.pools(session)]


def statement(ctx: AppContext, pool_id: int) -> b.PoolStatement:
    """The pool's terms and position now, every movement, and the totals."""
    with ctx.read() as session:
        row = pools.get(session, pool_id)
        if row is None:
            raise NotFound(f"no risk pool {pool_id}")
        moves = pools.movements(session, pool_id)
        of_pool = pools.loans_of(session, pool_id)

        def total(kind: str) -> int:
            return sum(abs(m.amount_yuan) for m in moves if m.kind == kind)

        return b.PoolStatement(
            pool=pool_out(session, row), movements=[_movement_out(m) for m in moves], deposits_yuan=total("deposit"),
            claims_yuan=total("claim"), recoveries_yuan=total("recovery"), loans=len(of_pool),
            defaulted_loans=len({m.loan_id for m in moves if m.kind == "claim"}),
        )  # fmt: skip
