"""What a server has ready before its first request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from parkcredit.store import testing

_CHECK = """
import sys
from fastapi.testclient import TestClient
from parkcredit.server import create_app
from parkcredit.settings import Settings

app = create_app(Settings(database_url=sys.argv[1], api_key_pepper="server-start-pepper", model_enabled=True))
assert "parkcredit.model._kernels" not in sys.modules
with TestClient(app):  # the lifespan has run; no request yet
    from parkcredit.model import _kernels

    print(len(_kernels.shap_rows_serial.signatures), len(_kernels.shap_rows.signatures))
"""


def test_the_models_kernels_are_loaded_at_start_not_by_the_first_decision(tmp_path: Path) -> None:
    """The first decision after a start paid ~0.3 s for numba and the TreeSHAP kernels; the lifespan pays now."""
    url = testing.sqlite_copy(testing.prepare_sqlite_template(tmp_path), tmp_path)
    out = subprocess.run([sys.executable, "-c", _CHECK, url], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    serial, parallel = map(int, out.stdout.split()[-2:])
    assert serial >= 1 and parallel >= 1  # both kernels compiled (or loaded from numba's cache) already


def test_a_model_that_cannot_be_warmed_does_not_stop_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    from parkcredit.app import decisions
    from parkcredit.server import create_app
    from parkcredit.settings import Settings

    def refuse(*_: object, **__: object) -> None:
        raise ValueError("this model wants other features")

    monkeypatch.setattr(decisions, "decide", refuse)
    url = testing.sqlite_copy(testing.prepare_sqlite_template(tmp_path), tmp_path)
    app = create_app(Settings(database_url=url, api_key_pepper="server-start-pepper", model_enabled=True))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    assert "the model was not warmed at start (ValueError: this model wants other features)" in caplog.text
