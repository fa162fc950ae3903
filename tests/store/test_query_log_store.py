"""The group-commit writer's store (`access.QueryLogStore`) links its entries with `audit.link_values`: plain rows
whose hashes `entry_hash` recomputes; the chain it leaves after ordinary appends verifies."""

from __future__ import annotations

import datetime as dt

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


def test_link_values_link_the_prepared_entries_after_the_head() -> None:
    prepared = audit.prepare_entries([(f"key{k}", "bank.query", "enterprise", text, {"reason": text}, [])
                                      for k, text in enumerate(AWKWARD)])  # fmt: skip
    rows = audit.link_values(41, "f" * 64, prepared)
    prev = "f" * 64
    for row, p in zip(rows, prepared, strict=True):
        e = AuditEntry(**dict(zip(audit.ENTRY_COLUMNS, row, strict=True)))
        assert row[9] == audit.entry_hash(e) and row[8] == prev
        assert row[2:8] == (p.actor, p.action, p.object_type, p.object_id, p.payload, p.payload_sha256)
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


@pytest.fixture
def pg_url(_pg_schema: str) -> str:
    from parkcredit.store import testing

    testing.reset_pg(_pg_schema)
    return _pg_schema


def test_the_async_reader_opens_no_more_connections_than_its_limit(pg_url: str) -> None:
    """A burst beyond the reader's connections waits for one, never opens a connection per request; every probe
    is answered."""
    import asyncio

    engine = make_engine(pg_url)
    reader = access.AsyncHotReader(engine, connections=2)
    ask = {"key_hash": "0" * 64, "uscc": "915103000000000001", "product": "chengxindai", "today": dt.date.today()}

    async def burst() -> list[object]:
        return await asyncio.gather(*(reader.probe(**ask) for _ in range(7)))

    try:
        assert asyncio.run(burst()) == [None] * 7  # no such key: None, for every one of them
        assert len(reader._idle) == 2
        assert asyncio.run(reader.probe(**ask)) is None and len(reader._idle) == 2  # another loop: reused
    finally:
        reader.close()
        engine.dispose()
