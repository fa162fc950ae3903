"""Store readers given a province's worth of USCCs (more than one statement may bind) still answer."""

from __future__ import annotations

import datetime as dt

from dbsupport import make_uscc
from parkcredit.store import alerts, loans
from parkcredit.store.db import make_engine, make_sessionmaker

MANY = 70_000  # over PostgreSQL's 65,535 parameters per statement and SQLite's 32,766


def test_readers_of_many_usccs_chunk_their_in_lists(db_url: str) -> None:
    usccs = [make_uscc(i) for i in range(MANY)]
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as s:
            assert alerts.concerned_banks(s, usccs, today=dt.date.today()) == {}
            assert alerts.concerned_banks(s, usccs, today=dt.date.today(), product="chengxindai") == {}
            assert loans.outstanding(s, usccs, "chengxindai") == {}
            assert loans.serious(s, usccs) == {}
    finally:
        engine.dispose()
