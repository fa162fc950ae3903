"""The audit hash chain: any edited, deleted or re-ordered entry is found; concurrent appends stay chained."""

from __future__ import annotations

import threading

import pytest

from parkcredit.store import audit
from parkcredit.store.db import make_engine, make_sessionmaker, write_session


@pytest.fixture
def sessions(db_url: str):
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _fill(sessions, n: int = 6) -> None:
    with write_session(sessions) as s:
        for i in range(1, n + 1):
            audit.append(s, "key_test", "thing.create", "thing", i, {"n": i, "name": f"第{i}项"})


def _sql(sessions, *statements: str) -> None:
    with sessions() as s:
        for stmt in statements:
            s.connection().exec_driver_sql(stmt)
        s.commit()


def _verify(sessions) -> audit.VerifyResult:
    with sessions() as s:
        return audit.verify(s)


def test_intact_chain_verifies(sessions) -> None:
    _fill(sessions)
    r = _verify(sessions)
    assert r.ok and r.entries == 6 and r.first_bad_seq is None


def test_edited_payload_is_found(sessions) -> None:
    _fill(sessions)
    _sql(sessions, """UPDATE audit_log SET payload = '{"n": 99, "name": "x"}' WHERE seq = 3""")
    r = _verify(sessions)
    assert (r.ok, r.first_bad_seq) == (False, 3) and "payload" in r.reason


def test_edited_payload_with_recomputed_sha_is_found(sessions) -> None:
    _fill(sessions)
    forged = audit.canonical({"n": 99})
    _sql(
        sessions,
        f"UPDATE audit_log SET payload = '{forged}', payload_sha256 = '{audit.sha256_hex(forged)}' WHERE seq = 4",
    )
    assert _verify(sessions).first_bad_seq == 4


def test_deleted_entry_is_found(sessions) -> None:
    _fill(sessions)
    _sql(sessions, "DELETE FROM audit_log WHERE seq = 2")
    r = _verify(sessions)
    assert (r.ok, r.first_bad_seq) == (False, 2) and "missing" in r.reason


def test_swapped_entries_are_found(sessions) -> None:
    _fill(sessions)
    _sql(
        sessions,
        "UPDATE audit_log SET seq = -1 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = -1",
    )
    assert _verify(sessions).first_bad_seq == 3


def test_concurrent_writers_keep_one_chain(sessions) -> None:
    def writer(k: int) -> None:
        for i in range(10):
            with write_session(sessions) as s:
                audit.append(s, f"key_{k}", "thing.create", "thing", i, {"writer": k, "i": i})

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r = _verify(sessions)
    assert r.ok and r.entries == 40
