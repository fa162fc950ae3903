"""The group-commit writer's store (`access.QueryLogStore`) links its entries with `audit.link_values`: the rows
`link_entries` makes, without ORM objects; the chain it leaves after ordinary appends verifies."""

from __future__ import annotations

import pytest

from parkcredit.store import access, audit
from parkcredit.store.db import make_engine, make_sessionmaker, write_session
from parkcredit.store.tables import AuditEntry

AWKWARD = ['自贡银行 "seq":1,', 'a\\b"c\u2028\x01', "é" * 40]


@pytest.fixture
def engine(db_url: str):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def test_link_values_are_the_entries_link_entries_makes() -> None:
    prepared = audit.prepare_entries([(f"key{k}", "bank.query", "enterprise", text, {"reason": text}, [])
                                      for k, text in enumerate(AWKWARD)])  # fmt: skip
    rows = audit.link_values(41, "f" * 64, prepared)
    made = audit.link_entries(41, "f" * 64, prepared)
    prev = "f" * 64
    for row, entry in zip(rows, made, strict=True):
        e = AuditEntry(**dict(zip(audit.ENTRY_COLUMNS, row, strict=True)))
        assert row[9] == audit.entry_hash(e) and row[8] == prev
        assert row[:1] + row[2:8] == (entry.seq, entry.actor, entry.action, entry.object_type, entry.object_id,
                                      entry.payload, entry.payload_sha256)  # fmt: skip
        prev = row[9]
    assert [r[0] for r in rows] == [42, 43, 44]


def test_batches_after_appends_make_one_verified_chain(engine) -> None:
    sessions = make_sessionmaker(engine)
    store = access.QueryLogStore(engine)
    row = {"key_id": "key_1", "uscc": "915103000000000001", "product": "chengxindai", "allowed": True,
           "authorization_id": None, "decision_id": None}  # fmt: skip
    try:
        first = store.write([{**row, "bank": AWKWARD[0], "reason": "a"}])  # the chain's first entry: after GENESIS
        with write_session(sessions) as s:
            audit.append(s, "key_x", "thing.create", "thing", 1, {"n": 1})
        rest = store.write([{**row, "bank": AWKWARD[i % 3], "reason": AWKWARD[(i + 1) % 3]} for i in range(20)])
    finally:
        store.close()
    with sessions() as s:
        r = audit.verify(s)
        entries = list(s.query(AuditEntry).order_by(AuditEntry.seq))
    assert r.ok and r.entries == 22 and r.rows_checked == 21 and not r.row_problems
    assert entries[0].prev_hash == audit.GENESIS and entries[0].payload["query_id"] == first[0]
    assert [e.payload["query_id"] for e in entries[2:]] == rest and entries[3].payload["bank"] == AWKWARD[1]
