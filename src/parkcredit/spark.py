"""Score profiles on Apache Spark with the one decision function (`decision.decide`, via `mapInPandas`).

    from parkcredit.spark import SparkScorer, local_session
    spark = local_session("local[2]")                       # or your cluster's SparkSession
    profiles = spark.read.parquet("park.parquet")          # profile columns (any subset, any order)
    decisions = SparkScorer(spark, "chengxindai", model_dir="models/default").score(profiles)

What crosses to the executors, once: the rule set's YAML *text* and, with a model, the bytes of
its MLflow model directory, in one broadcast variable (a few hundred KB). Each executor Python
process compiles the rule set and loads the model the first time a task needs them and keeps them
in a module-level cache keyed by content (rule-set hash + model files' sha256), so later tasks in
the same (reused) Python worker load nothing. `SparkScorer.loads` counts those loads.

Each partition arrives as pandas batches (Arrow); a batch is checked with `profile.coerce` (the
same vectorised checks as `parkcredit score`), decided with `decide(frame, ruleset, model)`, and
returned as one row per input row: the decision summary with its reason codes (most important
first), or, for a row that fails the checks, `status = "REJECTED"` and the reasons in `error` —
one bad row never hides the others. `records=True` adds `record`, the full decision of
DESIGN.md §6 as canonical JSON (reasons in Chinese and English, rule trace, model contributions);
it costs a Python call per row.

Requires `pip install parkcredit[spark]` on the driver and the same package on every executor.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from parkcredit.decision import MAX_REASONS, ScoringModel, canonical_json, decide
from parkcredit.profile import COLUMNS, coerce
from parkcredit.rules import RuleSet, load_ruleset, parse_ruleset

if TYPE_CHECKING:  # pyspark is an optional extra
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["Bundle", "SparkScorer", "local_session", "output_columns", "score", "score_pandas"]

REJECTED = "REJECTED"
# PySpark 4.3 warns that pandas >= 3 is "not fully supported"; the tests check the paths used here.
_PANDAS3_WARNING = "PySpark does not yet fully support pandas"
_COERCE_CHUNK = 1000  # profile.coerce names at most 1000 rows per check: re-check bad batches in chunks this size


@dataclass(frozen=True)
class Bundle:
    """Everything an executor needs to decide: rule-set text and (optionally) the model directory's files."""

    ruleset_text: str
    ruleset_source: str
    ruleset_hash: str
    model_files: dict[str, bytes] | None = None  # path relative to the model directory -> bytes
    model_sha256: str | None = None
    code_sha256: str = ""  # the driver's decision code (`code_fingerprint`)

    @property
    def key(self) -> str:
        """Cache key of what this bundle loads into an executor process."""
        return f"{self.ruleset_hash}/{self.model_sha256 or 'rules-only'}"


def _read_model_files(model_dir: Path) -> tuple[dict[str, bytes], str]:
    files = {str(p.relative_to(model_dir)): p.read_bytes() for p in sorted(model_dir.rglob("*")) if p.is_file()}
    digest = hashlib.sha256()
    for name, data in files.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return files, digest.hexdigest()


def _load_model_files(files: dict[str, bytes]) -> ScoringModel:
    """Write the model directory's files to a private temporary folder, load it, remove the folder."""
    from parkcredit.model.runtime import load_model_dir

    folder = Path(tempfile.mkdtemp(prefix="parkcredit-model-"))
    try:
        for name, data in files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        model, _, _ = load_model_dir(folder)  # reads every artifact into memory
        return model
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# the modules a decision runs through: executors must run the same source as the driver
_DECISION_MODULES = (
    "parkcredit.decision", "parkcredit.rules.compile", "parkcredit.rules.expr", "parkcredit.rules.spec",
    "parkcredit.profile.frame", "parkcredit.profile.derive", "parkcredit.profile.freshness",
    "parkcredit.profile.schema", "parkcredit.spark",
    "parkcredit.model.features", "parkcredit.model.explain", "parkcredit.model.runtime", "parkcredit.model.calibrate",
)  # fmt: skip


def code_fingerprint() -> str:
    """sha256 over the source of the decision path's modules (what must match on driver and executors)."""
    import importlib.util

    digest = hashlib.sha256()
    for name in _DECISION_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            digest.update(name.encode() + b"\0" + Path(spec.origin).read_bytes())
    return digest.hexdigest()


# executor side: one entry per bundle per Python worker process
_LOADED: dict[str, tuple[RuleSet, ScoringModel | None]] = {}


