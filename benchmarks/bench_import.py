"""The stored import alone (issue 18): `POST /v1/imports`' use case on one database, wall clock and CPU.

    python benchmarks/bench_import.py --rows 20000 --db sqlite       # or --db postgresql
    python benchmarks/bench_import.py --rows 20000 --read-only       # the importer alone (parse + check)

An XLSX of new enterprises is imported first, then a CSV of the same enterprises (an update: each row
merged into the previous snapshot with its provenance). CPU seconds of this process are printed beside
the wall clock: on a machine shared with other work they move far less than the wall clock, so a
before/after comparison (`PYTHONPATH=<other tree>/src python <other tree>/benchmarks/bench_import.py`)
reads them. The files are cached in /tmp by row count, so both trees import the same bytes.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_scale as scale  # noqa: E402  # the same rows and files as the scale benchmark

from parkcredit.app import imports  # noqa: E402
from parkcredit.app.actor import Actor  # noqa: E402
from parkcredit.app.context import AppContext  # noqa: E402
from parkcredit.profile.importer import Upload, import_table  # noqa: E402
from parkcredit.settings import Settings  # noqa: E402


def _files(rows: int) -> tuple[bytes, bytes]:
    cache = Path(tempfile.gettempdir()) / f"parkcredit-bench-import-{rows}.pkl"
    if cache.exists():
        csv, xlsx = pickle.loads(cache.read_bytes())
        return csv, xlsx
    frame = scale._profiles(rows, max(1, rows // 500), 1)
    csv, xlsx = scale._files(frame, Path(tempfile.mkdtemp()), rows)
    cache.write_bytes(pickle.dumps((csv, xlsx)))
    return csv, xlsx


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    ap.add_argument("--read-only", action="store_true", help="the importer alone, nothing stored")
    args = ap.parse_args()
    csv, xlsx = _files(args.rows)
    files = (("XLSX (new enterprises)", "park.xlsx", xlsx), ("CSV (updates)", "park.csv", csv))
    if args.read_only:
        for what, name, data in files:
            wall, cpu, res = _timed(lambda: import_table(Upload(data, name), partial=True, max_rows=10**7))  # noqa: B023
            n = len(res.records)
            print(f"read {what:24s} {n / wall:>9,.0f} rows/s wall  {n / cpu:>9,.0f} rows/s CPU")
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    with scale._database(args.db, folder) as url:
        settings = Settings(database_url=url, api_key_pepper=scale.PEPPER, data_dir=folder, max_upload_bytes=10**9,
                            max_import_rows=10**7)  # fmt: skip
        ctx = AppContext.open(settings)
        who = Actor(key_id="bench", role="committee")
        for what, name, data in files:
            wall, cpu, res = _timed(lambda: imports.import_profiles(ctx, who, data=data, filename=name))  # noqa: B023
            n = res.rows_stored
            print(f"{args.db} import {what:24s} {n / wall:>9,.0f} rows/s wall  {n / cpu:>9,.0f} rows/s CPU  "
                  f"({n:,} rows, {wall:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
