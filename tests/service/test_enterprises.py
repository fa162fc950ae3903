"""Profiles in: snapshots, imports, and bad input as 422 naming the field."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dbsupport import good_profile, make_uscc
from parkcredit.store.tables import Snapshot, SnapshotPii


def test_profile_becomes_snapshot_without_personal_data(client: TestClient, keys, sessions) -> None:
    r = client.post("/v1/enterprises", json=good_profile(1), headers=keys["committee"])
    assert r.status_code == 201, r.text
    sid = r.json()["snapshot_id"]
    got = client.get(f"/v1/enterprises/{make_uscc(1)}", headers=keys["auditor"]).json()
    assert got["snapshot"]["snapshot_id"] == sid
    assert "legal_rep_name" not in got["snapshot"]["profile"]
    with sessions() as s:
        assert s.get(SnapshotPii, sid).legal_rep_name == "张三"


def test_snapshots_are_appended_newest_first(client: TestClient, keys) -> None:
    for as_of in ("2025-03-31", "2025-06-30"):
        client.post("/v1/enterprises", json=good_profile(1, as_of=as_of), headers=keys["committee"])
    snaps = client.get(f"/v1/enterprises/{make_uscc(1)}/snapshots", headers=keys["committee"]).json()
    assert [x["as_of"] for x in snaps] == ["2025-06-30", "2025-03-31"]


def _error(client: TestClient, keys, **override) -> tuple[int, list]:
    r = client.post("/v1/enterprises", json=good_profile(1, **override), headers=keys["committee"])
    return r.status_code, r.json()["detail"]


def test_wrong_check_character_is_422_on_uscc(client: TestClient, keys) -> None:
    code = make_uscc(1)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    status, detail = _error(client, keys, uscc=wrong)
    assert status == 422 and detail[0]["loc"] == ["body", "uscc"] and "check character" in detail[0]["msg"]


def test_negative_revenue_is_422_on_the_field(client: TestClient, keys) -> None:
    status, detail = _error(client, keys, revenue_yuan_y1=-5)
    assert status == 422 and detail[0]["loc"] == ["body", "revenue_yuan_y1"]


def test_unknown_grade_is_422_on_the_field(client: TestClient, keys) -> None:
    status, detail = _error(client, keys, tax_credit_grade="E")
    assert status == 422 and detail[0]["loc"] == ["body", "tax_credit_grade"]


def test_bad_uscc_in_path_is_422(client: TestClient, keys) -> None:
    r = client.get("/v1/enterprises/91510311MA6000001X", headers=keys["committee"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "uscc"]


def test_unknown_enterprise_is_404(client: TestClient, keys) -> None:
    assert client.get(f"/v1/enterprises/{make_uscc(99)}", headers=keys["committee"]).status_code == 404


def _csv(rows: list[dict]) -> bytes:
    cols = list(rows[0])
    lines = [",".join(cols)] + [",".join("" if r.get(c) is None else str(r[c]) for c in cols) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def test_import_stores_good_rows_and_reports_bad_ones(client: TestClient, keys, sessions) -> None:
    rows = [good_profile(i) for i in range(1, 5)]
    rows[2]["revenue_yuan_y1"] = -1
    r = client.post("/v1/imports", files={"file": ("park.csv", _csv(rows), "text/csv")}, headers=keys["committee"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows_read"], body["rows_stored"], body["rows_rejected"]) == (4, 3, 1)
    assert body["rejected"][0]["field"] == "revenue_yuan_y1" and body["rejected"][0]["row"] == 4
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Snapshot)) == 3


def test_strict_import_stores_nothing_when_a_row_is_bad(client: TestClient, keys, sessions) -> None:
    rows = [good_profile(i) for i in range(1, 5)]
    rows[0]["uscc"] = "not-a-code"
    r = client.post(
        "/v1/imports?strict=true", files={"file": ("p.csv", _csv(rows), "text/csv")}, headers=keys["committee"]
    )
    assert r.status_code == 422 and r.json()["rows_stored"] == 0
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Snapshot)) == 0


def test_import_of_an_unknown_file_type_is_422(client: TestClient, keys) -> None:
    r = client.post("/v1/imports", files={"file": ("p.txt", b"x", "text/plain")}, headers=keys["committee"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]


def test_idempotent_retry_returns_the_stored_response_and_creates_nothing(client: TestClient, keys, sessions) -> None:
    h = {**keys["committee"], "Idempotency-Key": "abc-1"}
    first = client.post("/v1/enterprises", json=good_profile(1), headers=h)
    again = client.post("/v1/enterprises", json=good_profile(1), headers=h)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Snapshot)) == 1
    other = client.post("/v1/enterprises", json=good_profile(2), headers=h)
    assert other.status_code == 409


def test_number_too_large_for_the_decision_frame_is_422(client: TestClient, keys) -> None:
    status, detail = _error(client, keys, registered_capital_yuan=10**400)
    assert status == 422 and detail[0]["loc"] == ["body", "registered_capital_yuan"]


def test_text_the_database_cannot_store_is_422_not_500(client: TestClient, keys) -> None:
    r = client.post("/v1/enterprises", json=good_profile(1, name="自贡\x00机械"), headers=keys["committee"])
    assert r.status_code in (201, 422)  # SQLite stores NUL; PostgreSQL refuses it -> 422
