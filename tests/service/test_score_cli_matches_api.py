"""`parkcredit score` decides a file exactly as the API decides the same profiles: the bundled model by default
(the service's own loader), the rule set the store seeds from the same bundled file; `--no-model` is rules alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dbsupport import PEPPER
from golden.regenerate import load_cases
from parkcredit.cli import app as cli
from parkcredit.server import create_app
from parkcredit.settings import Settings, get_settings

PRODUCT = "xiaoweikuaidai"  # opens to 91, 92 and 93: every golden case is decided on the merits
STORE_ONLY = {"decision_id", "snapshot_id"}  # what only a stored decision has


@pytest.fixture
def model_client(db_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=db_url, model_enabled=True, api_key_pepper=PEPPER)
    with TestClient(create_app(settings)) as c:
        yield c


def _cli_records(tmp_path: Path, profiles: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, *extra: str) -> list:
    src, out = tmp_path / "profiles.jsonl", tmp_path / "decisions.jsonl"
    src.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in profiles), encoding="utf-8")
    monkeypatch.setenv("PARKCREDIT_MODEL_ENABLED", "true")
    monkeypatch.delenv("PARKCREDIT_MODEL_DIR", raising=False)
    get_settings.cache_clear()
    try:
        run = CliRunner().invoke(cli, ["score", str(src), "--product", PRODUCT, "--out", str(out), "--full", *extra])
    finally:
        get_settings.cache_clear()
    assert run.exit_code == 0, run.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_score_records_equal_the_apis_field_by_field(
    model_client: TestClient, keys: dict[str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = keys["committee"]
    profiles = [p for _, p in load_cases()]
    api = []
    for p in profiles:
        assert model_client.post("/v1/enterprises", json=p, headers=headers).status_code == 201
        r = model_client.post("/v1/decisions", json={"uscc": p["uscc"], "product": PRODUCT}, headers=headers)
        assert r.status_code == 201, r.text
        api.append(r.json())
    assert all(a["model"]["status"] == "ok" and a["pd"] is not None for a in api)  # the API used the model

    cli_records = _cli_records(tmp_path, profiles, monkeypatch)
    assert len(cli_records) == len(api)
    for a, c in zip(api, cli_records, strict=True):
        assert set(a) - STORE_ONLY == set(c), a["uscc"]
        for key in sorted(set(c)):
            assert c[key] == a[key], f"{a['uscc']}: {key} differs: cli {c[key]!r} != api {a[key]!r}"

    rules_only = _cli_records(tmp_path, profiles, monkeypatch, "--no-model")
    assert all(r["pd"] is None and r["contributions"] is None and r["model_view"] == [] for r in rules_only)
    assert any(a["pd"] is not None for a in api)
