"""A corrupt model directory: the service starts, decides on rules alone, and /readyz says why."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import serverproc
from dbsupport import PEPPER, good_profile, make_uscc
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store import keys as keystore
from parkcredit.store import testing
from parkcredit.store.db import make_engine, make_sessionmaker, write_session

MODEL = Path(__file__).resolve().parents[2] / "models" / "default"


def _committee(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with write_session(make_sessionmaker(engine)) as session:
        _, token = keystore.create_key(session, "committee", PEPPER)
    engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def _garbage_booster(folder: Path) -> str:
    (folder / "artifacts" / "booster.txt").write_bytes(b"\x00\xff not a lightgbm model\n" * 50)
    return "UnicodeDecodeError"


def _missing_manifest(folder: Path) -> str:
    (folder / "MLmodel").unlink()
    return "no MLflow model"


@pytest.mark.parametrize("corrupt", [_garbage_booster, _missing_manifest])
def test_corrupt_model_gives_rules_only_decisions_and_readyz_says_why(db_url: str, tmp_path: Path, corrupt) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "model"
    shutil.copytree(MODEL, folder)
    why = corrupt(folder)
    settings = Settings(database_url=db_url, model_dir=folder, model_enabled=True, api_key_pepper=PEPPER)
    committee = _committee(db_url)
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200  # rules still serve: ready, degraded
        status = ready.json()["model"]["status"]
        assert status.startswith("unavailable: ") and why in status and len(status) > len("unavailable: ") + 10
        assert client.post("/v1/enterprises", json=good_profile(1), headers=committee).status_code == 201
        r = client.post("/v1/decisions", json={"uscc": make_uscc(1), "product": "chengxindai"}, headers=committee)
        assert r.status_code == 201, r.text
        record = r.json()
        assert record["model"]["version"] is None and record["model"]["status"].startswith("unavailable")
        assert record["pd"] is None and record["contributions"] is None
        assert record["eligible"] is True and record["limit_yuan"] > 0  # decided on the rules


def test_an_intact_model_is_loaded_and_used(db_url: str, tmp_path: Path) -> None:
    """The control for the test above: the same copy, uncorrupted, is ok and gives a PD."""
    folder = tmp_path / "model"
    shutil.copytree(MODEL, folder)
    settings = Settings(database_url=db_url, model_dir=folder, model_enabled=True, api_key_pepper=PEPPER)
    committee = _committee(db_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").json()["model"]["status"] == "ok"
        assert client.post("/v1/enterprises", json=good_profile(1), headers=committee).status_code == 201
        r = client.post("/v1/decisions", json={"uscc": make_uscc(1), "product": "chengxindai"}, headers=committee)
        assert r.json()["model"]["version"] is not None and r.json()["pd"] is not None


def test_a_truncated_booster_does_not_kill_the_server(_sqlite_template: Path, tmp_path: Path) -> None:
    """In a real `parkcredit serve` process: LightGBM's abort cannot be caught by Python."""
    folder = tmp_path / "model"
    shutil.copytree(MODEL, folder)
    booster = folder / "artifacts" / "booster.txt"
    booster.write_bytes(booster.read_bytes()[: booster.stat().st_size // 2])
    url = testing.sqlite_copy(_sqlite_template, tmp_path)
    env: dict[str, Any] = {"PARKCREDIT_MODEL_ENABLED": "true", "PARKCREDIT_MODEL_DIR": str(folder)}
    server = serverproc.start(url, tmp_path / "server.log", wait=False, **env)
    try:
        server.wait_ready(timeout=120)  # raises if the process died
        status = httpx.get(f"{server.base}/readyz", timeout=10).json()["model"]["status"]
        assert status.startswith("unavailable: ")
    finally:
        server.stop()