def _load(bundle: Bundle) -> tuple[tuple[RuleSet, ScoringModel | None], bool]:
    """(rule set, model) of `bundle`, and whether this call loaded them (False: cached in this process)."""
    hit = _LOADED.get(bundle.key)
    if hit is not None:
        return hit, False
    if bundle.code_sha256 and bundle.code_sha256 != code_fingerprint():
        raise RuntimeError(
            "this executor's parkcredit decision code differs from the driver's: install the same "
            "parkcredit version on the driver and every executor (and do not edit it while a job runs)"
        )
    ruleset = parse_ruleset(bundle.ruleset_text, source=bundle.ruleset_source)
    if ruleset.content_hash != bundle.ruleset_hash:  # the executor's parkcredit differs from the driver's
        raise RuntimeError(
            f"rule set {bundle.ruleset_source} compiles to {ruleset.content_hash} on this executor but "
            f"{bundle.ruleset_hash} on the driver: install the same parkcredit version everywhere"
        )
    model = _load_model_files(bundle.model_files) if bundle.model_files is not None else None
    _LOADED[bundle.key] = (ruleset, model)
    return (ruleset, model), True


def output_columns(ruleset: RuleSet, *, records: bool = False) -> list[tuple[str, str]]:
    """(name, Spark SQL type) of the scored frame, in order."""
    cols = [
        ("uscc", "string"), ("as_of", "date"), ("product", "string"), ("ruleset_version", "string"),
        ("ruleset_hash", "string"), ("model_version", "string"), ("status", "string"), ("eligible", "boolean"),
        ("limit_yuan", "bigint"), ("band", "string"), ("total_score", "double"),
    ]  # fmt: skip
    cols += [(f"score_{d.id}", "double") for d in ruleset.spec.dimensions]
    cols += [("knockouts", "string"), ("pd", "double"), ("valid_until", "date")]
    cols += [(f"reason_{r + 1}", "string") for r in range(MAX_REASONS)]
    cols.append(("error", "string"))
    if records:
        cols.append(("record", "string"))
    return cols


def _ddl(cols: list[tuple[str, str]]) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in cols)


def _coerce_tracking_rows(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, dict[int, str]]:
    """(canonical frame of the good rows, their positions in `raw`, error text by bad position)."""
    frame, errors = coerce(raw)
    n = len(raw)
    if not errors:
        return frame, np.arange(n), {}
    if n > _COERCE_CHUNK:  # errors are capped per check: re-check in chunks small enough to name every bad row
        parts = [_coerce_tracking_rows(raw.iloc[s : s + _COERCE_CHUNK]) for s in range(0, n, _COERCE_CHUNK)]
        starts = range(0, n, _COERCE_CHUNK)
        good = pd.concat([p[0] for p in parts], ignore_index=True)
        positions = np.concatenate([p[1] + s for p, s in zip(parts, starts, strict=True)])
        bad = {i + s: why for p, s in zip(parts, starts, strict=True) for i, why in p[2].items()}
        return good, positions, bad
    why: dict[int, list[str]] = {}
    for e in errors:
        why.setdefault(e.row, []).append(f"{e.column}: {e.reason}")
    positions = np.setdiff1d(np.arange(n), np.fromiter(why, dtype=np.int64, count=len(why)))
    if len(positions) != len(frame):
        raise AssertionError("profile.coerce dropped rows it did not name")  # guards the mapping above
    return frame, positions, {i: "; ".join(w) for i, w in why.items()}


def score_pandas(
    raw: pd.DataFrame, ruleset: RuleSet, model: ScoringModel | None = None, *, records: bool = False
) -> pd.DataFrame:
    """One output row per row of `raw` (profile columns, unknown ones ignored), columns `output_columns`.

    This is what every Spark task runs on each batch; it is plain pandas, so it is tested and
    timed without Spark too. Vectorised: no Python call per row unless `records`.
    """
    raw = raw.reset_index(drop=True)
    n = len(raw)
    frame, positions, bad = _coerce_tracking_rows(raw[[c for c in raw.columns if c in COLUMNS]])
    cols = output_columns(ruleset, records=records)
    names = [c for c, _ in cols]
    decided: dict[str, Any] = {}
    if len(frame):
        d = decide(frame, ruleset, model)
        summary = d.summary
        for name in names:
            if name in ("as_of", "valid_until"):  # datetime64: Arrow writes it as a Spark date
                decided[name] = pd.to_datetime(summary[name]).astype("datetime64[s]").to_numpy()
            elif name in summary.columns:
                col = summary[name]
                decided[name] = col.where(col.notna(), None).to_numpy(dtype=object) if col.dtype == object else col
        if records:
            decided["record"] = [canonical_json(d.record(i)) for i in range(len(d))]
    part = pd.DataFrame({k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in decided.items()},
                        index=positions[: len(frame)])  # fmt: skip
    result = part.reindex(index=range(n), columns=names) if bad or not len(frame) else part.reindex(columns=names)
    result = result.reset_index(drop=True)
    result["uscc"] = raw["uscc"].astype(object).where(raw["uscc"].notna(), None) if "uscc" in raw else None
    result["product"] = ruleset.product
    result["ruleset_version"] = ruleset.version
    result["ruleset_hash"] = ruleset.content_hash
    result["model_version"] = getattr(model, "version", None) if ruleset.spec.model.mode != "off" else None
    if bad:
        rows = np.fromiter(bad, dtype=np.int64, count=len(bad))
        for name, values in (("status", REJECTED), ("error", list(bad.values()))):
            col = result[name].astype(object)
            col.iloc[rows] = values
            result[name] = col
    # declared Spark types, nullable where a row was rejected
    result["eligible"] = result["eligible"].astype("boolean")
    result["limit_yuan"] = result["limit_yuan"].astype("Int64")
    for name, kind in cols:
        if kind == "double":
            result[name] = result[name].astype("Float64")
        elif kind == "date":
            result[name] = result[name].astype("datetime64[s]")
        elif kind == "string":
            result[name] = result[name].astype(object).where(result[name].notna(), None)
    return result


