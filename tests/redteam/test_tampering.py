"""Red team: an attacker with write access to the database (SQLite file or PostgreSQL) edits facts.

Each case runs a realistic workload through the API, tampers with one table the way an attacker
would (plain SQL, recomputing the obvious hashes), then asks `audit verify` (API and CLI). Every case
must be reported by table and row — or, for the chain's own tail, by the signed checkpoints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dbsupport import authorization, good_profile, make_uscc
from parkcredit.cli import app as cli_app
from parkcredit.settings import get_settings
from parkcredit.store import audit, binding
from parkcredit.store.audit import canonical, entry_hash, sha256_hex
from parkcredit.store.tables import AuditEntry, Decision
from parkcredit.web.auth import LANG_COOKIE

pytestmark = pytest.mark.tampers


def _sha(t: str) -> str:
    return hashlib.sha256(t.encode()).hexdigest()


def _current(i: int) -> dict[str, Any]:
    """A healthy profile as of ten days ago, its annual grades of last year (so a loan can rely on its decision)."""
    today = dt.date.today()
    return good_profile(i, legal_rep_name="李四", as_of=str(today - dt.timedelta(days=10)),
                        tax_credit_year=today.year - 1, mu_eval_year=today.year - 1,
                        annual_report_filed_year=today.year - 1)  # fmt: skip


@pytest.fixture
def world(client: TestClient, keys: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Two enterprises, decisions, an authorization (one revoked), an outcome, an override, an erasure-free PII row."""
    h = keys["committee"]
    for i in (1, 2):
        assert client.post("/v1/enterprises", json=_current(i), headers=h).status_code == 201
    d1 = client.post("/v1/decisions", json={"uscc": make_uscc(1), "product": "chengxindai"}, headers=h).json()
    d2 = client.post("/v1/decisions", json={"uscc": make_uscc(2), "product": "chengxindai"}, headers=h).json()
    a1 = client.post("/v1/authorizations", json=authorization(make_uscc(1)), headers=h).json()
    a2 = client.post("/v1/authorizations", json=authorization(make_uscc(2)), headers=h).json()
    assert client.delete(f"/v1/authorizations/{a2['authorization_id']}", headers=h).status_code == 200
    assert client.get(f"/v1/eligibility/{make_uscc(1)}?product=chengxindai", headers=keys["bank"]).status_code == 200
    out = {"uscc": make_uscc(1), "product": "chengxindai", "decision_id": d1["decision_id"],
           "disbursed_yuan": 500_000, "disbursed_on": str(dt.date.today()), "status": "current"}  # fmt: skip
    reported = client.post("/v1/outcomes", json=out, headers=keys["bank"])
    assert reported.status_code == 201, reported.text
    ov = {"eligible": True, "limit_yuan": 1_000_000, "reason_code": "RISK_CONCERN", "reason": "实地走访，压降额度"}
    ovr = client.post(f"/v1/decisions/{d1['decision_id']}/overrides", json=ov, headers=h)
    assert ovr.status_code == 201, ovr.text
    clean = client.get("/v1/audit/verify", headers=keys["auditor"]).json()
    assert clean["ok"], json.dumps(clean, indent=1, ensure_ascii=False)
    assert clean["rows_checked"] > 10 and clean["row_problems"] == []
    return {"d1": d1, "d2": d2, "a1": a1, "a2": a2}


