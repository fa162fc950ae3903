"""Would storing the decision records compressed pay for itself on SQLite (issue 18)? One command, one table.

    python benchmarks/bench_compress.py [--rows 2000] [--chunks 10]

The records of `--rows` decisions of the bundled model (`records.canonical_records`, ~8.5 KB each) are
compressed by each codec there is (zlib from the standard library; lz4 and zstandard if installed:
`pip install lz4 zstandard`), then stored chunk after chunk into a table shaped like `decisions` (two
indexes, the same PRAGMAs as the service: WAL, synchronous=NORMAL, the batch's 32 MB page cache), plain and
compressed. Printed per decision: CPU µs to compress, the ratio, and CPU µs of the insert and the commit.
Compression pays only if it costs less than the insert and commit it saves — and it must be paid by the
decide process, the batch's busier side.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from parkcredit import synth
from parkcredit.decision import decide
from parkcredit.model.runtime import load_default_model
from parkcredit.records import canonical_records
from parkcredit.rules.source import RuleSource
from parkcredit.settings import get_settings
from parkcredit.store.bulk import SQLITE_BATCH_CACHE_KIB


def _codecs() -> dict[str, Callable[[bytes], bytes]]:
    out: dict[str, Callable[[bytes], bytes]] = {"zlib level 1": lambda b: zlib.compress(b, 1)}
    try:
        import lz4.block

        out["lz4 (block)"] = lz4.block.compress
    except ImportError:
        pass
    try:
        import zstandard

        out["zstd level 1"] = zstandard.ZstdCompressor(level=1).compress
        out["zstd level 3"] = zstandard.ZstdCompressor(level=3).compress
    except ImportError:
        pass
    return out


def _store(values: list[str] | list[bytes], chunks: int) -> tuple[float, float]:
    """CPU µs a row of the insert and of the commit, chunk after chunk (the first two not counted: warm-up)."""
    with tempfile.TemporaryDirectory() as folder:
        db = sqlite3.connect(str(Path(folder) / "bench.db"), isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", f"cache_size=-{SQLITE_BATCH_CACHE_KIB}"):
            db.execute(f"PRAGMA {pragma}")
        db.execute("CREATE TABLE d (id TEXT PRIMARY KEY, uscc TEXT, snapshot_id INTEGER, record, sha TEXT)")
        db.execute("CREATE INDEX d_uscc ON d (uscc, id)")
        db.execute("CREATE INDEX d_snapshot ON d (snapshot_id)")
        insert = commit = 0.0
        n = len(values)
        for c in range(chunks + 2):
            rows = [(f"{c:04d}-{i:08d}-{(i * 7919) % 99991:05d}", f"91{(i * 104729) % 10**16:016d}", c * n + i, v,
                     "0" * 64) for i, v in enumerate(values)]  # fmt: skip
            t = time.process_time()
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO d VALUES (?, ?, ?, ?, ?)", rows)
            t1 = time.process_time()
            db.execute("COMMIT")
            t2 = time.process_time()
            if c >= 2:
                insert, commit = insert + t1 - t, commit + t2 - t1
        db.close()
    return insert * 1e6 / (n * chunks), commit * 1e6 / (n * chunks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--chunks", type=int, default=10)
    args = ap.parse_args()
    model, _ = load_default_model()
    ruleset = RuleSource(get_settings().rules_dir).product("chengxindai")
    d = decide(synth.generate(args.rows, 7), ruleset, model)
    texts = canonical_records(d, extra={"decision_id": [f"d{i}" for i in range(args.rows)],
                                        "snapshot_id": list(range(args.rows))})  # fmt: skip
    size = sum(map(len, texts)) / len(texts)
    ins, com = _store([t.decode("utf-8") for t in texts], args.chunks)
    print(f"{args.rows:,} records of {size:,.0f} bytes, stored {args.chunks} times (CPU µs a record)")
    print(f"{'':16s} {'compress':>9s} {'ratio':>6s} {'insert':>7s} {'commit':>7s} {'saved':>7s}")
    print(f"{'plain text':16s} {0:9.1f} {1:6.2f} {ins:7.1f} {com:7.1f} {0:7.1f}")
    for name, fn in _codecs().items():
        t = time.process_time()
        packed = [fn(x) for x in texts]
        cost = (time.process_time() - t) * 1e6 / len(texts)
        ratio = sum(map(len, texts)) / sum(map(len, packed))
        i2, c2 = _store(packed, args.chunks)
        print(f"{name:16s} {cost:9.1f} {ratio:6.2f} {i2:7.1f} {c2:7.1f} {ins + com - i2 - c2:7.1f}")


if __name__ == "__main__":
    main()