class SparkScorer:
    """Decide Spark DataFrames of profiles with one product's rule set (and optionally a model).

    The rule set comes from `ruleset_path`, else `rules_dir/<product>.yaml`, else the bundled
    `scoring_rules/`; the model from `model_dir` (an MLflow model directory such as
    `models/default`; None = rules alone, as `parkcredit score`). Both are read on the driver,
    checked there (a bad file fails before any task runs) and broadcast once.
    """

    def __init__(
        self,
        spark: SparkSession,
        product: str = "chengxindai",
        *,
        ruleset_path: str | Path | None = None,
        rules_dir: str | Path | None = None,
        model_dir: str | Path | None = None,
        records: bool = False,
    ) -> None:
        if ruleset_path is None:
            from parkcredit.catalog import load_product

            self.ruleset = load_product(product, Path(rules_dir) if rules_dir else None)
        else:
            self.ruleset = load_ruleset(ruleset_path)
        self.model: ScoringModel | None = None
        files, digest = None, None
        if model_dir is not None:
            files, digest = _read_model_files(Path(model_dir))
            self.model = _load_model_files(files)  # fail on the driver, not in a thousand tasks
        self.bundle = Bundle(
            self.ruleset.text, self.ruleset.source, self.ruleset.content_hash, files, digest, code_fingerprint()
        )
        self.records = records
        self.columns = output_columns(self.ruleset, records=records)
        self.spark = spark
        sc = spark.sparkContext
        self._broadcast = sc.broadcast(self.bundle)
        self.loads = sc.accumulator(0)  # executor-side loads of this bundle (one per Python worker process)

    @property
    def schema(self) -> str:
        """The output schema as a Spark SQL DDL string."""
        return _ddl(self.columns)

    def score(self, profiles: DataFrame) -> DataFrame:
        """Decisions for every row of `profiles` (lazy: nothing runs until an action)."""
        known = [c for c in profiles.columns if c in COLUMNS]
        if "uscc" not in known:
            raise ValueError("profiles need at least a uscc column (and name, as_of)")
        broadcast, loads, records = self._broadcast, self.loads, self.records

        def decide_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            (ruleset, model), loaded = _load(broadcast.value)
            if loaded:
                loads.add(1)
            for batch in batches:
                yield score_pandas(batch, ruleset, model, records=records)

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_PANDAS3_WARNING, category=FutureWarning)
            return profiles.select(*known).mapInPandas(decide_batches, self.schema)


def score(
    profiles: DataFrame,
    product: str = "chengxindai",
    *,
    ruleset_path: str | Path | None = None,
    model_dir: str | Path | None = None,
    records: bool = False,
) -> DataFrame:
    """`SparkScorer(profiles.sparkSession, ...).score(profiles)` in one call."""
    scorer = SparkScorer(
        profiles.sparkSession, product, ruleset_path=ruleset_path, model_dir=model_dir, records=records
    )
    return scorer.score(profiles)


def local_session(
    master: str = "local[2]", app_name: str = "parkcredit", conf: dict[str, str] | None = None
) -> SparkSession:
    """A SparkSession for one machine (tests, benchmarks, notebooks) whose workers run this Python.

    Executors start `PYSPARK_PYTHON`; unset, that is the system `python3`, which lacks this
    virtualenv's packages — so it is set to the running interpreter unless already set.
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # one machine: stay on loopback
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.executorEnv.PYTHONWARNINGS", f"ignore:{_PANDAS3_WARNING}:FutureWarning")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
