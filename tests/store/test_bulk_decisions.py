"""The batch job stores its decisions in bulk (issue 18) — and stores the same thing the per-row path would.

Per chunk: one insert (executemany on SQLite, COPY on PostgreSQL) and ONE audit entry that names each
decision with its record hash and binds every row with the digest of exactly the values inserted.
Checked here on both databases through the real service: every digest equals `binding.digest` of the
row read back, `audit verify` finds the chain and every row intact, replay is byte-identical, and a
failed job resumed goes on after its last stored chunk without storing any decision twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import dbsupport
from dbsupport import PEPPER, good_profile, make_uscc
from parkcredit.app import batch
from parkcredit.app.reports import report_context
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store import audit, binding, bulk
from parkcredit.store import rulesets as store_rulesets
from parkcredit.store.tables import AuditEntry, Decision, Job

N = 23
CHUNK = 5
keys = dbsupport.keys  # the fixture: auth headers by role


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, model_enabled=False, api_key_pepper=PEPPER, batch_chunk=CHUNK)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def _profiles() -> list[dict[str, Any]]:
    """Healthy, knocked-out, not-applicable and data-poor enterprises, names with quotes and backslashes."""
    out = []
    for i in range(1, N + 1):
        p = good_profile(i, name=f'自贡"示范"\\机械{i}\t有限公司')
        if i % 4 == 1:
            p["dishonest_debtor_enterprise"] = True
        if i % 4 == 2:
            p["established_on"] = "2025-01-01"
        if i % 4 == 3:
            for k in ("tax_credit_grade", "env_credit_level", "hazard_rectification_rate", "revenue_yuan_y2"):
                p[k] = None
        out.append(p)
    return out


def _load(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    for p in _profiles():
        r = client.post("/v1/enterprises", json=p, headers=keys["committee"])
        assert r.status_code in (200, 201), r.text


def test_one_audit_entry_per_chunk_binds_every_decision_with_its_read_back_digest(client: TestClient, keys) -> None:
    _load(client, keys)
    job = dbsupport.batch_job(client, keys)
    assert job["status"] == "done" and job["done"] == N, job
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        rows = {d.id: d for d in session.scalars(select(Decision))}
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "decision.batch")))
        assert len(rows) == N
        assert len(entries) == math.ceil(N / CHUNK)  # ONE entry per chunk
        bound = {r["id"]: r["sha256"] for e in entries for r in e.payload["rows"] if r["table"] == "decisions"}
        named = {i: sha for e in entries for i, sha in e.payload["decisions"].items()}
        assert set(bound) == set(named) == set(rows)
        for d in rows.values():
            assert bound[d.id] == binding.digest(d), d.id  # the digest of the row as read back
            assert named[d.id] == d.record_sha256 == hashlib.sha256(d.record.encode()).hexdigest()
            assert all(e.object_id == job["job_id"] for e in entries)
        check = audit.verify(session)
        assert check.ok and check.row_problems_total == 0, (check.reason, check.row_problems[:3])
        assert {json.loads(d.record)["status"] for d in rows.values()} == {"ELIGIBLE", "INELIGIBLE", "NOT_APPLICABLE"}
    for decision_id in rows:
        r = client.post(f"/v1/decisions/{decision_id}/replay", headers=keys["auditor"])
        assert r.status_code == 200 and r.json()["identical"], r.text
    report = report_context(client.app.state.ctx, next(iter(rows)))  # type: ignore[attr-defined]
    assert report.audit_check["found"] and report.audit_check["ok"], report.audit_check  # the chunk's entry


def test_a_row_stored_in_bulk_reads_back_with_the_digest_it_was_bound_with(client: TestClient, settings) -> None:
    """Awkward values through COPY / executemany: quotes, backslashes, tabs, newlines, CJK, no date."""
    texts = ['{"a":"x\\"y\\\\z","b":"企业\\t\\n","c":[1.5,null]}', '{"k":"\\\\\\\\","z":"\\u0000"}']
    rows = bulk.DecisionRows(
        ids=["bulk-1", "bulk-2"], snapshot_ids=[0, 0], uscc=[make_uscc(1), make_uscc(2)],
        eligible=np.array([True, False]), limit_yuan=np.array([1_230_000, 0]), band=["A", "D"],
        total_score=np.array([87.1234, 0.1]), valid_until=[dt.date(2026, 12, 31), None],
        records=[t.encode() for t in texts],
    )  # fmt: skip
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.write() as session:
        snap_ids = _snapshots(client, session, 2)
        rows.snapshot_ids = snap_ids
        rs = ctx.product("chengxindai")
        rs_row = store_rulesets.stored_for_use(
            session, product=rs.product, version=rs.version, content_hash=rs.content_hash, text=rs.text,
            effective_from=rs.spec.effective_from,
        )  # fmt: skip
        stored = bulk.add_decisions(
            session, rows, product="chengxindai", ruleset=rs_row, model_version=None,
            model_status='err\t"x"\n\\ 模型', actor="试验\\key", object_type="job", object_id="j-1", payload={},
        )  # fmt: skip
    with ctx.read() as session:
        for ref, text in zip(stored.refs, texts, strict=True):
            d = session.get(Decision, ref["id"])
            assert d is not None and d.record == text
            assert binding.digest(d) == ref["sha256"]
            assert d.model_status == 'err\t"x"\n\\ 模型' and d.created_by == "试验\\key"


def _snapshots(client: TestClient, session: Any, n: int) -> list[int]:
    from parkcredit.store import snapshots

    return [snapshots.add(session, profile=good_profile(i), actor="test").id for i in range(1, n + 1)]


def test_a_failed_batch_resumes_after_its_last_stored_chunk_without_duplicates(
    client: TestClient, keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(client, keys)
    real = dbsupport.fail_store_chunk_at(monkeypatch, 3)
    job = dbsupport.batch_job(client, keys)
    assert job["status"] == "failed" and "disk full" in job["error"]
    assert job["done"] == 2 * CHUNK and job["result"]["progress"]["decided"] == 2 * CHUNK
    monkeypatch.setattr(batch, "store_chunk", real)
    r = client.post(f"/v1/jobs/{job['job_id']}/resume", headers=keys["committee"])
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    done = dbsupport.wait_job(client, keys, job["job_id"])
    assert done["status"] == "done" and done["done"] == N, done
    assert done["result"]["decided"] == N
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        snaps = list(session.scalars(select(Decision.snapshot_id)))
        assert len(snaps) == len(set(snaps)) == N  # every enterprise once: none twice, none missed
        assert (
            session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "job.resume")) == 1
        )
        assert session.get(Job, job["job_id"]).error is None  # type: ignore[union-attr]
        check = audit.verify(session)
        assert check.ok and check.row_problems_total == 0, (check.reason, check.row_problems[:3])
    again = client.post(f"/v1/jobs/{job['job_id']}/resume", headers=keys["committee"])
    assert again.status_code == 409 and "only a failed batch job" in again.text
    assert client.post("/v1/jobs/no-such-job/resume", headers=keys["committee"]).status_code == 404
    assert client.post(f"/v1/jobs/{job['job_id']}/resume", headers=keys["bank"]).status_code == 403
