"""Bad input never costs more than a small, bounded amount, and always gets a 4xx naming the field.

Real HTTP through the app (TestClient), SQLite and PostgreSQL; the CLI as a user runs it.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dbsupport import PEPPER, authorization, good_profile, make_uscc
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store.tables import RuleSetVersion, Snapshot

CLI = Path(sys.executable).with_name("parkcredit")


def alias_bomb() -> str:
    """The 406-byte YAML of the issue: nine levels of nine aliases each (9**9 ≈ 387 million strings expanded)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(lines) + "\n"
    return text + "#" * (406 - len(text.encode())) if len(text.encode()) < 406 else text


def _loc(r: Any) -> list[Any]:
    body = r.json()
    assert isinstance(body["detail"], list), body
    return body["detail"][0]["loc"]  # type: ignore[no-any-return]


# -- YAML ---------------------------------------------------------------------------------------------------------
def test_the_alias_bomb_is_refused_in_milliseconds_with_a_small_answer(client: TestClient, keys) -> None:
    bomb = alias_bomb()
    assert len(bomb.encode()) == 406
    client.post("/v1/rulesets/validate", json={"text": "x: 1"}, headers=keys["committee"])  # first request: warm
    started = time.perf_counter()
    r = client.post("/v1/rulesets/validate", json={"text": bomb, "filename": "bomb.yaml"}, headers=keys["committee"])
    elapsed = time.perf_counter() - started
    assert r.status_code == 422, r.text
    # a bound on the work, not a speed test: expanding the bomb takes minutes and gigabytes; refusing it
    # takes milliseconds (a generous bound, so a loaded machine does not fail it)
    assert elapsed < 2.0, f"{elapsed * 1000:.0f} ms"
    assert len(r.content) < 2048, len(r.content)
    assert "alias" in r.text or "anchor" in r.text


def test_a_draft_made_of_aliases_is_refused_and_nothing_is_stored(client: TestClient, keys, sessions) -> None:
    with sessions() as s:
        before = s.scalar(select(func.count()).select_from(RuleSetVersion))
    client.post("/v1/rulesets/validate", json={"text": "x: 1"}, headers=keys["committee"])  # first request: warm
    started = time.perf_counter()
    r = client.post("/v1/rulesets", json={"text": alias_bomb(), "filename": "bomb.yaml"}, headers=keys["committee"])
    assert r.status_code == 422 and time.perf_counter() - started < 2.0, r.text  # not expanded (see above)
    assert len(r.content) < 2048
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(RuleSetVersion)) == before


@pytest.mark.parametrize(
    "text",
    [
        "product: {code: x}\n" + "k: " + "[" * 5000 + "]" * 5000 + "\n",  # nesting
        "items: [" + ",".join(["1"] * 20_000) + "]\n",  # many nodes
        "x: &anchor 1\ny: 2\n",  # an anchor alone
    ],
    ids=["deep", "many-nodes", "anchor"],
)
def test_hostile_rule_set_shapes_are_refused_fast(client: TestClient, keys, text: str) -> None:
    client.post("/v1/rulesets/validate", json={"text": "x: 1"}, headers=keys["committee"])  # first request: warm
    started = time.perf_counter()
    r = client.post("/v1/rulesets/validate", json={"text": text}, headers=keys["committee"])
    assert r.status_code == 422, r.text
    assert time.perf_counter() - started < 2.0  # ~0.15 s alone: the scanner's cost up to the node cap
    assert len(r.content) < 2048


def test_an_invalid_value_is_echoed_cut_short(client: TestClient, keys) -> None:
    rules = Path("src/parkcredit/bundled/scoring_rules/chengxindai.yaml").read_text(encoding="utf-8")
    bad = rules.replace("version:", "version: " + repr("v" * 50_000) + "\nold_version:", 1)
    r = client.post("/v1/rulesets/validate", json={"text": bad}, headers=keys["committee"])
    assert r.status_code == 422 and len(r.content) < 2048, (r.status_code, len(r.content))


