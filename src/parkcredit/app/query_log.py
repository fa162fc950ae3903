"""Group commit of the banks' single queries (issue 18): `QueryLogWriter`.

Every lookup a bank makes is logged in `bank_queries` with its `bank.query` audit entry bound to the row, and
COMMITTED before the answer is sent. Committing each query in its own write transaction (SQLite: BEGIN IMMEDIATE
and the write lock; PostgreSQL: the chain head's advisory lock) made the write the queue every concurrent query
waited in. Here the requests of one process hand their record to one writer thread, which writes everything
pending in ONE transaction — one row and one audit entry per query, exactly as `store.access.log_query` writes
them (`store.access.QueryLogStore` on a connection of its own; `store.audit.chain_entries`) — commits, and
only then resolves each request's future with its row id. If the transaction fails (rolled back, the database
gone), every request of that batch gets the exception, never a success: nothing of the batch was committed (the
chain and the rows go together).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from parkcredit.app.context import AppContext
from parkcredit.store import access

__all__ = ["QueryLogWriter"]

log = logging.getLogger("parkcredit")
_STOP = object()


class QueryLogWriter:
    """One thread writing the pending bank-query records of this process, a transaction per batch."""

    def __init__(self, ctx: AppContext, *, max_batch: int = 256) -> None:
        self.ctx = ctx
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.store = access.QueryLogStore(ctx.engine)
        self.batches = 0  # transactions committed (for tests and the benchmark's figures)
        self.written = 0

    def start(self) -> QueryLogWriter:
        self._thread = threading.Thread(target=self._run, name="parkcredit-query-log", daemon=True)
        self._thread.start()
        return self

    def submit(self, fields: Mapping[str, Any]) -> Future[int]:
        """Queue one query's record (`BankQuery` columns); the future is its row id once committed."""
        if self._stopped or self._thread is None:
            raise RuntimeError("the query-log writer is not running")
        done: Future[int] = Future()
        self._queue.put((dict(fields), done))
        return done

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[dict[str, Any], Future[int]]]) -> None:
        try:
            ids = self.store.write([fields for fields, _ in batch])
        except BaseException as exc:  # rolled back: no request of the batch is answered as logged
            log.warning("bank queries not logged (%d refused): %s", len(batch), str(exc).splitlines()[0][:300])
            for _, done in batch:
                done.set_exception(exc)
            return
        self.batches += 1
        self.written += len(batch)
        for (_, done), row_id in zip(batch, ids, strict=True):
            done.set_result(row_id)

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, then end the thread."""
        if self._thread is None or self._stopped:
            return
        self._stopped = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self.store.close()
        while True:  # a record queued while stopping: refused, never left waiting
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                item[1].set_exception(RuntimeError("the query-log writer stopped"))
