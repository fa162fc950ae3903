"""The HTTP contract: api/openapi.json is the app's, and fuzzing it finds no server error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from parkcredit.cli import app as cli
from parkcredit.server import openapi_text

OPENAPI = Path(__file__).resolve().parents[2] / "api" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    assert OPENAPI.read_text(encoding="utf-8") == openapi_text(), (
        "api/openapi.json is stale: run `parkcredit api openapi --out api/openapi.json`"
    )


def test_cli_prints_the_same_document() -> None:
    out = CliRunner().invoke(cli, ["api", "openapi"])
    assert out.exit_code == 0 and json.loads(out.output) == json.loads(openapi_text())


schemathesis = pytest.importorskip("schemathesis")


def _role(path: str) -> str:
    if "audit" in path or "replay" in path:
        return "auditor"
    if "admin" in path:
        return "admin"
    bank = ("eligibility", "outcomes", "bank-queries", "loan", "whitelist", "alerts", "webhooks")  # issue 14: loans…
    return "bank" if any(p in path for p in bank) else "committee"


def test_fuzzing_every_operation_finds_no_server_error(client, keys) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures = []
    for op_result in schema.get_all_operations():
        op = op_result.ok()
        strategy = op.as_strategy()

        role = _role(op.path)

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(strategy)
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.headers = {**(case.headers or {}), **keys[role]}  # noqa: B023 (called at once, inside the loop)
            response = case.call()
            if response.status_code >= 500:
                failures.append((case.method, case.path, response.status_code, response.text[:300]))

        check()
    assert failures == []
