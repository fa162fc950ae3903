"""The whole story over real HTTP against a `parkcredit serve` subprocess on a free loopback port.

import CSV -> decide -> bank refused (403) -> authorize -> bank answered -> outcome -> auditor replays
(identical) -> audit verify OK -> one audit row edited in the database -> verify names it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from dbsupport import PEPPER, authorization, make_uscc
from lendingsupport import TODAY, strong_profile
from parkcredit.store.db import make_engine

CLI = Path(sys.executable).with_name("parkcredit")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _key(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [str(CLI), "keys", "create", *args, "--json"], env=env, capture_output=True, text=True, check=True
    )
    return "Bearer " + json.loads(out.stdout)["token"]


@pytest.fixture
def server(db_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    env = {**os.environ, "PARKCREDIT_DATABASE_URL": db_url, "PARKCREDIT_MODEL_ENABLED": "false",
           "PARKCREDIT_API_KEY_PEPPER": PEPPER}  # fmt: skip
    proc = subprocess.Popen(
        [str(CLI), "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.1)
        else:
            pytest.fail("server did not become ready")
        yield base, env
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def _csv(rows: list[dict]) -> bytes:
    cols = list(rows[0])
    return ("\n".join([",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]) + "\n").encode()


def test_bank_scenario_end_to_end(server: tuple[str, dict[str, str]], db_url: str) -> None:
    base, env = server
    committee, auditor = (
        {"Authorization": _key(env, "--role", "committee")},
        {"Authorization": _key(env, "--role", "auditor")},
    )
    bank = {"Authorization": _key(env, "--role", "bank", "--bank", "自贡银行")}
    u = make_uscc(1)
    with httpx.Client(base_url=base, timeout=30) as http:
        rows = [strong_profile(i) for i in (1, 2, 3)]  # current data: a loan may rely on their decisions
        r = http.post("/v1/imports", files={"file": ("park.csv", _csv(rows), "text/csv")}, headers=committee)
        assert r.status_code == 200 and r.json()["rows_stored"] == 3, r.text
        r = http.post("/v1/decisions", json={"uscc": u, "product": "chengxindai"}, headers=committee)
        assert r.status_code == 201
        decision_id = r.json()["decision_id"]
        assert http.get(f"/v1/eligibility/{u}?product=chengxindai", headers=bank).status_code == 403
        assert http.post("/v1/authorizations", json=authorization(u), headers=committee).status_code == 201
        r = http.get(f"/v1/eligibility/{u}?product=chengxindai", headers=bank)
        assert r.status_code == 200 and r.json()["decision_id"] == decision_id and r.json()["eligible"] is True
        limit = r.json()["limit_available_yuan"]
        outcome = {"uscc": u, "product": "chengxindai", "decision_id": decision_id, "disbursed_yuan": limit,
                   "disbursed_on": str(TODAY), "status": "current"}  # fmt: skip
        assert http.post("/v1/outcomes", json=outcome, headers=bank).status_code == 201
        replay = http.post(f"/v1/decisions/{decision_id}/replay", headers=auditor).json()
        assert replay["identical"] is True
        assert http.get("/v1/audit/verify", headers=auditor).json()["ok"] is True
        log = http.get("/v1/audit/log?limit=1000", headers=auditor).json()["items"]
        target = next(e["seq"] for e in log if e["action"] == "bank.query")
        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET object_id = 'someone-else' WHERE seq = :s"), {"s": target})
        engine.dispose()
        bad = http.get("/v1/audit/verify", headers=auditor).json()
        assert bad["ok"] is False and bad["first_bad_seq"] == target
    result = subprocess.run([str(CLI), "audit", "verify"], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and f"seq {target}" in result.stderr
