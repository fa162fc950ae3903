"""A demo park with the bundled model, served in-process: decisions to report on (SQLite, built once per module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dbsupport import PEPPER, good_profile
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store import keys as keystore
from parkcredit.store import testing
from parkcredit.store.db import make_engine, make_sessionmaker, write_session

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


class Park:
    """The served app, its role headers and two decisions: `good` (eligible) and `knocked_out`."""

    def __init__(self, client: TestClient, headers: dict[str, dict[str, str]], url: str) -> None:
        self.client, self.headers, self.url = client, headers, url
        self.good: dict[str, Any] = {}
        self.knocked_out: dict[str, Any] = {}

    def decide(self, profile: dict[str, Any]) -> dict[str, Any]:
        c, h = self.client, self.headers["committee"]
        assert c.post("/v1/enterprises", json=profile, headers=h).status_code == 201
        r = c.post("/v1/decisions", json={"uscc": profile["uscc"], "product": "chengxindai"}, headers=h)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def park(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Park]:
    folder = tmp_path_factory.mktemp("reports")
    url = testing.sqlite_copy(testing.prepare_sqlite_template(folder), folder)
    settings = Settings(database_url=url, model_enabled=True, api_key_pepper=PEPPER)
    engine = make_engine(url)
    headers = {}
    with write_session(make_sessionmaker(engine)) as session:
        for role in ("committee", "auditor", "bank"):
            _, token = keystore.create_key(session, role, PEPPER, bank="自贡银行" if role == "bank" else None)
            headers[role] = {"Authorization": f"Bearer {token}"}
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        assert client.app.state.ctx.model is not None, client.app.state.ctx.model_status  # type: ignore[attr-defined]
        p = Park(client, headers, url)
        p.good = p.decide(good_profile(1))
        p.knocked_out = p.decide(good_profile(2, tax_credit_grade="D", name="自贡纳税失信示例有限公司"))
        yield p
