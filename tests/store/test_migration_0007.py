"""Revision 0007 adds `authorizations.granted_by`: rows stored before it say `committee_on_paper` and are
bound again, so `audit verify` still vouches for them (a row's digest covers every column)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from parkcredit.store import audit, binding
from parkcredit.store.db import make_engine
from parkcredit.store.migrate import upgrade
from parkcredit.store.tables import AuditEntry, Authorization


def test_authorizations_stored_before_0007_keep_verifying(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO authorizations (id, uscc, bank, products, valid_from, valid_to, scope, purpose, evidence_ref,"
            " evidence_sha256, created_by, created_at) VALUES ('a1', '91510311MA60000012', '自贡银行', '[\"chengxindai\"]',"
            " '2025-01-01', '2026-01-01', 'summary', 'loan', 'scan://1.pdf', NULL, 'key_x', '2025-01-01 00:00:00.000000')"
        ))  # fmt: skip
        row = conn.execute(text("SELECT * FROM authorizations")).mappings().one()
        with Session(bind=conn) as session:
            audit.append(session, "key_x", "authorization.create", "authorization", "a1", {},
                         bind_refs=[binding.ref_values("authorizations", "a1", row)])  # fmt: skip
            session.flush()
    upgrade(engine)
    with Session(engine) as session:
        assert session.scalar(select(Authorization.granted_by)) == "committee_on_paper"
        result = audit.verify(session)
        assert result.ok, result.row_problems
        reasons = [e.payload.get("reason") for e in session.scalars(select(AuditEntry)) if e.action == "audit.rebind"]
        assert "revision 0007 added authorizations.granted_by" in reasons
    engine.dispose()
