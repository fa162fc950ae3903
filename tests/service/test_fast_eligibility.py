"""The banks' single query on its fast path (issue 18): `api/fastpath.py`, `app.eligibility.FastLookup`,
`app.query_log.QueryLogWriter`.

- the fast path answers exactly what the route answers (status, headers, body bytes) — plain, after a loan,
  under an override, after a serious delinquency, under a risk pool — and logs the same `bank_queries` row and
  `bank.query` audit entry;
- what it does not answer goes to the route (refusals logged there, a new decision made there), and a revoked key
  or authorization is refused at once (nothing cached);
- the group-commit writer: queries from many threads all logged, each row bound by its own entry; a batch waits
  for the one before it; a failed transaction answers its requests with an error and stores nothing.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dbsupport import BANK, OTHER_BANK, make_uscc
from lendingsupport import TODAY, enrol, event, loan_body
from parkcredit.app.actor import Actor
from parkcredit.app.query_log import QueryLogWriter
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store import access, audit
from parkcredit.store.tables import AuditEntry, BankQuery

ROW = ("bank", "key_id", "uscc", "product", "allowed", "reason", "authorization_id", "decision_id")


@pytest.fixture
def route(settings: Settings, client: TestClient) -> Iterator[TestClient]:
    """The same app on the same database without the fast path: every query through its route."""
    with TestClient(create_app(settings, fast_eligibility=False)) as c:
        yield c


def _writer(client: TestClient) -> QueryLogWriter:
    fast = client.app.state.fast_eligibility  # type: ignore[attr-defined]
    assert fast is not None
    writer: QueryLogWriter = fast.writer
    return writer


def _rows(client: TestClient) -> list[BankQuery]:
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(BankQuery).order_by(BankQuery.id)))


def _same(client: TestClient, route: TestClient, keys: dict[str, dict[str, str]], uscc: str, *, who: str = "bank",
          product: str = "chengxindai", fast: bool = True) -> dict[str, Any]:  # fmt: skip
    """The fast path and the route give the same answer and log the same row; `fast`: the fast path answered."""
    url = f"/v1/eligibility/{uscc}?product={product}"
    before = _writer(client).written
    a = client.get(url, headers=keys[who])
    assert _writer(client).written == before + (1 if fast else 0)
    b = route.get(url, headers=keys[who])
    assert (a.status_code, a.content) == (b.status_code, b.content), (a.text, b.text)
    drop = {"date", "server"}
    assert [(k, v) for k, v in a.headers.items() if k not in drop] == [
        (k, v) for k, v in b.headers.items() if k not in drop
    ]
    *_, ra, rb = _rows(client)
    assert [getattr(ra, c) for c in ROW] == [getattr(rb, c) for c in ROW]
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        ea, eb = (s.scalar(select(AuditEntry).where(AuditEntry.action == "bank.query",
                                                    AuditEntry.payload["query_id"].as_integer() == r.id))
                  for r in (ra, rb))  # fmt: skip
        assert ea is not None and eb is not None
        pa, pb = dict(ea.payload), dict(eb.payload)
        assert pa.pop("query_id") == ra.id and pb.pop("query_id") == rb.id
        assert [r["table"] for r in pa.pop("rows")] == [r["table"] for r in pb.pop("rows")] == ["bank_queries"]
        assert (ea.actor, ea.object_type, ea.object_id, pa) == (eb.actor, eb.object_type, eb.object_id, pb)
    out: dict[str, Any] = a.json()
    return out


def test_the_fast_path_answers_and_logs_what_the_route_does(client: TestClient, route: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    u = enrol(client, keys, 1)
    _same(client, route, keys, u, fast=False)  # no decision yet: made by the route
    first = _same(client, route, keys, u)  # stored and current now: the fast path
    assert first["eligible"] is True and first["limit_available_yuan"] == 3_000_000
    _same(client, route, keys, u, who="other_bank")
    r = client.get(f"/v1/eligibility/{u}", headers=keys["bank"])  # the default product
    assert r.status_code == 200 and r.json() == first
    loan = client.post("/v1/loans", json=loan_body(u, first["decision_id"], 2_000_000), headers=keys["bank"])
    assert loan.status_code == 201, loan.text
    assert _same(client, route, keys, u, who="other_bank")["limit_available_yuan"] == 1_000_000
    body = {"eligible": True, "limit_yuan": 2_500_000, "reason_code": "RISK_CONCERN", "reason": "行业下行，压降额度"}
    assert client.post(f"/v1/decisions/{first['decision_id']}/overrides", json=body,
                       headers=keys["committee"]).status_code == 201  # fmt: skip
    shown = _same(client, route, keys, u)
    assert shown["flags"][0]["code"] == "OVERRIDE" and shown["limit_available_yuan"] == 500_000
    r = client.post(f"/v1/loans/{loan.json()['loan_id']}/events", json=event("overdue_90", 1_900_000),
                    headers=keys["bank"])  # fmt: skip
    assert r.status_code == 201, r.text
    shown = _same(client, route, keys, u, who="other_bank")
    assert shown["status"] == "INELIGIBLE" and shown["reasons"][0]["code"] == "LOAN_SERIOUS_DELINQUENCY"


def test_the_fast_path_under_a_risk_pool(client: TestClient, route: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    y = "yuanbaodai"
    pool = {"product": y, "name": "园保贷资金池", "balance_yuan": 1_000_000, "share_pool": 0.4, "share_bank": 0.2,
            "share_guarantor": 0.4, "leverage": 2.5, "per_enterprise_cap_yuan": 2_000_000}  # fmt: skip
    assert client.post("/v1/pools", json=pool, headers=keys["committee"]).status_code == 201
    u = enrol(client, keys, 1, products=(y,))
    _same(client, route, keys, u, product=y, fast=False)
    d = _same(client, route, keys, u, product=y)
    assert d["limit_available_yuan"] == 2_000_000
    r = client.post("/v1/loans", json=loan_body(u, d["decision_id"], 2_000_000, product=y), headers=keys["bank"])
    assert r.status_code == 201, r.text
    assert _same(client, route, keys, u, product=y, who="other_bank")["limit_available_yuan"] == 0
    v = enrol(client, keys, 2, products=(y,))
    _same(client, route, keys, v, product=y, fast=False)
    shown = _same(client, route, keys, v, product=y)
    assert shown["limit_available_yuan"] == 500_000  # 1,000,000 × 2.5 − 2,000,000


def test_what_the_fast_path_does_not_answer_goes_to_the_route(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    u = enrol(client, keys, 1, banks=(BANK,))
    writer = _writer(client)
    assert client.get(f"/v1/eligibility/{u}", headers=keys["bank"]).status_code == 200  # decided by the route
    n = writer.written
    cases = [
        (f"/v1/eligibility/{u}", {}, 401),  # no key
        (f"/v1/eligibility/{u}", {"Authorization": "Bearer pck_nosuchkey"}, 401),
        (f"/v1/eligibility/{u}", keys["committee"], 403),  # not a bank key
        (f"/v1/eligibility/{u}", keys["other_bank"], 403),  # no authorization of that bank: logged
        (f"/v1/eligibility/{make_uscc(9)}", keys["bank"], 403),
        (f"/v1/eligibility/{u.lower()}", keys["bank"], 200),  # normalised by the route
        (f"/v1/eligibility/{u}?product=nosuch", keys["bank"], 422),
        (f"/v1/eligibility/{u}?product=chengxindai&x=1", keys["bank"], 200),
        ("/v1/eligibility/91510311MA6000001X", keys["bank"], 422),
    ]
    for url, headers, status in cases:
        assert client.get(url, headers=headers).status_code == status, url
    assert writer.written == n  # none of them took the fast path
    refused = [r for r in _rows(client) if not r.allowed]
    assert [(r.bank, r.uscc) for r in refused] == [(OTHER_BANK, u), (BANK, make_uscc(9))]
    assert client.get(f"/v1/eligibility/{u}", headers=keys["bank"]).status_code == 200
    assert writer.written == n + 1


def test_a_revoked_key_or_authorization_is_refused_at_once(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    u = enrol(client, keys, 1, banks=(BANK,))
    for _ in range(2):
        assert client.get(f"/v1/eligibility/{u}", headers=keys["bank"]).status_code == 200
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        auth_id = access.authorizations_of(s, uscc=u)[0].id
    assert client.delete(f"/v1/authorizations/{auth_id}", headers=keys["committee"]).status_code == 200
    assert client.get(f"/v1/eligibility/{u}", headers=keys["bank"]).status_code == 403
    # a second bank key, revoked between two queries
    made = client.post("/v1/admin/keys", json={"role": "bank", "bank": OTHER_BANK}, headers=keys["admin"]).json()
    v = enrol(client, keys, 2, banks=(OTHER_BANK,))
    mine = {"Authorization": f"Bearer {made['token']}"}
    for _ in range(2):
        assert client.get(f"/v1/eligibility/{v}", headers=mine).status_code == 200
    assert client.delete(f"/v1/admin/keys/{made['key_id']}", headers=keys["admin"]).status_code == 200
    r = client.get(f"/v1/eligibility/{v}", headers=mine)
    assert r.status_code == 401 and "revoked" in r.text


def test_queries_from_many_threads_are_all_logged_each_bound_by_its_entry(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    u = enrol(client, keys, 1, banks=(BANK,))
    assert client.get(f"/v1/eligibility/{u}", headers=keys["bank"]).status_code == 200
    writer = _writer(client)
    n0, errors = writer.written, []

    def ask() -> None:
        for _ in range(10):
            r = client.get(f"/v1/eligibility/{u}", headers=keys["bank"])
            if r.status_code != 200:
                errors.append(r.text)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and writer.written == n0 + 60
    rows = _rows(client)
    assert len(rows) == 61 and len({r.id for r in rows}) == 61
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "bank.query")))
    bound = sorted(int(e.payload["rows"][0]["id"]) for e in entries)
    assert bound == sorted(r.id for r in rows)  # one entry per query, binding its row (the fixture verifies all)


def test_the_writer_commits_what_came_while_it_wrote_in_one_transaction(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    writer = QueryLogWriter(ctx).start()
    gate, entered = threading.Event(), threading.Event()
    real = access.QueryLogStore.write

    def slow(self: access.QueryLogStore, rows: Any) -> list[int]:
        entered.set()
        gate.wait(10)
        return real(self, rows)

    monkeypatch.setattr(access.QueryLogStore, "write", slow)
    actor = Actor(key_id="key_test", role="bank", bank=BANK)
    row = {"bank": actor.bank, "key_id": actor.key_id, "uscc": make_uscc(1), "product": "chengxindai",
           "allowed": False, "reason": access.__name__}  # fmt: skip
    try:
        first = writer.submit(row)
        assert entered.wait(10)
        rest = [writer.submit({**row, "uscc": make_uscc(i)}) for i in range(2, 22)]
        assert not first.done() and not any(f.done() for f in rest)  # nothing answered before its commit
        gate.set()
        ids = [first.result(10), *(f.result(10) for f in rest)]
    finally:
        gate.set()
        writer.stop()
    assert writer.batches == 2 and writer.written == 21 and ids == sorted(ids)
    assert [r.uscc for r in _rows(client)] == [make_uscc(i) for i in range(1, 22)]


def test_a_failed_write_answers_its_queries_with_an_error_and_stores_nothing(client: TestClient, keys,
                                                                           monkeypatch) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    u = enrol(client, keys, 1, banks=(BANK,))
    assert client.get(f"/v1/eligibility/{u}", headers=keys["bank"]).status_code == 200
    before = len(_rows(client))
    dbapi = client.app.state.ctx.engine.dialect.loaded_dbapi  # type: ignore[attr-defined]

    def lost(*_: Any) -> Any:  # inside the writer's transaction, after its bank_queries insert
        raise dbapi.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(audit, "link_values", lost)
    r = client.get(f"/v1/eligibility/{u}", headers=keys["bank"])
    assert r.status_code == 503 and r.json()["error"] == "database_unavailable"
    assert r.headers["Retry-After"] == "5" and "x-frame-options" in r.headers

    def bug(*_: Any) -> Any:
        raise RuntimeError("a bug in the writer")

    monkeypatch.setattr(audit, "link_values", bug)
    with pytest.raises(RuntimeError, match="a bug in the writer"):
        client.get(f"/v1/eligibility/{u}", headers=keys["bank"])
    monkeypatch.undo()
    assert len(_rows(client)) == before  # neither failed query left a row (nor an entry: the fixture verifies)
    assert client.get(f"/v1/eligibility/{u}", headers=keys["bank"]).status_code == 200
    assert TODAY  # the enterprise's data is today's (lendingsupport)


def test_two_writers_and_the_ordinary_path_share_one_chain(client: TestClient, settings: Settings) -> None:
    """Two processes' writers (two contexts, their own connections) and ordinary audited writes at once: every
    row logged and bound, one unbroken chain (the fixture runs `audit verify`)."""
    from parkcredit.app.context import AppContext

    contexts = [AppContext.open(settings, with_model=False, seed=False) for _ in range(2)]
    writers = [QueryLogWriter(c).start() for c in contexts]
    row = {"bank": BANK, "key_id": "key_test", "product": "chengxindai", "allowed": False, "reason": "test"}
    done: list[Any] = []

    def submit(w: QueryLogWriter, k: int) -> None:
        done.extend(w.submit({**row, "uscc": make_uscc(100 * k + i)}) for i in range(40))

    def ordinary() -> None:
        for i in range(20):
            with contexts[0].write() as s:
                access.log_query(s, **{**row, "uscc": make_uscc(900 + i)})

    try:
        threads = [threading.Thread(target=submit, args=(w, k)) for k, w in enumerate(writers)]
        threads += [threading.Thread(target=ordinary)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ids = [f.result(30) for f in done]
    finally:
        for w in writers:
            w.stop()
        for c in contexts:
            c.close()
    assert len(set(ids)) == 80 and len(_rows(client)) == 100


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # shared on PostgreSQL only
def test_shared_writers_elect_one_and_relay_to_it(client: TestClient, settings: Settings) -> None:
    """`shared=True` (the server's workers, PostgreSQL): the first writer binds the database's local socket and
    writes — here the app's —; the others relay their records to it, committed there, each answered with its row
    id. When the elected writer stops, one of the others elects itself and the last relays to it. One chain
    throughout (the fixture runs `audit verify`)."""
    from parkcredit.app.context import AppContext

    leader = _writer(client)
    contexts = [AppContext.open(settings, with_model=False, seed=False) for _ in range(2)]
    followers = [QueryLogWriter(c, shared=True).start() for c in contexts]
    row = {"bank": BANK, "key_id": "key_test", "product": "chengxindai", "allowed": False, "reason": "test"}
    try:
        assert leader._listener is not None and all(f._relay is not None and f._thread is None for f in followers)
        done = [w.submit({**row, "uscc": make_uscc(i)}) for i in range(30) for w in (leader, *followers)]
        ids = [f.result(30) for f in done]
        assert len(set(ids)) == 90 and leader.written == 90 and [f.relayed for f in followers] == [30, 30]
        leader.stop()
        for _ in range(500):  # the followers saw their writer go: one elects itself, the other relays to it
            if sum(f._thread is not None for f in followers) == 1 and all(f._relay or f._thread for f in followers):
                break
            threading.Event().wait(0.01)
        assert sorted(f._thread is not None for f in followers) == [False, True]
        more = [f.submit({**row, "uscc": make_uscc(100 + 10 * k + i)}) for i in range(5) for k, f in
                enumerate(followers)]  # fmt: skip
        assert len({f.result(30) for f in more} | set(ids)) == 100 and sum(f.written for f in followers) == 10
    finally:
        for f in followers:
            f.stop()
        for c in contexts:
            c.close()
    assert len(_rows(client)) == 100


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # shared on PostgreSQL only
def test_a_follower_answers_an_error_when_its_writer_dies_with_its_records(client: TestClient,
                                                                           settings: Settings) -> None:  # fmt: skip
    """The elected writer's process dies (its end of the socket closes) with a follower's record unanswered: the
    record fails with a database error (503 on the fast path) — the follower cannot know whether it was committed,
    so it is never answered as a success."""
    from parkcredit.app.context import AppContext
    from parkcredit.store.errors import UNAVAILABLE

    leader = _writer(client)
    context = AppContext.open(settings, with_model=False, seed=False)
    follower = QueryLogWriter(context, shared=True).start()
    gate, entered = threading.Event(), threading.Event()
    real = leader.store.write

    def held(rows: Any) -> list[int]:
        entered.set()
        gate.wait(10)
        return real(rows)

    leader.store.write = held  # type: ignore[method-assign]
    row = {"bank": BANK, "key_id": "key_test", "product": "chengxindai", "allowed": False, "reason": "test",
           "uscc": make_uscc(1)}  # fmt: skip
    try:
        assert follower._relay is not None
        pending = follower.submit(row)
        assert entered.wait(10) and not pending.done()
        for conn in list(leader._followers):  # as if the leader's process died: its end of the socket closes
            conn.shutdown(socket.SHUT_RDWR)
        with pytest.raises(UNAVAILABLE):
            pending.result(10)
    finally:
        gate.set()
        follower.stop()
        context.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # shared on PostgreSQL only
def test_the_elected_writer_refuses_a_malformed_record_alone(client: TestClient, settings: Settings) -> None:
    """A relayed line that is not a bank-query record is answered with an error; the writer goes on."""
    import orjson

    from parkcredit.app.query_log import _socket_name

    leader = _writer(client)
    row = {"bank": BANK, "key_id": "key_test", "product": "chengxindai", "allowed": False, "reason": "test",
           "uscc": make_uscc(1)}  # fmt: skip
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as peer:
        peer.connect(_socket_name(settings.database_url))
        for n, fields in enumerate([{**row, "allowed": "yes"}, {**row, "extra": 1}, {"bank": BANK}, row], 1):
            peer.sendall(orjson.dumps({"n": n, "f": fields}) + b"\n")
        with peer.makefile("rb") as lines:
            answers = [orjson.loads(lines.readline()) for _ in range(4)]
    assert ["error" in a for a in sorted(answers, key=lambda a: a["n"])] == [True, True, True, False]
    assert leader.written == 1 and len(_rows(client)) == 1
