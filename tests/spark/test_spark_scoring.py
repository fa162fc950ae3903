"""Spark scoring (`parkcredit.spark`) in local[2] mode decides exactly as the single-process `decide`.

One SparkSession per test session (it costs 10-25 s to start here); small parks, several
partitions, so tasks really run in two executor Python processes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

if os.environ.get("CI") is None:
    pytest.importorskip("pyspark")  # in CI the [spark] extra is installed (./dev): a missing pyspark fails
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("no Java runtime for Spark", allow_module_level=True)

from factories import ROOT, RULES  # noqa: E402
from parkcredit.decision import canonical_json, decide  # noqa: E402
from parkcredit.profile import COLUMNS, coerce  # noqa: E402
from parkcredit.rules import RuleSetError, load_ruleset  # noqa: E402
from parkcredit.spark import REJECTED, SparkScorer, local_session, score_pandas  # noqa: E402
from parkcredit.synth import generate  # noqa: E402

MODEL_DIR = ROOT / "models" / "default"
PARTITIONS = 8


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    # small files split by row group: several partitions without a shuffle
    session = local_session("local[2]", conf={"spark.sql.files.maxPartitionBytes": str(32 * 1024)})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def park() -> pd.DataFrame:
    """1,200 synthetic enterprises, three of them with a bad value (must come back REJECTED)."""
    frame = generate(1200, seed=11).drop(columns=["default_12m"])
    frame["uscc"] = frame["uscc"].astype(object)
    frame.loc[17, "uscc"] = "91510311MA6XXXXXX0"  # wrong check character
    frame.loc[400, "revenue_yuan_y1"] = -5  # negative revenue
    frame.loc[999, "name"] = None  # required
    return frame


@pytest.fixture(scope="module")
def park_path(park: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The park as a parquet file: how profiles reach Spark in practice (spark.read.parquet)."""
    path = tmp_path_factory.mktemp("spark") / "park.parquet"
    park.to_parquet(path, index=False, row_group_size=150)
    return str(path)


def _expected(park: pd.DataFrame, model: object = None) -> tuple[pd.DataFrame, object]:
    good, errors = coerce(park[COLUMNS])
    assert sorted({e.row for e in errors}) == [17, 400, 999]
    return good, decide(good, load_ruleset(RULES / "chengxindai.yaml"), model)  # type: ignore[arg-type]


def _same(got: pd.Series, want: pd.Series) -> bool:
    g, w = got.to_numpy(dtype=object), want.to_numpy(dtype=object)
    return all((pd.isna(a) and pd.isna(b)) or a == b for a, b in zip(g, w, strict=True))


def _check_summary(out: pd.DataFrame, decisions: object) -> None:
    s = decisions.summary  # type: ignore[attr-defined]
    decided = out[out["status"] != REJECTED].reset_index(drop=True)
    assert list(decided["uscc"]) == list(s["uscc"])
    for col in s.columns:
        want = s[col]
        got = decided[col]
        if col in ("as_of", "valid_until"):
            want, got = pd.to_datetime(want).dt.date.astype(str), got.astype(str)
        elif col == "limit_yuan":
            got = got.astype("int64")
        elif col == "eligible":
            got = got.astype(bool)
        elif col.startswith("reason_"):
            want = want.where(want.notna(), None)
        assert _same(got, want), f"column {col} differs"


def test_model_decisions_and_full_records_equal_single_process_decide(
    spark, park: pd.DataFrame, park_path: str
) -> None:  # type: ignore[no-untyped-def]
    from parkcredit.model.runtime import load_model_dir

    scorer = SparkScorer(spark, "chengxindai", model_dir=MODEL_DIR, records=True)
    out = scorer.score(spark.read.parquet(park_path)).toArrow().to_pandas()
    out = out.set_index(out["uscc"].astype(str)).loc[park["uscc"].astype(str)].reset_index(drop=True)
    model, _, _ = load_model_dir(MODEL_DIR)
    _, decisions = _expected(park, model)
    _check_summary(out, decisions)
    assert out.loc[out["status"] != REJECTED, "pd"].notna().all()
    assert (out.loc[out["status"] != REJECTED, "model_version"] == model.version).all()
    records = out.loc[out["status"] != REJECTED, "record"].tolist()
    want = [canonical_json(decisions.record(i)) for i in range(len(decisions))]  # type: ignore[attr-defined]
    assert records == want  # byte for byte: reasons (zh/en), trace, model contributions
    # rule set and model are loaded once per executor Python process, not once per task
    assert 1 <= scorer.loads.value <= 2 < PARTITIONS <= spark.read.parquet(park_path).rdd.getNumPartitions()


