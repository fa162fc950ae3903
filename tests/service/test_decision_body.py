"""`POST /v1/decisions` writes exactly the bytes FastAPI wrote for the returned record (issue 18).

The route returns its `Response` itself (the record is not validated a second time in another thread
hop); the expected body is computed here by FastAPI's own `serialize_response` from the very record the
use case returned — the path the route took before — for several enterprises and products, with and
without the model, on both databases. The headers that depend on the body match too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, serialize_response
from fastapi.testclient import TestClient

from dbsupport import PEPPER, good_profile, make_uscc
from parkcredit.api.routers import committee
from parkcredit.app import decisions
from parkcredit.server import create_app
from parkcredit.settings import Settings

PROFILES: list[dict[str, Any]] = [
    {},  # healthy
    {"dishonest_debtor_enterprise": True},  # a knock-out
    {"tax_credit_grade": "M", "revenue_yuan_y1": None, "ss_arrears_months": 4, "legal_rep_name": None},  # weaker, gaps
    {"env_credit_level": "YELLOW", "existing_unsecured_loans_yuan": 2_900_000, "hazard_rectification_rate": 0.61},
]
PRODUCTS = ["chengxindai", "xiaoweikuaidai", "yuanbaodai"]


def _route() -> APIRoute:
    for r in committee.router.routes:
        if isinstance(r, APIRoute) and r.path == "/v1/decisions" and "POST" in r.methods:
            return r
    raise AssertionError("no POST /v1/decisions")


def _fastapi_body(route: APIRoute, returned: Any) -> bytes:
    """What FastAPI writes for `returned` from this route (its `dump_json` path for a default response class)."""
    body = asyncio.run(
        serialize_response(
            field=route.response_field, response_content=returned, include=route.response_model_include,
            exclude=route.response_model_exclude, by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset, exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none, is_coroutine=True, dump_json=True,
        )
    )  # fmt: skip
    assert isinstance(body, bytes)
    return body


def _check_all(c: TestClient, keys: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> int:
    route = _route()
    returned: list[Any] = []
    real = decisions.decide_enterprise

    def spy(*args: Any, **kwargs: Any) -> Any:
        returned.append(real(*args, **kwargs))
        return returned[-1]

    monkeypatch.setattr(decisions, "decide_enterprise", spy)
    checked = 0
    for i, _ in enumerate(PROFILES, start=1):
        for product in PRODUCTS:
            r = c.post("/v1/decisions", json={"uscc": make_uscc(i), "product": product}, headers=keys["committee"])
            assert r.status_code == 201, r.text
            want = _fastapi_body(route, returned[-1])
            assert r.content == want
            assert r.headers["content-type"] == "application/json"
            assert r.headers["content-length"] == str(len(want))
            checked += 1
    monkeypatch.setattr(decisions, "decide_enterprise", real)
    return checked


def test_the_body_is_what_fastapi_wrote_for_the_record(
    client: TestClient, keys: dict[str, dict[str, str]], settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for i, overrides in enumerate(PROFILES, start=1):
        r = client.post("/v1/enterprises", json=good_profile(i, **overrides), headers=keys["committee"])
        assert r.status_code == 201, r.text
    assert _check_all(client, keys, monkeypatch) == len(PROFILES) * len(PRODUCTS)
    with_model = Settings(database_url=settings.database_url, model_enabled=True, api_key_pepper=PEPPER,
                          data_dir=tmp_path / "var-model")  # fmt: skip
    with TestClient(create_app(with_model)) as c:
        r = c.post("/v1/decisions", json={"uscc": make_uscc(1), "product": "chengxindai"}, headers=keys["committee"])
        assert r.json()["model"]["version"] is not None, "the bundled model is on"
        assert _check_all(c, keys, monkeypatch) == len(PROFILES) * len(PRODUCTS)


def test_a_replayed_decision_is_the_stored_body(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    client.post("/v1/enterprises", json=good_profile(1), headers=keys["committee"])
    headers = {**keys["committee"], "Idempotency-Key": "body-1"}
    body = {"uscc": make_uscc(1), "product": "chengxindai"}
    first = client.post("/v1/decisions", json=body, headers=headers)
    again = client.post("/v1/decisions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
