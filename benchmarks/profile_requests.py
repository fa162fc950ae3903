"""Where one request's time goes (issue 18, item 4): the bank's eligibility query and one decision.

    python benchmarks/profile_requests.py --db sqlite --what eligibility            # statements + latency
    python benchmarks/profile_requests.py --db postgresql --what decision --model   # the bundled model on
    python benchmarks/profile_requests.py --db sqlite --what eligibility --profile  # + a pyinstrument tree

On a fresh database (a temporary SQLite file, or a PostgreSQL schema of its own at
PARKCREDIT_TEST_PG_URL) one enterprise is stored and authorizes 自贡银行 (not with `--unfollowed`: then
no bank follows it, and a decision's alerts stop after one statement); then

- `GET /v1/eligibility/{uscc}` (a bank key; the stored decision is current, so it is reused) or
  `POST /v1/decisions` (a committee key; a new decision stored each time) is sent through the real
  app (FastAPI TestClient);
- every SQL statement of one request is counted and listed: SQLAlchemy's (`before_cursor_execute`) and
  those the eligibility fast path sends on its own raw DBAPI connections (`store.access.HotReader`,
  `store.access.QueryLogStore`: counted through a wrapper of their connections), with COMMIT;
- `--profile`: the use case itself under pyinstrument — in the calling thread, since TestClient runs the
  app in another one: for eligibility the fast path's `FastLookup.answer` and the wait for its group
  commit (or, with `--no-fast`, the key lookup + `eligibility` + the answer's JSON, what the route runs);
- `--n` requests are timed through the app: requests/s, p50, p99.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test data: good_profile, authorization

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from dbsupport import BANK, PEPPER, authorization, good_profile, make_uscc  # noqa: E402
from parkcredit.server import create_app  # noqa: E402
from parkcredit.settings import Settings  # noqa: E402
from parkcredit.store import keys as keystore  # noqa: E402
from parkcredit.store import testing  # noqa: E402
from parkcredit.store.db import make_engine, make_sessionmaker, write_session  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--what", choices=["eligibility", "decision"], default="eligibility")
    ap.add_argument("--n", type=int, default=300, help="requests timed (and profiled)")
    ap.add_argument("--model", action="store_true", help="the bundled model on")
    ap.add_argument("--profile", action="store_true", help="print a pyinstrument tree of the use case")
    ap.add_argument("--no-fast", action="store_true", help="eligibility through its route (no fast path)")
    ap.add_argument("--unfollowed", action="store_true",
                    help="decision: no bank follows the enterprise (no authorization), as in bench_peers")  # fmt: skip
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="profile-requests-"))
    schema = f"pc_profile_{os.getpid()}"
    if args.db == "sqlite":
        (folder / "template").mkdir()
        url = testing.sqlite_copy(testing.prepare_sqlite_template(folder / "template"), folder)
    else:
        url = testing.prepare_pg(schema)
    try:
        run(url, folder, args)
    finally:
        if args.db == "postgresql":
            testing.drop_pg(schema)


def run(url: str, folder: Path, args: argparse.Namespace) -> None:
    settings = Settings(database_url=url, model_enabled=args.model, api_key_pepper=PEPPER, data_dir=folder / "var")
    engine = make_engine(url)
    tokens: dict[str, str] = {}
    with write_session(make_sessionmaker(engine)) as session:
        for role in ("committee", "bank"):
            _, tokens[role] = keystore.create_key(session, role, PEPPER, bank=BANK if role == "bank" else None)
    engine.dispose()
    statements: list[str] = []
    counting = [False]

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if counting[0]:
            statements.append(statement)

    def _raw(sql: str) -> None:
        if counting[0]:
            statements.append(sql)

    _count_raw_connections(_raw)

    uscc = make_uscc(1)
    committee = {"Authorization": f"Bearer {tokens['committee']}"}
    bank = {"Authorization": f"Bearer {tokens['bank']}"}
    with TestClient(create_app(settings, fast_eligibility=not args.no_fast)) as client:
        assert client.post("/v1/enterprises", json=good_profile(1), headers=committee).status_code in (200, 201)
        if not (args.unfollowed and args.what == "decision"):
            assert client.post("/v1/authorizations", json=authorization(uscc), headers=committee).status_code == 201

        def request() -> None:
            if args.what == "eligibility":
                r = client.get(f"/v1/eligibility/{uscc}?product=chengxindai", headers=bank)
            else:
                r = client.post("/v1/decisions", json={"uscc": uscc, "product": "chengxindai"}, headers=committee)
            assert r.status_code in (200, 201), r.text

        request()
        request()  # warm: the compiled rule set, the model's kernels, the statement cache
        counting[0] = True
        request()
        counting[0] = False
        print(
            f"{args.db} {args.what}: {len(statements)} SQL statements a request (BEGIN IMMEDIATE and COMMIT "
            "counted where sent as statements; PostgreSQL's implicit BEGIN and the pool's pre-ping are not)"
        )
        for text, count in collections.Counter(" ".join(s.split())[:140] for s in statements).most_common():
            print(f"  {count} × {text}")
        if args.profile:
            profile(client, args, tokens, uscc)
        latencies = []
        t0 = time.perf_counter()
        for _ in range(args.n):
            t = time.perf_counter()
            request()
            latencies.append(time.perf_counter() - t)
        secs = time.perf_counter() - t0
        latencies.sort()
        p50, p99 = latencies[len(latencies) // 2], latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"{args.n / secs:,.1f} req/s  p50 {p50 * 1e3:.2f} ms  p99 {p99 * 1e3:.2f} ms  (TestClient, one client)")


def profile(client: TestClient, args: argparse.Namespace, tokens: dict[str, str], uscc: str) -> None:
    from pyinstrument import Profiler

    from parkcredit.app import decisions
    from parkcredit.app.eligibility import eligibility
    from parkcredit.app.keys import actor_of

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    fast = client.app.state.fast_eligibility  # type: ignore[attr-defined]
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(args.n):
        if args.what == "eligibility" and fast is not None:
            found = fast.answer(tokens["bank"], uscc, "chengxindai")
            assert found is not None, "the fast path did not answer"
            found[1].result()
        elif args.what == "eligibility":
            actor = actor_of(ctx, tokens["bank"])
            assert actor is not None
            eligibility(ctx, actor, uscc=uscc, product="chengxindai").model_dump_json()
        else:
            actor = actor_of(ctx, tokens["committee"])
            assert actor is not None
            decisions.decide_enterprise(ctx, actor, uscc=uscc, product="chengxindai")
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False))


class _Counted:
    """A DBAPI connection or cursor whose `execute` (and a connection's `commit`) reports the statement."""

    def __init__(self, inner: Any, sink: Any) -> None:
        self._inner, self._sink = inner, sink

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("_inner", "_sink"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._inner, name, value)

    def execute(self, sql: str, *args: Any) -> Any:
        self._sink(sql)
        return self._inner.execute(sql, *args)

    def cursor(self, *args: Any) -> Any:
        return _Counted(self._inner.cursor(*args), self._sink)

    def commit(self) -> Any:
        self._sink("COMMIT")
        return self._inner.commit()


def _count_raw_connections(sink: Any) -> None:
    """Report what the fast path sends on its own connections (they bypass SQLAlchemy's events)."""
    from parkcredit.store import access

    for cls in (access.HotReader, access.QueryLogStore):
        real = cls._connection

        def counted(self: Any, _real: Any = real) -> Any:
            return _Counted(_real(self), sink)

        cls._connection = counted  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
