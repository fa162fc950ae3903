"""Shared by tests/service and tests/store: a fresh migrated database per test (SQLite, PostgreSQL), app, keys."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from parkcredit.profile.uscc import check_char
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store import keys as keystore
from parkcredit.store import testing
from parkcredit.store.db import make_engine, make_sessionmaker, write_session

PEPPER = "test-pepper"
BANK = "自贡银行"
OTHER_BANK = "富顺农商银行"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return testing.prepare_sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def _pg_schema() -> Iterator[str]:
    reason = testing.pg_available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL unreachable in CI: {reason}")
        pytest.skip(f"PostgreSQL unreachable: {reason}")
    schema = f"pc_test_{os.getpid()}"
    url = testing.prepare_pg(schema)
    yield url
    testing.drop_pg(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated, empty database."""
    if request.param == "sqlite":
        return testing.sqlite_copy(request.getfixturevalue("_sqlite_template"), tmp_path)
    url: str = request.getfixturevalue("_pg_schema")
    testing.reset_pg(url)
    return url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # a data dir of its own: the audit signing key and checkpoint file must not leak between tests
    return Settings(database_url=db_url, model_enabled=False, api_key_pepper=PEPPER, data_dir=tmp_path / "var")


@pytest.fixture
def client(settings: Settings, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """The real app on the test's database. Afterwards every fact row must be bound in an intact audit
    chain (`audit verify`), so a workflow that writes a row without binding it fails its own tests;
    tests that tamper with the database on purpose are marked `tampers`."""
    with TestClient(create_app(settings)) as c:
        yield c
    if request.node.get_closest_marker("tampers") is None:
        assert_chain_intact(settings.database_url)


def assert_chain_intact(url: str) -> None:
    from parkcredit.store import audit

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            r = audit.verify(session)
    finally:
        engine.dispose()
    problems = [(p.table, p.id, p.problem, p.detail) for p in r.row_problems[:5]]
    assert r.ok, (
        f"audit verify after the test: chain {r.reason or 'intact'}; {r.row_problems_total} row problems {problems}"
    )


@pytest.fixture
def sessions(client: TestClient) -> Any:
    return client.app.state.sessions  # type: ignore[attr-defined]


@pytest.fixture
def keys(settings: Settings) -> dict[str, dict[str, str]]:
    """Authorization headers by role; `bank` is 自贡银行, `other_bank` another bank."""
    engine = make_engine(settings.database_url)
    out = {}
    with write_session(make_sessionmaker(engine)) as session:
        for role in ("committee", "approver", "bank", "auditor", "admin"):  # unscoped (or bank-bound) roles
            _, token = keystore.create_key(session, role, PEPPER, bank=BANK if role == "bank" else None)
            out[role] = {"Authorization": f"Bearer {token}"}
        _, token = keystore.create_key(session, "bank", PEPPER, bank=OTHER_BANK)
        out["other_bank"] = {"Authorization": f"Bearer {token}"}
    engine.dispose()
    return out


def make_uscc(i: int) -> str:
    """A valid enterprise USCC (91…) numbered `i`."""
    body = f"91510311MA6{i:06d}"
    return body + check_char(body)


def good_profile(i: int = 1, **overrides: Any) -> dict[str, Any]:
    """A complete, healthy enterprise profile (JSON form)."""
    p = {
        "uscc": make_uscc(i), "name": f"自贡示范机械{i}有限公司", "as_of": "2025-06-30", "park_id": "yantan",
        "established_on": "2012-04-01", "in_park_since": "2014-01-01", "registered_capital_yuan": 10_000_000,
        "industry_code": "C34", "legal_rep_name": "张三", "legal_rep_id_hash": "ab" * 32,
        "annual_report_filed_year": 2024, "revenue_yuan_y1": 48_000_000, "revenue_yuan_y2": 42_000_000,
        "net_profit_yuan_y1": 3_500_000, "total_assets_yuan": 60_000_000, "total_liabilities_yuan": 27_000_000,
        "tax_paid_yuan_y1": 2_100_000, "tax_paid_yuan_y2": 1_900_000, "rd_expense_yuan_y1": 2_000_000,
        "tax_credit_grade": "A", "tax_credit_year": 2024, "tax_arrears_yuan": 0, "abnormal_taxpayer": False,
        "ss_insured_headcount": 120, "ss_insured_headcount_prev": 110, "ss_arrears_months": 0,
        "env_credit_level": "GREEN", "eia_status": "APPROVED", "discharge_permit": "PERMIT", "env_penalties_36m": 0,
        "env_incident_level_36m": "NONE", "safety_std_grade": "L2", "safety_std_valid_until": "2027-12-31",
        "high_risk_sector": False, "accidents_general_36m": 0, "safety_dishonest_list": False,
        "safety_penalties_36m": 0, "major_hazards_open": 0, "major_hazards_overdue": 0,
        "hazard_rectification_rate": 1.0, "dishonest_debtor_enterprise": False, "dishonest_debtor_legal_rep": False,
        "enforcement_open_yuan": 0, "enforcement_closed_36m": 0, "consumption_restricted": False,
        "abnormal_operation_list": False, "serious_illegal_list": False, "admin_penalties_general_36m": 0,
        "admin_penalties_serious_36m": 0, "hnte_valid_until": "2026-12-31", "srdi_level": "PROV_SRDI",
        "srdi_valid_until": "2027-06-30", "tech_sme": True, "invention_patents": 6, "mu_efficiency_class": "A",
        "mu_eval_year": 2024, "utility_arrears_months": 0, "rent_arrears_months": 0, "arrears_months_24m": 0,
        "strategic_industry": True, "bank_overdue_max_days_24m": 0, "bank_npl_flag": False,
        "existing_unsecured_loans_yuan": 500_000, "lending_banks_count": 2,
    }  # fmt: skip
    p.update(overrides)
    return p


def authorization(uscc: str, bank: str = BANK, **overrides: Any) -> dict[str, Any]:
    today = dt.date.today()
    body = {
        "uscc": uscc, "bank": bank, "products": ["chengxindai"], "valid_from": str(today - dt.timedelta(days=1)),
        "valid_to": str(today + dt.timedelta(days=180)), "scope": "eligibility summary", "purpose": "企业诚信贷申请",
        "evidence_ref": "scan://auth/0001.pdf", "evidence_sha256": "0" * 64,
    }  # fmt: skip
    body.update(overrides)
    return body


def fail_store_chunk_at(monkeypatch: pytest.MonkeyPatch, n: int, message: str = "disk full") -> Any:
    """Make the batch's `n`-th chunk fail to store (RuntimeError(message)); returns the real `store_chunk`."""
    from parkcredit.app import batch

    real, calls = batch.store_chunk, []

    def failing(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == n:
            raise RuntimeError(message)
        return real(*args, **kw)

    monkeypatch.setattr(batch, "store_chunk", failing)
    return real


def wait_job(
    client: TestClient, keys: dict[str, dict[str, str]], job_id: str, *, seconds: float = 60
) -> dict[str, Any]:
    """Poll a job (as the auditor) until it is done or failed."""
    import time

    for _ in range(int(seconds / 0.05)):
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=keys["auditor"]).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end: {job}")


def batch_job(client: TestClient, keys: dict[str, dict[str, str]], product: str = "chengxindai") -> dict[str, Any]:
    """Start a batch decision of every enterprise (as the committee) and wait for it to end."""
    r = client.post("/v1/decisions/batch", json={"product": product}, headers=keys["committee"])
    assert r.status_code == 202, r.text
    return wait_job(client, keys, r.json()["job_id"])