@pytest.fixture
def cli_env(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The CLI pointed at the test's database and data dir (settings are cached per process)."""
    monkeypatch.setenv("PARKCREDIT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PARKCREDIT_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _sql(url: str, statement: str, **params: Any) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
    finally:
        engine.dispose()


def _one(url: str, statement: str, **params: Any) -> Any:
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text(statement), params).first()
    engine.dispose()
    return row


def _problems(client: TestClient, keys: dict[str, dict[str, str]]) -> set[tuple[str, str, str]]:
    r = client.get("/v1/audit/verify", headers=keys["auditor"]).json()
    assert r["ok"] is False, r
    return {(p["table"], p["id"], p["problem"]) for p in r["row_problems"]}


# (name, SQL, table, which id, expected problems): `:d1` etc. are bound from the world
CASES = [
    (
        "decision eligible flipped",
        "UPDATE decisions SET eligible = NOT eligible WHERE id = :d1",
        "decisions",
        "d1",
        {"altered", "inconsistent"},
    ),
    (
        "decision limit raised",
        "UPDATE decisions SET limit_yuan = 3000000 WHERE id = :d1",
        "decisions",
        "d1",
        {"altered", "inconsistent"},
    ),
    (
        "authorization un-revoked",
        "UPDATE authorizations SET revoked_at = NULL, revoked_by = NULL WHERE id = :a2",
        "authorizations",
        "a2",
        {"altered"},
    ),
    (
        "authorization extended to 2099",
        "UPDATE authorizations SET valid_to = '2099-12-31' WHERE id = :a1",
        "authorizations",
        "a1",
        {"altered"},
    ),
    (
        "loan marked repaid",
        "UPDATE loans SET status = 'repaid', principal_outstanding_yuan = 0",
        "loans",
        "1",
        {"altered"},
    ),
    ("override limit edited", "UPDATE overrides SET limit_yuan = 3000000", "overrides", "1", {"altered"}),
    (
        "legal representative renamed",
        "UPDATE snapshot_pii SET legal_rep_name = '张三' WHERE snapshot_id = 1",
        "snapshot_pii",
        "1",
        {"altered"},
    ),
    ("bank query log deleted", "DELETE FROM bank_queries", "bank_queries", "1", {"deleted"}),
    (
        "bank key made an admin",
        "UPDATE api_keys SET role = 'admin' WHERE role = 'bank' AND bank = '自贡银行'",
        "api_keys",
        None,
        {"altered"},
    ),
]


@pytest.mark.parametrize(("name", "sql", "table", "which", "expected"), CASES, ids=[c[0] for c in CASES])
def test_an_edited_fact_row_is_reported_by_table_and_id(
    client: TestClient, keys: dict[str, dict[str, str]], settings: Any, world: dict[str, Any],
    name: str, sql: str, table: str, which: str | None, expected: set[str],
) -> None:  # fmt: skip
    ids = {"d1": world["d1"]["decision_id"], "a1": world["a1"]["authorization_id"],
           "a2": world["a2"]["authorization_id"]}  # fmt: skip
    _sql(settings.database_url, sql, **{k: v for k, v in ids.items() if f":{k}" in sql})
    found = _problems(client, keys)
    hits = {(t, i, p) for t, i, p in found if t == table and (which is None or i == ids.get(which, which))}
    assert {p for _, _, p in hits} == expected, found


def test_a_snapshot_edited_with_its_hash_recomputed_is_reported(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    """A field no rule reads (the park), edited with content_sha256 recomputed: replay would not notice."""
    row = _one(settings.database_url, "SELECT id, profile FROM snapshots ORDER BY id LIMIT 1")
    profile = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    profile["park_id"] = "elsewhere"
    body = json.dumps(profile, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    _sql(settings.database_url, "UPDATE snapshots SET profile = :p, content_sha256 = :h, park_id = 'elsewhere' "
         "WHERE id = :i", p=body, h=_sha(body), i=row[0])  # fmt: skip
    assert ("snapshots", str(row[0]), "altered") in _problems(client, keys)


def test_a_decision_record_rewritten_consistently_is_reported(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    """Record, its sha256 and the columns all rewritten together: only the chain's binding tells."""
    d1 = world["d1"]["decision_id"]
    record = json.loads(_one(settings.database_url, "SELECT record FROM decisions WHERE id = :i", i=d1)[0])
    record["limit_yuan"] = 3_000_000
    body = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    _sql(settings.database_url, "UPDATE decisions SET record = :r, record_sha256 = :h, limit_yuan = 3000000 "
         "WHERE id = :i", r=body, h=_sha(body), i=d1)  # fmt: skip
    assert ("decisions", d1, "altered") in _problems(client, keys)


def test_a_decision_record_edited_alone_is_altered_and_inconsistent(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    """The record's text changed, its sha256 column not: the form-2 digest hashes the record itself."""
    d1 = world["d1"]["decision_id"]
    _sql(settings.database_url, "UPDATE decisions SET record = REPLACE(record, '企业', '公司') WHERE id = :i", i=d1)
    problems = {p for t, i, p in _problems(client, keys) if (t, i) == ("decisions", d1)}
    assert problems == {"altered", "inconsistent"}


def _decision_row(url: str, decision_id: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(select(Decision.__table__).where(Decision.id == decision_id)).mappings().one())
    finally:
        engine.dispose()


def _append(url: str, refs: list[dict[str, Any]]) -> None:
    """An entry binding `refs`, appended as the service would (chain lock, link, hash)."""
    engine = create_engine(url)
    try:
        with Session(engine) as session, session.begin():
            audit.append(session, "test", "audit.rebind", "table", "decisions", {"reason": "test"}, bind_refs=refs)
    finally:
        engine.dispose()


def test_decisions_are_bound_by_their_record_hash_in_digest_form_2(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    d1 = world["d1"]["decision_id"]
    entries = client.get("/v1/audit/log?limit=1000", headers=keys["auditor"]).json()["items"]
    refs = [r for e in entries for r in (e["payload"].get("rows") or []) if r["id"] == d1]
    assert refs and all(r["table"] == "decisions" and r["form"] == 2 for r in refs), refs
    row = _decision_row(settings.database_url, d1)
    assert refs[-1]["sha256"] == binding.digest_values(row, table="decisions", form=2)
    assert refs[-1]["sha256"] != binding.digest_values(row)  # form 1 (the whole text) is another digest
    short = {**row, "record": "sha256:" + _sha(row["record"])}
    assert refs[-1]["sha256"] == binding.digest_values(short)  # form 2 is form 1 of the row with the record hashed


def test_a_binding_in_form_1_still_verifies_and_still_finds_an_edit(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    """Entries written before form 2 bound the record's whole text and carry no `form`: still checked so."""
    d2 = world["d2"]["decision_id"]
    row = _decision_row(settings.database_url, d2)
    _append(settings.database_url, [{"table": "decisions", "id": d2, "sha256": binding.digest_values(row)}])
    assert client.get("/v1/audit/verify", headers=keys["auditor"]).json()["ok"] is True
    _sql(settings.database_url, "UPDATE decisions SET record = REPLACE(record, '企业', '公司') WHERE id = :i", i=d2)
    assert ("decisions", d2, "altered") in _problems(client, keys)


def test_a_binding_in_an_unknown_digest_form_is_reported_not_a_crash(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    d2 = world["d2"]["decision_id"]
    row = _decision_row(settings.database_url, d2)
    sha = binding.digest_values(row, table="decisions", form=2)
    _append(settings.database_url, [{"table": "decisions", "id": d2, "sha256": sha, "form": 99}])
    assert ("decisions", d2, "altered") in _problems(client, keys)


def test_a_row_inserted_behind_the_service_is_unbound(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    a = world["a1"]
    _sql(
        settings.database_url,
        "INSERT INTO authorizations (id, uscc, bank, products, valid_from, valid_to, scope, purpose, evidence_ref, "
        "created_by, created_at) SELECT 'forged', uscc, '富顺农商银行', products, valid_from, '2099-12-31', scope, "
        "purpose, evidence_ref, created_by, created_at FROM authorizations WHERE id = :i",
        i=a["authorization_id"],
    )
    assert ("authorizations", "forged", "unbound") in _problems(client, keys)


def test_a_deleted_decision_is_reported(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    d2 = world["d2"]["decision_id"]
    _sql(settings.database_url, "DELETE FROM decisions WHERE id = :i", i=d2)
    assert ("decisions", d2, "deleted") in _problems(client, keys)


def test_the_cli_exits_non_zero_naming_the_row(client, keys, settings, world, cli_env) -> None:  # type: ignore[no-untyped-def]
    ok = CliRunner().invoke(cli_app, ["audit", "verify"])
    assert ok.exit_code == 0 and "rows match" in ok.output, ok.output + str(ok.exception)
    _sql(settings.database_url, "UPDATE decisions SET limit_yuan = 1 WHERE id = :i", i=world["d1"]["decision_id"])
    bad = CliRunner().invoke(cli_app, ["audit", "verify"])
    assert bad.exit_code == 1 and f"row decisions {world['d1']['decision_id']}: altered" in bad.output


# -- the chain's tail: only checkpoints kept outside can tell


def _checkpoint(client: TestClient, keys: dict[str, dict[str, str]]) -> str:
    r = client.post("/v1/audit/checkpoints", headers=keys["auditor"])
    assert r.status_code == 201, r.text
    return client.get("/v1/audit/checkpoints", headers=keys["auditor"]).text


def _verify_with(client: TestClient, keys: dict[str, dict[str, str]], kept: str) -> dict[str, Any]:
    r = client.post("/v1/audit/verify", json={"checkpoints": kept}, headers=keys["auditor"])
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _rehash_from(url: str, seq: int) -> None:
    """Recompute prev_hash/hash of every entry from `seq` on, as an attacker who knows the scheme would."""
    engine = create_engine(url)
    with engine.begin() as conn:
        prev = conn.execute(text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": seq - 1}).scalar() or "0" * 64
        rows = conn.execute(text("SELECT seq, ts, actor, action, object_type, object_id, payload_sha256 FROM "
                                 "audit_log WHERE seq >= :s ORDER BY seq"), {"s": seq}).all()  # fmt: skip
        for r in rows:
            e = AuditEntry(seq=r[0], ts=r[1], actor=r[2], action=r[3], object_type=r[4], object_id=r[5],
                           payload_sha256=r[6], prev_hash=prev)  # fmt: skip
            new = entry_hash(e)
            conn.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": new, "s": r[0]})  # fmt: skip
            prev = new
    engine.dispose()


def test_truncating_the_tail_is_found_by_a_checkpoint(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    kept = _checkpoint(client, keys)
    head = _one(settings.database_url, "SELECT max(seq) FROM audit_log")[0]
    _sql(settings.database_url, "DELETE FROM audit_log WHERE seq > :s", s=head - 3)
    plain = client.get("/v1/audit/verify?", headers=keys["auditor"])  # the service's own file is the same checkpoint
    assert plain.json()["ok"] is False
    r = _verify_with(client, keys, kept)
    assert r["ok"] is False and [p["kind"] for p in r["checkpoint_problems"]] == ["truncated"], r


def test_a_forged_append_after_deleting_the_tail_is_found(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    kept = _checkpoint(client, keys)
    head = _one(settings.database_url, "SELECT max(seq), hash FROM audit_log GROUP BY hash ORDER BY 1 DESC LIMIT 1")
    _sql(settings.database_url, "DELETE FROM audit_log WHERE seq = :s", s=head[0])
    prev = _one(settings.database_url, "SELECT hash FROM audit_log WHERE seq = :s", s=head[0] - 1)[0]
    payload = {"note": "nothing happened"}
    e = AuditEntry(seq=head[0], ts="2026-01-01T00:00:00.000000+00:00", actor="system", action="noop",
                   object_type="x", object_id="x", payload=payload, payload_sha256=sha256_hex(canonical(payload)),
                   prev_hash=prev)  # fmt: skip
    e.hash = entry_hash(e)
    _sql(
        settings.database_url,
        "INSERT INTO audit_log (seq, ts, actor, action, object_type, object_id, payload, payload_sha256, prev_hash,"
        " hash) VALUES (:seq, :ts, 'system', 'noop', 'x', 'x', :payload, :ps, :prev, :h)",
        seq=e.seq,
        ts=e.ts,
        payload=json.dumps(payload),
        ps=e.payload_sha256,
        prev=prev,
        h=e.hash,
    )
    r = _verify_with(client, keys, kept)
    assert r["first_bad_seq"] is None  # the chain alone is consistent ...
    assert r["ok"] is False and [p["kind"] for p in r["checkpoint_problems"]] == ["rewritten"], (
        r
    )  # ... the checkpoint is not


def test_rewriting_the_chain_from_a_row_onward_is_found(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    kept = _checkpoint(client, keys)
    payload = {"uscc": make_uscc(1), "sha256": "f" * 64}
    _sql(settings.database_url, "UPDATE audit_log SET payload = :p, payload_sha256 = :h WHERE seq = 5",
         p=json.dumps(payload), h=sha256_hex(canonical(payload)))  # fmt: skip
    _rehash_from(settings.database_url, 5)
    r = _verify_with(client, keys, kept)
    assert r["first_bad_seq"] is None
    assert r["ok"] is False and [p["kind"] for p in r["checkpoint_problems"]] == ["rewritten"], r


def test_a_forged_checkpoint_is_refused(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    kept = json.loads(_checkpoint(client, keys).splitlines()[-1])
    kept["seq"] += 100  # claims a longer chain: its signature no longer holds
    r = _verify_with(client, keys, json.dumps(kept))
    assert r["ok"] is False and "signature does not verify" in r["checkpoint_problems"][0]["detail"]


def test_cli_checkpoint_then_verify_names_the_truncation(client, keys, settings, world, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         cli_env) -> None:  # fmt: skip
    kept = tmp_path / "kept.jsonl"
    assert CliRunner().invoke(cli_app, ["audit", "checkpoint", "--out", str(kept)]).exit_code == 0
    good = CliRunner().invoke(cli_app, ["audit", "verify", "--checkpoints", str(kept)])
    assert good.exit_code == 0 and "1 checkpoint(s) agree" in good.output, good.output
    _sql(settings.database_url, "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
    bad = CliRunner().invoke(cli_app, ["audit", "verify", "--checkpoints", str(kept)])
    assert bad.exit_code == 1 and "truncation" in bad.output


# -- the lifecycle in the database itself


def test_a_published_rule_set_cannot_go_back_to_draft_in_the_database(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DBAPIError):
        _sql(settings.database_url, "UPDATE ruleset_versions SET status = 'draft' WHERE status = 'published'")
    with pytest.raises(DBAPIError):
        _sql(settings.database_url, "UPDATE ruleset_versions SET status = 'approved' WHERE status = 'published'")
    rid = _one(settings.database_url, "SELECT id FROM ruleset_versions WHERE status = 'published' LIMIT 1")[0]
    _sql(settings.database_url, "UPDATE ruleset_versions SET status = 'retired' WHERE id = :i", i=rid)  # allowed
    with pytest.raises(DBAPIError):
        _sql(settings.database_url, "UPDATE ruleset_versions SET status = 'published' WHERE id = :i", i=rid)


def test_the_service_signs_its_own_checkpoints_at_an_interval(settings, keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import time

    from parkcredit.server import create_app

    fast = settings.model_copy(update={"audit_checkpoint_interval_s": 0.2})
    with TestClient(create_app(fast)) as c:
        assert c.post("/v1/enterprises", json=good_profile(1), headers=keys["committee"]).status_code == 201
        # the writer signs the head each interval once it moved: wait until its newest checkpoint is the head
        # verify sees (an entry appended between the two reads only means one more interval)
        deadline = time.monotonic() + 10
        while True:
            lines = c.get("/v1/audit/checkpoints", headers=keys["auditor"]).text.splitlines()
            head = c.get("/v1/audit/verify", headers=keys["auditor"]).json()
            if (lines and json.loads(lines[-1])["head_hash"] == head["head_hash"]) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert lines, "no checkpoint written by the service"
        assert (
            head["ok"] and head["checkpoints_checked"] >= 1 and json.loads(lines[-1])["head_hash"] == head["head_hash"]
        )


def test_the_auditor_page_names_the_altered_row_in_chinese(client, keys, settings, world) -> None:  # type: ignore[no-untyped-def]
    d1 = world["d1"]["decision_id"]
    _sql(settings.database_url, "UPDATE decisions SET limit_yuan = 3000000 WHERE id = :i", i=d1)
    token = keys["auditor"]["Authorization"].removeprefix("Bearer ")
    assert client.post("/web/login", data={"key": token, "next": "/web/"}, follow_redirects=False).status_code == 303
    client.cookies.set(LANG_COOKIE, "zh")
    page = client.get("/web/audit")
    assert page.status_code == 200
    assert 'id="row-problems"' in page.text and d1 in page.text and "内容被改动" in page.text
    assert "列值与记录本身不符" in page.text
