"""Deciding a batch job's chunks (issue 18): `decide_group`, the one function a chunk is decided by, in the
job's own thread or in a process of its own (`DecideProcess`).

Why a process: storing a chunk (the insert, the binding digests, the audit entry, the commit) and deciding
the next one (parsing the profiles, their frame, `decide`, the records and their hashes) each take ~80-90
µs of CPU a decision, mostly Python. In two threads of one process they share one GIL, and every release
and re-take of it by the thread in C (SQLite, hashing) waits for the other thread's switch interval:
`benchmarks/profile_batch.py` measured the overlapped job at ~220-290 µs of CPU a decision against ~180
for its stages one after the other. In a process of its own the decider has the second core to itself.

The process is spawned (not forked: the service runs threads, and LightGBM's OpenMP pool does not survive a
fork) when a job has at least `Settings.batch_process_min` snapshots to decide, in the background: the
job's chunks are decided in its own thread until the process has started (~3 s: the imports and the
model), then there. It lives as long as the `AppContext` and serves its later jobs at once. The model it
decides with is the context's own, pickled: the same object's bytes, so the same decisions. If it dies,
the chunks it held are decided in the job's thread and the next job starts another.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import pickle
import threading
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

from parkcredit.decision import decide
from parkcredit.errors import InvalidInput
from parkcredit.profile.frame import frame_of_stored
from parkcredit.records import canonical_records, round_exact
from parkcredit.rules import RuleSet
from parkcredit.rules.source import compile_text
from parkcredit.store import bulk

__all__ = [
    "Blocks",
    "DecideProcess",
    "Decided",
    "Packed",
    "Task",
    "decide_group",
    "discard",
    "land",
    "pack",
    "ship",
    "unpack",
]

log = logging.getLogger("parkcredit")

Decided = tuple[bulk.DecisionRows, str | None, str]  # the rows to store, the model's version and status


def decide_group(model: Any, model_status: Mapping[str, Any], ruleset: RuleSet, page: bulk.StoredPage) -> Decided:
    """Decide the snapshots of `page` (all under `ruleset`) as one frame: their rows, records built in bulk
    (`records.canonical_records`, the same bytes as the per-row path) and hashed. No database is read."""
    profiles = page.profiles()
    for sid, as_of, profile in zip(page.ids, page.as_of, profiles, strict=True):
        if profile.get("as_of") != as_of.isoformat():  # the rule set was chosen by the column
            raise InvalidInput(("snapshot", sid), f"snapshot {sid}: its as_of {as_of} and its profile's "
                                                  f"{profile.get('as_of')!r} differ")  # fmt: skip
    try:
        frame = frame_of_stored(profiles)
    except (OverflowError, ValueError) as exc:  # snapshots stored before numbers were checked at the edge
        raise InvalidInput(("snapshot",), f"a stored profile cannot be decided: {exc}") from None
    d = decide(frame, ruleset, model)
    model_info = dict(d.model_info)
    if model is None and model_status.get("status") not in (None, "ok"):
        model_info["status"] = str(model_status["status"])  # why there is no model (DESIGN §6)
    ids = [str(uuid.uuid4()) for _ in page.ids]
    texts = canonical_records(
        d, extra={"decision_id": ids, "snapshot_id": page.ids},
        model_info=model_info if model_info != d.model_info else None,
    )  # fmt: skip
    s = d.summary
    valid_until = [v if isinstance(v, dt.date) else None for v in s["valid_until"].tolist()]
    rows = bulk.DecisionRows(
        ids=ids,
        snapshot_ids=page.ids,
        uscc=[str(u) for u in s["uscc"].tolist()],
        eligible=s["eligible"].to_numpy(dtype=bool),
        limit_yuan=s["limit_yuan"].to_numpy(dtype=np.int64),
        band=[str(b) for b in s["band"].tolist()],
        total_score=round_exact(s["total_score"].to_numpy(dtype="float64"), 4),
        valid_until=valid_until,
        records=texts,
    )
    rows.hashed()  # where they are built, not in the storing thread (see DecisionRows.hashed)
    return rows, model_info.get("version"), str(model_info.get("status", "none"))


# -- a chunk's texts between the processes: through shared memory, not the pool's pipe -------------------------
# A chunk's records are ~17 MB (2,000 decisions). Through the pipe they arrive 64 KB a read, and each read lets
# go of the GIL and takes it back while the job's thread runs Python: measured (py-spy), receiving took ~30 µs a
# decision and slowed the job's SQLite calls alike. One block of shared memory is one copy in, one copy out.
# The blocks are kept and used again chunk after chunk (`Blocks`): a new block's pages fault in on first touch,
# in each process, and are unmapped after it; writing a chunk's records took ~9 ms into a new block and ~2 ms
# into one written before (see docs/performance.md for what the job gained).


SHM_DIR = "/dev/shm"  # where Python's SharedMemory blocks live (POSIX shm_open on Linux)
POOL_BYTES = 512 << 20  # the most the kept blocks hold (and never more than a quarter of /dev/shm)


@dataclass
class Packed:
    """Byte strings laid end to end in a block of shared memory: made by `pack` and read once by `unpack`
    (which frees it), or written into a kept block (`pooled`: the block stays, `Blocks` owns it)."""

    name: str
    lengths: np.ndarray  # int64
    pooled: bool = False


def write_items(buf: memoryview, items: Sequence[bytes]) -> np.ndarray:
    """Lay `items` end to end at the start of `buf`; their lengths."""
    at = 0
    for item in items:
        buf[at : at + len(item)] = item
        at += len(item)
    return np.fromiter(map(len, items), dtype=np.int64, count=len(items))


def read_items(buf: memoryview, lengths: np.ndarray) -> list[bytes]:
    """The byte strings of `lengths` laid end to end at the start of `buf`, copied out."""
    ends = np.cumsum(lengths).tolist()
    return [bytes(buf[a:b]) for a, b in zip([0, *ends][:-1], ends, strict=True)]


def pack(items: Sequence[bytes]) -> Packed:
    shm = SharedMemory(create=True, size=max(1, sum(map(len, items))))
    try:
        buf = shm.buf
        assert buf is not None
        lengths = write_items(buf, items)
        del buf
        return Packed(shm.name, lengths)
    finally:
        shm.close()  # the block stays until `unpack` unlinks it


def unpack(packed: Packed) -> list[bytes]:
    """The byte strings of `packed`, copied out; the block is freed."""
    shm = SharedMemory(name=packed.name)
    try:
        buf = shm.buf
        assert buf is not None
        out = read_items(buf, packed.lengths)
        del buf
        return out
    finally:
        shm.close()
        shm.unlink()


def _shm_room() -> tuple[int, int]:
    """(bytes free, bytes in all) of /dev/shm; (0, 0) where it cannot be read."""
    try:
        st = os.statvfs(SHM_DIR)
    except OSError:
        return 0, 0
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


def ship(items: Sequence[bytes]) -> Packed | Sequence[bytes]:
    """`items` packed in shared memory, or as they are (pickled through the pipe, slower) when /dev/shm has not
    room for twice them: a container's /dev/shm may be 64 MB, and writing past a full tmpfs is a SIGBUS."""
    return pack(items) if 2 * sum(map(len, items)) <= _shm_room()[0] else items


