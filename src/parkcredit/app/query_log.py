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

Shared by the workers of a server (`shared=True`, PostgreSQL): the writers of the processes of this user on this
host that use the same database elect one of them — the first to bind a local socket named after the database
(Linux's abstract namespace: it disappears with the process) — and the others relay their records to it over
that socket, one JSON line each, and wait for its answer (the row id once committed, or the error). So the
queries of every worker meet in one writer's batches, and the workers no longer queue for the chain lock, each
holding it through its own commit. A follower whose writer goes away answers the records in flight with a
database error (503: never a success it cannot vouch for) and elects again; a connection from another user is
refused (SO_PEERCRED).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import queue
import socket
import struct
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from functools import partial
from typing import Any

import orjson
from sqlalchemy.exc import OperationalError

from parkcredit.app.context import AppContext
from parkcredit.store import access
from parkcredit.store.errors import UNAVAILABLE

__all__ = ["QueryLogWriter"]

log = logging.getLogger("parkcredit")
_STOP = object()
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid
# what `FastLookup` submits, and of which types
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "bank": str, "key_id": str, "uscc": str, "product": str, "allowed": bool, "reason": str,
    "authorization_id": (str, type(None)), "decision_id": (str, type(None)),
}  # fmt: skip


_REQUIRED = ("bank", "key_id", "uscc", "product", "allowed", "reason")


def _record(fields: Any) -> dict[str, Any]:
    """A relayed record, checked: the `BankQuery` columns a query submits, of their types (a bad one is refused
    alone, not left to fail the batch it would join)."""
    if not isinstance(fields, dict) or set(fields) - set(_FIELDS) or set(_REQUIRED) - set(fields):
        raise ValueError("not a bank-query record")
    for name, value in fields.items():
        if not isinstance(value, _FIELDS[name]):
            raise ValueError(f"bank-query record: {name} of type {type(value).__name__}")
    return fields


def _socket_name(database_url: str) -> str:
    """The abstract socket of this user's writer for this database (the URL hashed: it may hold a password)."""
    return f"\0parkcredit-query-log-{os.getuid()}-{hashlib.sha256(database_url.encode()).hexdigest()[:24]}"


class _Gone(Exception):
    """The relay's connection is closed: nothing of this record reached a writer (safe to send it elsewhere)."""


def _writer_lost() -> OperationalError:
    return OperationalError("relay to the query-log writer", None, ConnectionError("the writer process went away"))


class _Relay:
    """A follower's connection to the elected writer: records out, one JSON line each; answers in."""

    def __init__(self, sock: socket.socket, on_lost: Any) -> None:
        self.sock, self.on_lost = sock, on_lost
        self.pending: dict[int, Future[int]] = {}
        self.lock = threading.Lock()
        self.drained = threading.Condition(self.lock)
        self.n = 0
        self.closed = False
        self.relayed = 0  # records the writer answered as committed
        threading.Thread(target=self._read, name="parkcredit-query-log-relay", daemon=True).start()

    def submit(self, fields: Mapping[str, Any]) -> Future[int]:
        done: Future[int] = Future()
        with self.lock:
            if self.closed:
                raise _Gone
            self.n += 1
            self.pending[self.n] = done
            try:  # under the lock: lines never interleave
                self.sock.sendall(orjson.dumps({"n": self.n, "f": dict(fields)}) + b"\n")
            except OSError:  # gone, or not reading (the send timed out): a part of a line is never a record
                self.pending.pop(self.n)
                self.closed = True
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_WR)  # the writer reads to the end, answers what it has, closes
                raise _Gone from None
        return done

    def _read(self) -> None:
        try:
            with self.sock.makefile("rb") as lines:
                for line in lines:
                    msg = orjson.loads(line)
                    with self.lock:
                        done = self.pending.pop(msg["n"])
                        if not self.pending:
                            self.drained.notify_all()
                    if "id" in msg:
                        self.relayed += 1
                        done.set_result(int(msg["id"]))
                    elif msg.get("unavailable"):
                        done.set_exception(OperationalError("bank queries", None, ConnectionError(msg["error"])))
                    else:
                        done.set_exception(RuntimeError(msg["error"]))
        except (OSError, ValueError, KeyError):
            pass
        with self.lock:
            self.closed = True
            pending, self.pending = self.pending, {}
            self.drained.notify_all()
        for done in pending.values():  # committed or not, the writer cannot say now: an error, never a success
            done.set_exception(_writer_lost())
        with contextlib.suppress(OSError):
            self.sock.close()
        self.on_lost(self)

    def close(self, timeout: float) -> None:
        """Wait for the answers to what was sent (up to `timeout`), then close."""
        with self.lock:
            self.drained.wait_for(lambda: not self.pending or self.closed, timeout)
            self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


