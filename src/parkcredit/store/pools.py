"""Risk-compensation pools (风险补偿资金池) and their movements; the balance is the sum of the movements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parkcredit.store import audit
from parkcredit.store.tables import Loan, PoolMovement, RiskPool

__all__ = ["add", "add_movement", "balance", "claims_of", "for_product", "get", "movements", "new_movement", "pools"]


def add(session: Session, *, actor: str, deposit_yuan: int, **fields: Any) -> tuple[RiskPool, PoolMovement | None]:
    """A pool and its opening deposit, bound in one entry."""
    pool = RiskPool(created_by=actor, **fields)
    session.add(pool)
    session.flush()
    opening = None
    if deposit_yuan:
        opening = new_movement(session, pool, actor=actor, kind="deposit", amount_yuan=deposit_yuan,
                               note="opening balance")  # fmt: skip
    audit.append(
        session, actor, "pool.create", "risk_pool", pool.id,
        {"product": pool.product, "deposit_yuan": deposit_yuan, "shares_bp": [pool.share_pool_bp, pool.share_bank_bp,
         pool.share_guarantor_bp], "leverage": pool.leverage, "per_enterprise_cap_yuan": pool.per_enterprise_cap_yuan},
        bind=[pool, *([opening] if opening else [])],
    )  # fmt: skip
    return pool, opening


def new_movement(
    session: Session, pool: RiskPool, *, actor: str, kind: str, amount_yuan: int, **fields: Any
) -> PoolMovement:
    """A movement row (not yet audited: the caller binds it in the entry of what caused it)."""
    after = balance(session, pool.id) + amount_yuan
    row = PoolMovement(pool_id=pool.id, kind=kind, amount_yuan=amount_yuan, balance_after_yuan=after,
                       created_by=actor, **fields)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def add_movement(
    session: Session, pool: RiskPool, *, actor: str, kind: str, amount_yuan: int, **fields: Any
) -> PoolMovement:
    """A movement with its own audit entry (a deposit)."""
    row = new_movement(session, pool, actor=actor, kind=kind, amount_yuan=amount_yuan, **fields)
    audit.append(session, actor, f"pool.{kind}", "risk_pool", pool.id,
                 {"amount_yuan": amount_yuan, "balance_after_yuan": row.balance_after_yuan}, bind=[row])  # fmt: skip
    return row


def get(session: Session, pool_id: int) -> RiskPool | None:
    return session.get(RiskPool, pool_id)


def for_product(session: Session, product: str) -> RiskPool | None:
    return session.scalar(select(RiskPool).where(RiskPool.product == product))


def pools(session: Session) -> list[RiskPool]:
    return list(session.scalars(select(RiskPool).order_by(RiskPool.id)))


def balance(session: Session, pool_id: int) -> int:
    return int(session.scalar(select(func.sum(PoolMovement.amount_yuan)).where(PoolMovement.pool_id == pool_id)) or 0)


def movements(session: Session, pool_id: int, *, limit: int = 10_000) -> list[PoolMovement]:
    q = select(PoolMovement).where(PoolMovement.pool_id == pool_id).order_by(PoolMovement.id).limit(limit)
    return list(session.scalars(q))


def claims_of(session: Session, loan_id: int) -> list[PoolMovement]:
    """The claim movements of one loan (at most one: a default claims once)."""
    q = select(PoolMovement).where(PoolMovement.loan_id == loan_id, PoolMovement.kind == "claim")
    return list(session.scalars(q))


def loans_of(session: Session, pool_id: int) -> list[Loan]:
    return list(session.scalars(select(Loan).where(Loan.pool_id == pool_id).order_by(Loan.id)))
