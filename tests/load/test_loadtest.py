"""A shortened run of benchmarks/loadtest.py (the full 60 s run is by hand; figures in docs/operations.md)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

LOADTEST = Path(__file__).resolve().parents[2] / "benchmarks" / "loadtest.py"


@pytest.fixture(scope="module")
def loadtest():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("loadtest", LOADTEST)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["loadtest"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_short_open_loop_run_against_two_workers_on_postgresql(loadtest, _pg_schema: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    # _pg_schema: skip (or fail in CI) when PostgreSQL is unreachable, like the other database tests
    result = loadtest.run(workers=2, seconds=4, eligibility_rps=10, decision_rps=2, enterprises=4,
                          log=tmp_path / "server.log")  # fmt: skip
    print(loadtest.report(result))
    eligibility, decisions = result["streams"]
    assert (eligibility["sent"], decisions["sent"]) == (40, 8)  # the offered rate, open loop
    for s in (eligibility, decisions):
        assert s["errors"] == 0, s["error_kinds"]
        assert s["ok"] == s["sent"]
        assert math.isfinite(s["p99_ms"]) and s["p50_ms"] <= s["p95_ms"] <= s["p99_ms"] < 10_000


def test_refuses_a_url_that_is_not_loopback(loadtest) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit, match="loopback only"):
        loadtest.run(url="http://192.0.2.10:8000", committee="x", bank="y", seconds=1)