class QueryLogWriter:
    """One thread writing the pending bank-query records of this process — or, `shared`, of every worker of the
    server on the same database (see the module docstring) — a transaction per batch."""

    def __init__(self, ctx: AppContext, *, max_batch: int = 256, shared: bool = False) -> None:
        self.ctx = ctx
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._started = self._stopped = False
        self.store = access.QueryLogStore(ctx.engine)
        self.batches = 0  # transactions committed (for tests and the benchmark's figures)
        self.written = 0
        shared = shared and ctx.engine.dialect.name == "postgresql"  # SQLite: one file per process's path
        self._name = _socket_name(ctx.settings.database_url) if shared else None
        self._election = threading.Lock()
        self._relay: _Relay | None = None
        self._listener: socket.socket | None = None
        self._followers: list[socket.socket] = []

    @property
    def relayed(self) -> int:
        """Records this process relayed to the elected writer and saw committed."""
        return self._relay.relayed if self._relay is not None else 0

    def start(self) -> QueryLogWriter:
        self._started = True
        if self._name is None:
            self._write_here()
        else:
            self._elect()
        return self

    def _write_here(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="parkcredit-query-log", daemon=True)
            self._thread.start()

    def _elect(self) -> None:
        """Become the writer (bind the name), or relay to the one that did; write here if neither works."""
        assert self._name is not None
        with self._election:
            if self._stopped or self._relay is not None or self._thread is not None:
                return
            for _ in range(50):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.bind(self._name)
                    sock.listen(64)
                except OSError as exc:
                    sock.close()
                    if exc.errno != errno.EADDRINUSE:
                        break  # no abstract sockets here: each process writes its own
                else:
                    self._listener = sock
                    self._write_here()
                    threading.Thread(target=self._accept, args=(sock,), name="parkcredit-query-log-accept",
                                     daemon=True).start()  # fmt: skip
                    return
                try:
                    peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    peer.connect(self._name)
                except OSError:  # bound, not listening yet, or just gone: try again
                    peer.close()
                    time.sleep(0.01)
                    continue
                # a writer that stops reading must not block the sender (the event loop) for long: sends time out
                peer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 5, 0))
                self._relay = _Relay(peer, self._lost)
                return
            self._write_here()

    def _lost(self, relay: _Relay) -> None:
        """The elected writer went away: elect again (unless stopping)."""
        with self._election:
            if self._relay is relay:
                self._relay = None
        if not self._stopped:
            self._elect()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed: stopping
            _, uid, _ = _CREDENTIALS.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size))
            if uid != os.getuid() or self._stopped:
                conn.close()
                continue
            self._followers.append(conn)
            threading.Thread(target=self._serve, args=(conn,), name="parkcredit-query-log-follower",
                             daemon=True).start()  # fmt: skip

    def _serve(self, conn: socket.socket) -> None:
        """A follower's records into this writer's queue; each answered on the connection once its batch is done."""
        send = threading.Lock()

        def answer(n: int, done: Future[int]) -> None:
            exc = done.exception()
            msg: dict[str, Any] = {"n": n, "id": done.result()} if exc is None else {
                "n": n, "error": str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__,
                "unavailable": isinstance(exc, UNAVAILABLE)}  # fmt: skip
            with send, contextlib.suppress(OSError):
                conn.sendall(orjson.dumps(msg) + b"\n")

        try:
            with conn.makefile("rb") as lines:
                for line in lines:
                    if not line.endswith(b"\n"):
                        break  # cut short (the follower's send failed): not a record, whatever it parses as
                    msg = orjson.loads(line)
                    done: Future[int] = Future()
                    done.add_done_callback(partial(answer, msg["n"]))
                    try:
                        fields = _record(msg["f"])
                    except ValueError as exc:
                        done.set_exception(exc)
                        continue
                    if self._stopped:
                        done.set_exception(RuntimeError("the query-log writer stopped"))
                    else:
                        self._queue.put((fields, done))
        except (OSError, ValueError, KeyError):
            pass

    def submit(self, fields: Mapping[str, Any]) -> Future[int]:
        """Queue one query's record (`BankQuery` columns); the future is its row id once committed."""
        if self._stopped or not self._started:
            raise RuntimeError("the query-log writer is not running")
        for _ in range(3):
            relay = self._relay
            if relay is None and self._thread is None:  # between two elections
                self._elect()
                relay = self._relay
            if relay is None:
                break
            try:
                return relay.submit(fields)
            except _Gone:  # its writer went away before the record was sent: elect again, send it there
                self._lost(relay)
        if self._thread is None:
            raise _writer_lost()
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
        """Write what is queued (a follower: wait for the answers to what it relayed), then end the thread."""
        if self._stopped:
            return
        self._stopped = True
        with self._election:  # no election from here on
            relay, listener = self._relay, self._listener
        if relay is not None:
            relay.close(timeout)
        if listener is not None:
            with contextlib.suppress(OSError):  # wakes the accepting thread (a close alone would not: Linux)
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()  # the name is free: a follower elects itself once its connection ends
            for conn in self._followers:  # read no more; the answers of what is queued still go out
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RD)
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
        self.store.close()
        for conn in self._followers:
            with contextlib.suppress(OSError):
                conn.close()
        while True:  # a record queued while stopping: refused, never left waiting
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                item[1].set_exception(RuntimeError("the query-log writer stopped"))