def test_cli_rules_validate_refuses_the_alias_bomb_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    started = time.monotonic()
    out = subprocess.run([str(CLI), "rules", "validate", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert time.monotonic() - started < 30  # the process start; the refusal itself is milliseconds
    assert "alias" in out.stderr + out.stdout or "anchor" in out.stderr + out.stdout
    assert len(out.stderr + out.stdout) < 2048


# -- JSON that Python reads and no JSON parser should -------------------------------------------------------------
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_get_422_naming_the_field(client: TestClient, keys, constant: str) -> None:
    body = (
        json.dumps(good_profile(1)).replace('"land_area_mu": null', "").rstrip("}") + f', "land_area_mu": {constant}}}'
    )
    r = client.post("/v1/enterprises", content=body, headers={**keys["committee"], "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert _loc(r) == ["body", "land_area_mu"]


def test_a_nested_nan_names_its_path(client: TestClient, keys) -> None:
    body = '{"uscc": "x", "products": ["chengxindai", NaN]}'
    r = client.post(
        "/v1/authorizations", content=body, headers={**keys["committee"], "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and _loc(r) == ["body", "products", 1], r.text


@pytest.mark.parametrize("where", ["value", "key"])
def test_a_lone_surrogate_gets_422_never_a_500(client: TestClient, keys, where: str) -> None:
    profile = json.dumps(good_profile(1), ensure_ascii=True)
    body = profile.replace('"name": "', '"name": "\\ud800', 1) if where == "value" else \
        profile.rstrip("}") + ', "\\udfff": 1}'  # fmt: skip
    r = client.post("/v1/enterprises", content=body, headers={**keys["committee"], "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert _loc(r)[:2] == ["body", "name"] if where == "value" else _loc(r)[0] == "body"
    r.content.decode("utf-8")  # the answer itself is valid UTF-8


def test_a_valid_surrogate_pair_is_a_character_and_is_kept(client: TestClient, keys) -> None:
    body = json.dumps(good_profile(1, name="自贡\U0001f600机械有限公司"), ensure_ascii=True)  # \ud83d\ude00
    r = client.post("/v1/enterprises", content=body, headers={**keys["committee"], "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "自贡\U0001f600机械有限公司"


def test_json_nested_too_deep_is_refused(client: TestClient, keys) -> None:
    for depth in (100, 200_000):
        body = "[" * depth + "]" * depth
        r = client.post(
            "/v1/decisions", content=body, headers={**keys["committee"], "Content-Type": "application/json"}
        )
        assert r.status_code == 422, (depth, r.text[:200])


# -- strings, ID numbers, dates -----------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["name", "park_id", "legal_rep_name", "legal_rep_id_hash", "env_credit_scheme"])
def test_long_strings_are_refused_and_not_echoed_whole(client: TestClient, keys, field: str) -> None:
    r = client.post("/v1/enterprises", json=good_profile(1, **{field: "长" * 10_000}), headers=keys["committee"])
    assert r.status_code == 422 and _loc(r) == ["body", field], r.text[:300]
    assert len(r.content) < 2048, len(r.content)


def test_a_long_string_in_an_authorization_product_is_refused(client: TestClient, keys) -> None:
    body = authorization(make_uscc(1), products=["x" * 10_000])
    r = client.post("/v1/authorizations", json=body, headers=keys["committee"])
    assert r.status_code == 422 and _loc(r) == ["body", "products", 0] and len(r.content) < 2048


@pytest.mark.parametrize("raw", ["51030219800101123X", "510302198001011234", "51030219800101123x"])
def test_a_raw_id_number_is_refused_by_the_json_api_as_by_the_importer(client: TestClient, keys, raw: str) -> None:
    r = client.post("/v1/enterprises", json=good_profile(1, legal_rep_id_hash=raw), headers=keys["committee"])
    assert r.status_code == 422 and _loc(r) == ["body", "legal_rep_id_hash"], r.text
    assert "ID" in r.text and "身份证" in r.text
    header = "uscc,name,as_of,legal_rep_id_hash\n"
    csv = header + f"{make_uscc(2)},自贡示范机械2有限公司,2025-06-30,{raw}\n"
    r = client.post("/v1/imports", files={"file": ("p.csv", csv.encode(), "text/csv")}, headers=keys["committee"])
    assert r.status_code == 200 and r.json()["rows_stored"] == 0, r.text
    assert [x["field"] for x in r.json()["rejected"]] == ["legal_rep_id_hash"]


def test_implausible_dates_are_refused_naming_the_field(client: TestClient, keys) -> None:
    today = dt.datetime.now(dt.UTC).date()
    cases = {
        "as_of": {"as_of": "2099-12-31"},
        "established_on": {"established_on": "2025-07-01"},  # as_of 2025-06-30
        "in_park_since": {"in_park_since": "2026-01-01"},
    }
    for field, change in cases.items():
        r = client.post("/v1/enterprises", json=good_profile(1, **change), headers=keys["committee"])
        assert r.status_code == 422 and _loc(r) == ["body", field], (field, r.text)
    tomorrow = str(today + dt.timedelta(days=1))
    ok = client.post("/v1/enterprises", json=good_profile(1, as_of=tomorrow), headers=keys["committee"])
    assert ok.status_code == 201, ok.text  # a day ahead (time zones) is fine


def test_an_import_refuses_implausible_dates_row_by_row(client: TestClient, keys, sessions) -> None:
    csv = ("uscc,name,as_of,established_on\n"
           f"{make_uscc(1)},甲有限公司,2025-06-30,2012-04-01\n"
           f"{make_uscc(2)},乙有限公司,2099-12-31,2012-04-01\n"
           f"{make_uscc(3)},丙有限公司,2025-06-30,2030-01-01\n")  # fmt: skip
    r = client.post("/v1/imports", files={"file": ("p.csv", csv.encode(), "text/csv")}, headers=keys["committee"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["rows_stored"] == 1
    assert sorted((x["row"], x["field"]) for x in out["rejected"]) == [(3, "as_of"), (4, "established_on")]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Snapshot)) == 1


def test_authorizations_for_ever_or_backwards_are_refused(client: TestClient, keys) -> None:
    client.post("/v1/enterprises", json=good_profile(1), headers=keys["committee"])
    today = dt.datetime.now(dt.UTC).date()
    for valid_to in ("9999-12-31", str(today.replace(year=today.year + 6))):
        r = client.post("/v1/authorizations", json=authorization(make_uscc(1), valid_to=valid_to),
                        headers=keys["committee"])  # fmt: skip
        assert r.status_code == 422 and _loc(r) == ["body", "valid_to"], r.text
    r = client.post("/v1/authorizations", json=authorization(make_uscc(1), valid_from=str(today),
                                                             valid_to=str(today - dt.timedelta(days=1))),
                    headers=keys["committee"])  # fmt: skip
    assert r.status_code == 422, r.text
    r = client.post("/v1/authorizations", json=authorization(make_uscc(1), valid_to=str(today.replace(year=today.year + 4))),
                    headers=keys["committee"])  # fmt: skip
    assert r.status_code == 201, r.text


def test_an_enterprise_granting_for_ever_is_refused_as_the_committee_is(client: TestClient, keys, settings) -> None:
    from rightsupport import enterprise_key

    client.post("/v1/enterprises", json=good_profile(1), headers=keys["committee"])
    me = enterprise_key(settings, make_uscc(1))
    today = dt.datetime.now(dt.UTC).date()
    grant = {"bank": "自贡银行", "products": ["chengxindai"], "valid_from": str(today), "purpose": "企业诚信贷申请"}
    r = client.post("/v1/me/authorizations", json={**grant, "valid_to": "9999-12-31"}, headers=me)
    assert r.status_code == 422 and _loc(r) == ["body", "valid_to"], r.text
    r = client.post("/v1/me/authorizations", json={**grant, "valid_to": str(today + dt.timedelta(days=90))}, headers=me)
    assert r.status_code == 201, r.text


# -- body size -----------------------------------------------------------------------------------------------------
@pytest.fixture
def small_client(db_url: str) -> Iterator[TestClient]:
    s = Settings(database_url=db_url, model_enabled=False, api_key_pepper=PEPPER, max_upload_bytes=64 * 1024,
                 max_json_bytes=16 * 1024)  # fmt: skip
    with TestClient(create_app(s)) as c:
        yield c


def test_a_json_body_over_the_limit_gets_413_before_it_is_read(small_client: TestClient, keys) -> None:
    big = json.dumps(good_profile(1, name="x" * 20_000))
    r = small_client.post(
        "/v1/enterprises", content=big, headers={**keys["committee"], "Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "body_too_large"


def test_a_streamed_body_without_length_is_cut_at_the_limit(small_client: TestClient, keys) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"uscc": "'
        for _ in range(1000):
            yield b"x" * 1024
        yield b'"}'

    r = small_client.post(
        "/v1/decisions", content=chunks(), headers={**keys["committee"], "Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text


@pytest.mark.parametrize("content_type", [b"application/json", b"multipart/form-data; boundary=x"])
def test_the_guard_stops_reading_at_the_first_chunk_past_the_limit(content_type: bytes) -> None:
    """At the ASGI level: a 10 MB body without Content-Length is read only up to the limit, then refused."""
    import asyncio

    from parkcredit.middleware import RequestGuard

    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": pulled < 10_000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive_: Any, send_: Any) -> None:
        while (await receive_()).get("more_body"):  # an app reading everything it is given
            pass
        await send_({"type": "http.response.start", "status": 200, "headers": []})
        await send_({"type": "http.response.body", "body": b"read it all"})

    guard = RequestGuard(app, max_upload_bytes=16 * 1024, max_json_bytes=16 * 1024)
    scope = {"type": "http", "method": "POST", "path": "/v1/x", "headers": [(b"content-type", content_type)]}
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 413
    assert pulled <= 17, f"{pulled} KiB read"


def test_an_upload_over_the_limit_gets_413(small_client: TestClient, keys) -> None:
    data = b"uscc,name,as_of\n" + b"x" * (100 * 1024)
    r = small_client.post("/v1/imports", files={"file": ("p.csv", data, "text/csv")}, headers=keys["committee"])
    assert r.status_code == 413, r.text
    ok = small_client.post("/v1/imports", files={"file": ("p.csv", b"uscc,name,as_of\n", "text/csv")},
                           headers=keys["committee"])  # fmt: skip
    assert ok.status_code in (200, 422), ok.text  # under the limit: the importer answers


def test_a_chunked_upload_over_the_limit_gets_413(small_client: TestClient, keys) -> None:
    boundary = "pcboundary"

    def chunks() -> Iterator[bytes]:
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
               "Content-Type: text/csv\r\n\r\nuscc,name,as_of\n").encode()  # fmt: skip
        for _ in range(1000):
            yield b"y" * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    r = small_client.post(
        "/v1/imports",
        content=chunks(),
        headers={**keys["committee"], "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413, r.text


# -- an empty, unmigrated database ---------------------------------------------------------------------------------
@pytest.fixture
def bare_client(tmp_path: Path) -> Iterator[TestClient]:
    s = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", model_enabled=False, api_key_pepper=PEPPER)
    with TestClient(create_app(s)) as c:
        yield c


def test_an_unmigrated_database_gives_503_on_the_api_and_a_page_under_web(bare_client: TestClient) -> None:
    r = bare_client.get("/v1/jobs/x", headers={"Authorization": "Bearer pck_anything"})
    assert r.status_code == 503 and r.json()["error"] == "database_not_migrated", r.text
    assert "Retry-After" in r.headers
    r = bare_client.post("/web/login", data={"key": "pck_anything"})
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("text/html") and "<html" in r.text
    assert "db upgrade" in r.text


def test_an_unmigrated_postgresql_database_gives_503() -> None:
    import os

    from parkcredit.store import testing
    from parkcredit.store.db import make_engine

    if (why := testing.pg_available()) is not None:
        pytest.skip(f"PostgreSQL unreachable: {why}")
    schema = f"pc_empty_{os.getpid()}"
    engine = make_engine(testing.PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    try:
        s = Settings(database_url=testing.pg_schema_url(schema), model_enabled=False, api_key_pepper=PEPPER)
        with TestClient(create_app(s)) as c:
            r = c.get("/v1/jobs/x", headers={"Authorization": "Bearer pck_anything"})
            assert r.status_code == 503 and r.json()["error"] == "database_not_migrated", r.text
            r = c.post("/web/login", data={"key": "pck_anything"})
            assert r.status_code == 503 and "<html" in r.text
    finally:
        testing.drop_pg(schema)


# -- headers -------------------------------------------------------------------------------------------------------
def test_every_response_carries_the_security_headers(client: TestClient, keys) -> None:
    for r in (client.get("/healthz"), client.get("/web/login"), client.get("/v1/jobs/x", headers=keys["committee"]),
              client.post("/v1/decisions", content=b"[NaN]", headers=keys["committee"])):  # fmt: skip
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