def test_rules_only_rejected_rows_name_the_column_and_reason(spark, park: pd.DataFrame, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = park.iloc[[16, 17, 400, 999, 1000]]
    rows.to_parquet(tmp_path / "five.parquet", index=False)
    out = SparkScorer(spark).score(spark.read.parquet(str(tmp_path / "five.parquet"))).toArrow().to_pandas()
    good, _ = coerce(rows[COLUMNS])
    want = decide(good, load_ruleset(RULES / "chengxindai.yaml")).summary  # rules alone, as `parkcredit score`
    decided = out[out["status"] != REJECTED]
    assert list(decided["limit_yuan"].astype("int64")) == list(want["limit_yuan"])
    assert list(decided["reason_1"]) == list(want["reason_1"].where(want["reason_1"].notna(), None))
    assert decided["model_version"].isna().all() and decided["pd"].isna().all()
    assert list(out["status"] == REJECTED) == [False, True, True, True, False]
    assert out["error"].iloc[0] is None or pd.isna(out["error"].iloc[0])
    assert "uscc" in out["error"].iloc[1]
    assert "revenue_yuan_y1: must not be negative" in out["error"].iloc[2]
    assert "name: required" in out["error"].iloc[3]
    assert out.loc[out["status"] == REJECTED, "eligible"].isna().all()


def test_a_broken_rule_file_fails_on_the_driver_before_any_task(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "chengxindai.yaml"
    bad.write_text((RULES / "chengxindai.yaml").read_text(encoding="utf-8").replace("threshold:", "threshhold:", 1))
    with pytest.raises(RuleSetError):
        SparkScorer(spark, ruleset_path=bad)


def test_score_pandas_names_every_bad_row_of_a_large_batch() -> None:
    """More bad rows in one batch than profile.coerce names per check: still one error per bad row."""
    frame = generate(3000, seed=5).drop(columns=["default_12m"])
    bad = np.arange(0, 3000, 2)  # 1,500 bad rows
    frame.loc[bad, "revenue_yuan_y1"] = -1
    out = score_pandas(frame, load_ruleset(RULES / "chengxindai.yaml"))
    assert len(out) == 3000
    assert (out.loc[bad, "status"] == REJECTED).all() and out.loc[bad, "error"].str.contains("revenue_yuan_y1").all()
    assert (out.drop(index=bad)["status"] != REJECTED).all()
    good, _ = coerce(frame.drop(index=bad)[COLUMNS])
    want = decide(good, load_ruleset(RULES / "chengxindai.yaml")).summary
    assert _same(out.drop(index=bad)["limit_yuan"].astype("int64").reset_index(drop=True), want["limit_yuan"])


def test_an_executor_with_other_decision_code_refuses_to_decide() -> None:
    """The bundle carries the driver's code fingerprint; an executor whose source differs stops with a clear error."""
    from parkcredit.spark import Bundle, _load, code_fingerprint

    rs = load_ruleset(RULES / "chengxindai.yaml")
    with pytest.raises(RuntimeError, match="decision code differs"):
        _load(Bundle(rs.text, "x.yaml", rs.content_hash, None, None, "0" * 64))
    (loaded, _), fresh = _load(Bundle(rs.text, "x.yaml", rs.content_hash, None, None, code_fingerprint()))
    assert loaded.content_hash == rs.content_hash and fresh in (True, False)