def land(shipped: Packed | Sequence[bytes]) -> list[bytes]:
    """The byte strings `ship` sent, or those written into a kept block (read where this process maps it)."""
    if isinstance(shipped, Packed):
        if shipped.pooled:
            return _out_of(_attached(shipped.name), shipped)
        return unpack(shipped)
    return list(shipped)


def discard(packed: Packed | Sequence[bytes]) -> None:
    """Free a block nobody will read (its reader died); a kept block is not freed here (`Blocks.give`)."""
    if not isinstance(packed, Packed) or packed.pooled:
        return
    try:
        shm = SharedMemory(name=packed.name)
    except FileNotFoundError:
        return
    shm.close()
    shm.unlink()


class Blocks:
    """The blocks of shared memory the job's side makes once and hands out chunk after chunk, both ways: one
    with a chunk's profiles for the process to read, one empty for the process to write its records into. It
    owns them: `close` frees them (the process only maps them), the resource tracker should this process die."""

    def __init__(self, budget: int = POOL_BYTES) -> None:
        self._budget = min(budget, _shm_room()[1] // 4)
        self._lock = threading.Lock()
        self._blocks: dict[str, SharedMemory] = {}
        self._free: list[SharedMemory] = []

    def take(self, need: int) -> SharedMemory | None:
        """A free block of at least `need` bytes, else a new one a quarter larger; None when keeping it would pass
        the budget or /dev/shm has not room for twice it (then the transfer is shipped as before)."""
        need = max(1, need)
        with self._lock:
            fits = [b for b in self._free if b.size >= need]
            if fits:
                block = min(fits, key=lambda b: b.size)
                self._free.remove(block)
                return block
            size = need + need // 4
            while self._free and self._held() + size > self._budget:  # too small for this chunk: made again
                self._drop(self._free.pop(0))
            if self._held() + size > self._budget or 2 * size > _shm_room()[0]:
                return None
            block = SharedMemory(create=True, size=size)
            self._blocks[block.name] = block
            return block

    def give(self, block: SharedMemory) -> None:
        """`block` may be handed out again (its reader is done with it)."""
        with self._lock:
            if self._blocks.get(block.name) is block and block not in self._free:
                self._free.append(block)

    @property
    def names(self) -> set[str]:
        """The blocks kept now (free or handed out)."""
        with self._lock:
            return set(self._blocks)

    @property
    def lent(self) -> set[str]:
        """The blocks handed out and not yet given back."""
        with self._lock:
            return set(self._blocks) - {b.name for b in self._free}

    def close(self) -> None:
        """Free every block (nothing may read one after this)."""
        with self._lock:
            for block in list(self._blocks.values()):
                self._drop(block)
            self._free.clear()

    def _held(self) -> int:
        return sum(b.size for b in self._blocks.values())

    def _drop(self, block: SharedMemory) -> None:
        self._blocks.pop(block.name, None)
        with contextlib.suppress(BufferError):  # a reader still holds a view: the mapping goes with it
            block.close()
        with contextlib.suppress(FileNotFoundError):
            block.unlink()


def _into(block: SharedMemory, items: Sequence[bytes]) -> Packed:
    buf = block.buf
    assert buf is not None
    try:
        return Packed(block.name, write_items(buf, items), pooled=True)
    finally:
        del buf


def _out_of(block: SharedMemory, packed: Packed) -> list[bytes]:
    buf = block.buf
    assert buf is not None
    try:
        return read_items(buf, packed.lengths)
    finally:
        del buf


# -- the process's side: its model, set once by `_init` ------------------------------------------------------

_MODEL: dict[str, Any] = {}
_ATTACHED: collections.OrderedDict[str, SharedMemory] = collections.OrderedDict()
_KEEP_ATTACHED = 8  # the job's side keeps a few blocks; one it has replaced is unmapped here when it is not used


def _attached(name: str) -> SharedMemory:
    """The job's side's block `name`, kept mapped in this process (mapped again it would fault in again)."""
    block = _ATTACHED.pop(name, None)
    if block is None:
        block = SharedMemory(name=name)
        while len(_ATTACHED) >= _KEEP_ATTACHED:
            with contextlib.suppress(BufferError):
                _ATTACHED.popitem(last=False)[1].close()
    _ATTACHED[name] = block
    return block


def _init(model_blob: bytes, model_status: dict[str, Any]) -> None:
    _MODEL["model"], _MODEL["status"] = pickle.loads(model_blob), model_status


def _warm(text: str, source: str, content_hash: str) -> int:
    """Decide synthetic enterprises once: the model's kernels are loaded (numba; the parallel one runs for more
    than one block of 128 rows, the serial one for fewer) and the rule set compiled before the first chunk,
    which otherwise pays ~1.5 s for them. Returns the process id."""
    from parkcredit import synth

    ruleset = compile_text(text, source, content_hash=content_hash)
    for rows in (16, 300):
        canonical_records(decide(synth.generate(rows, 1), ruleset, _MODEL["model"]), extra={})
    return os.getpid()


def _decide_task(
    text: str, source: str, content_hash: str, page: bulk.StoredPage, texts: Packed | Sequence[bytes],
    out: tuple[str, int] | None,
) -> tuple[Decided, Packed | Sequence[bytes]] | InvalidInput:  # fmt: skip
    """Decide a chunk; its records written into the job's side's block `out` (name, size) when they fit."""
    page.texts = land(texts)  # UTF-8 bytes: orjson reads them as they are
    ruleset = compile_text(text, source, content_hash=content_hash)  # cached by content hash
    try:
        rows, version, status = decide_group(_MODEL["model"], _MODEL["status"], ruleset, page)
    except InvalidInput as exc:  # returned, not raised: its constructor's arguments are not its `args`
        return exc
    fits = out is not None and sum(map(len, rows.records)) <= out[1]
    records = _into(_attached(out[0]), rows.records) if fits and out is not None else ship(rows.records)
    rows.records = []
    return (rows, version, status), records


# -- the job's side ------------------------------------------------------------------------------------------


@dataclass
class Task:
    """A chunk handed to the process: its result to come, the transfer of its profiles, and the kept blocks it
    was given (its profiles' and the one for its records), handed back to `pool` once the result is read."""

    future: Future[tuple[Decided, Packed | Sequence[bytes]] | InvalidInput]
    texts: Packed | Sequence[bytes]
    pool: Blocks | None = None
    given: list[SharedMemory] = field(default_factory=list)
    out: SharedMemory | None = None

    def release(self) -> None:
        """Its blocks handed back (a block not from the pool freed)."""
        discard(self.texts)
        if self.pool is not None:
            for block in self.given:
                self.pool.give(block)
        self.given = []


class DecideProcess:
    """One spawned process deciding chunks with a given model (see the module's docstring)."""

    def __init__(self, model: Any, model_status: Mapping[str, Any]) -> None:
        self.model, self.model_status = model, dict(model_status)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._started: Future[int] | None = None
        self._told = False
        self.blocks = Blocks()
        self._record_bytes = 10_000  # a decision's record, as last seen (bytes), to size the block for them

    def start(self, warm: RuleSet) -> None:
        """Spawn the process in the background (once; again after it died), warmed up with `warm`."""
        with self._lock:
            if self._pool is not None:
                return
            self.blocks = Blocks()  # this process's: freed once it is gone
            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                initargs=(pickle.dumps(self.model, protocol=pickle.HIGHEST_PROTOCOL), self.model_status),
            )  # fmt: skip
            self._started = self._pool.submit(_warm, warm.text, warm.source, warm.content_hash)

    def ready(self) -> bool:
        """Whether the process has started and answers (False while it starts, after it died)."""
        started = self._started
        if started is None or not started.done() or started.cancelled():
            return False
        if (exc := started.exception()) is not None:
            if not self._told:  # the jobs decide in their own threads: said once, not at every chunk
                self._told = True
                log.warning("the batch's decide process did not start (%s: %s); jobs decide in their own thread",
                            type(exc).__name__, exc)  # fmt: skip
            return False
        return True

    @property
    def started(self) -> bool:
        """Whether it was spawned (and not lost since): ready, or getting ready."""
        return self._pool is not None

    @property
    def pid(self) -> int | None:
        """The process's id once it has started."""
        return self._started.result() if self.ready() and self._started is not None else None

    def submit(self, ruleset: RuleSet, page: bulk.StoredPage) -> Task:
        """Decide `page` there; `received` gives the result."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("the decide process is not started")
        rest = bulk.StoredPage(page.ids, page.as_of, [], page.legal_rep_name, page.legal_rep_id_hash)
        items = [t.encode("utf-8") if isinstance(t, str) else t for t in page.texts]
        task = Task(Future(), [], self.blocks)
        try:
            if (inp := self.blocks.take(sum(map(len, items)))) is not None:
                task.given.append(inp)
                task.texts = _into(inp, items)
            else:
                task.texts = ship(items)
            if (out := self.blocks.take(int(self._record_bytes * 1.1) * len(items))) is not None:
                task.given.append(out)
                task.out = out
            where = (out.name, out.size) if out is not None else None
            task.future = pool.submit(_decide_task, ruleset.text, ruleset.source, ruleset.content_hash, rest,
                                      task.texts, where)  # fmt: skip
            return task
        except BaseException:
            task.release()
            raise

    def received(self, task: Task) -> Decided:
        """A task's result: the records copied out of shared memory; its InvalidInput raised. Its blocks are
        handed back (or freed) whatever came, a process that died first (BrokenProcessPool) included."""
        try:
            result = task.future.result()
            if isinstance(result, InvalidInput):
                raise result
            (rows, version, status), records = result
            if isinstance(records, Packed) and records.pooled:
                assert task.out is not None and records.name == task.out.name
                rows.records = _out_of(task.out, records)
            else:
                rows.records = land(records)
        finally:
            task.release()
        if len(rows):
            self._record_bytes = max(1, sum(map(len, rows.records)) // len(rows))
        return rows, version, status

    def lost(self, exc: BaseException) -> None:
        """The process died (BrokenProcessPool): forget it; the next job starts another."""
        log.warning("the batch's decide process died (%s); its chunks are decided in the job's thread", exc)
        self.close(wait=False)

    def close(self, *, wait: bool = True) -> None:
        """Stop the process; its blocks are freed once it has stopped (in the background with `wait=False`)."""
        with self._lock:
            pool, self._pool, self._started, blocks = self._pool, None, None, self.blocks
        if pool is None:
            blocks.close()
        elif wait:
            pool.shutdown(wait=True, cancel_futures=True)
            blocks.close()
        else:
            pool.shutdown(wait=False, cancel_futures=True)
            threading.Thread(target=_close_after, args=(pool, blocks), name="decide-blocks", daemon=True).start()


def _close_after(pool: ProcessPoolExecutor, blocks: Blocks) -> None:
    pool.shutdown(wait=True)  # nothing reads or writes the blocks after this
    blocks.close()


def process_for(holder: Any, model: Any, model_status: Mapping[str, Any]) -> DecideProcess:
    """The `DecideProcess` kept on `holder` (an AppContext), made again if the model it holds changed."""
    proc: DecideProcess | None = getattr(holder, "_decider", None)
    if proc is None or proc.model is not model or proc.model_status != dict(model_status):
        if proc is not None:
            proc.close(wait=False)
        proc = DecideProcess(model, model_status)
        holder._decider = proc
    return proc
