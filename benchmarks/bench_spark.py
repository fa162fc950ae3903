"""Rows per second: Spark `mapInPandas` scoring (`parkcredit.spark`) against the single-process batch path.

    python benchmarks/bench_spark.py                       # 1,000,000 synthetic rows, local[2], rules alone
    python benchmarks/bench_spark.py --rows 200000 --model # with the bundled model (PD + TreeSHAP reasons)

Both paths read the same parquet file (written once from `parkcredit.synth.generate`, in row
groups of 100,000 so Spark can split it) and write their decisions to parquet:
1. batch: `parkcredit score park.parquet --out decisions.parquet` as a subprocess (wall time,
   interpreter start included), and its chunked `decide` loop timed in this process;
2. Spark: `SparkScorer(...).score(spark.read.parquet(...)).write.parquet(...)` on `--master`
   (session start-up reported apart, not counted in rows/s).
With `--model` the batch path is timed in this process only (the CLI scores on rules alone).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

CLI = Path(sys.executable).with_name("parkcredit")
ROOT = Path(__file__).resolve().parents[1]


def _in_process(path: Path, model_dir: Path | None) -> float:
    """Seconds for the CLI's own loop (read, coerce, decide in 100,000-row chunks) in this process."""
    from parkcredit.catalog import load_product
    from parkcredit.cli import CHUNK_ROWS, read_profiles
    from parkcredit.decision import decide

    model = None
    if model_dir is not None:
        from parkcredit.model.runtime import load_model_dir

        model, _, _ = load_model_dir(model_dir)
    ruleset = load_product("chengxindai")
    started = time.perf_counter()
    frame, _, _ = read_profiles(path)
    parts = [decide(frame.iloc[s : s + CHUNK_ROWS], ruleset, model).summary for s in range(0, len(frame), CHUNK_ROWS)]  # type: ignore[attr-defined]
    pd.concat(parts, ignore_index=True).to_parquet(path.with_name("inproc.parquet"), index=False)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--model", action="store_true", help="decide with the bundled model (models/default)")
    ap.add_argument("--batch-rows", type=int, default=20_000, help="spark.sql.execution.arrow.maxRecordsPerBatch")
    args = ap.parse_args()
    model_dir = ROOT / "models" / "default" if args.model else None
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")

    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        folder = Path(tmp)
        park = folder / "park.parquet"
        from parkcredit.synth import generate

        t = time.perf_counter()
        generate(args.rows, seed=7).drop(columns=["default_12m"]).to_parquet(park, index=False, row_group_size=100_000)
        print(f"synth: {args.rows:,} rows to {park.name} in {time.perf_counter() - t:.1f} s "
              f"({park.stat().st_size / 1e6:.0f} MB)")  # fmt: skip

        what = "rules + model" if args.model else "rules alone"
        if not args.model:
            t = time.perf_counter()
            done = subprocess.run(
                [str(CLI), "score", str(park), "--out", str(folder / "cli.parquet")],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            wall = time.perf_counter() - t
            own = re.search(r"\(([\d,]+) rows/s\)", done.stdout)
            figure = own.group(1) if own else "?"
            print(f"batch  `parkcredit score` (1 process, {what}): {wall:6.1f} s wall  "
                  f"{args.rows / wall:10,.0f} rows/s  (the command's own figure: {figure} rows/s)")  # fmt: skip
        secs = _in_process(park, model_dir)
        print(f"batch  in-process decide loop   ({what}): {secs:6.1f} s       {args.rows / secs:10,.0f} rows/s")

        from parkcredit.spark import SparkScorer, local_session

        t = time.perf_counter()
        spark = local_session(args.master, "parkcredit-bench", {
            "spark.sql.execution.arrow.maxRecordsPerBatch": str(args.batch_rows),
            "spark.sql.files.maxPartitionBytes": str(8 * 1024 * 1024),  # split the file by row groups
            "spark.driver.memory": "4g",
        })  # fmt: skip
        print(f"spark  session start ({args.master}): {time.perf_counter() - t:.1f} s (not counted below)")
        for run in (1, 2):
            t = time.perf_counter()
            scorer = SparkScorer(spark, "chengxindai", model_dir=model_dir)
            profiles = spark.read.parquet(str(park))
            scorer.score(profiles).write.mode("overwrite").parquet(str(folder / "spark-out"))
            secs = time.perf_counter() - t
            parts = profiles.rdd.getNumPartitions()
            print(f"spark  mapInPandas run {run} ({what}, {parts} partitions): "
                  f"{secs:6.1f} s  {args.rows / secs:10,.0f} rows/s  (loads: {scorer.loads.value})")  # fmt: skip
        out = pd.read_parquet(folder / "spark-out")
        print(f"spark  output rows {len(out):,}, eligible {int(out['eligible'].sum()):,}, "
              f"rejected {int((out['status'] == 'REJECTED').sum()):,}")  # fmt: skip
        spark.stop()


if __name__ == "__main__":
    main()
