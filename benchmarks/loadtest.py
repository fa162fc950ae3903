"""Open-loop load test of `parkcredit serve` on PostgreSQL: eligibility queries and full decisions at fixed rates.

    python benchmarks/loadtest.py --workers 2 --seconds 60 --eligibility-rps 40 --decision-rps 4

Bounded and loopback only. By default it makes its own PostgreSQL schema (`pc_load_<pid>` in
PARKCREDIT_TEST_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test), migrates it,
creates a committee and a bank key, starts `parkcredit serve --workers N` on a free loopback
port, seeds `--enterprises` enterprises (snapshot, authorization for the bank, one decision), runs
the load, prints the figures, stops the server and drops the schema. `--url` targets a running
server instead (loopback only; it then needs `--committee-key` and `--bank-key`).

Open loop: request k of a stream is *sent* at t0 + k / rate whether or not earlier ones have
answered, and its latency is measured from that scheduled time (a slow server cannot slow the
test down and hide its own queueing: no coordinated omission). At most `--max-inflight`
requests are outstanding; one that would exceed it is counted as an error ("dropped"), as is
any timeout (`--timeout`), transport error or status >= 400.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

CLI = Path(sys.executable).with_name("parkcredit")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PG_URL = os.environ.get("PARKCREDIT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass
class Stream:
    """Results of one request kind."""

    name: str
    rate: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0

    def pct(self, q: float) -> float:
        ms = sorted(self.latencies_ms)
        return ms[min(len(ms) - 1, int(q * len(ms)))] if ms else float("nan")

    def summary(self, seconds: float) -> dict[str, Any]:
        return {
            "name": self.name, "rate_rps": self.rate, "sent": self.sent, "ok": len(self.latencies_ms),
            "errors": sum(self.errors.values()), "error_kinds": dict(self.errors),
            "p50_ms": self.pct(0.50), "p95_ms": self.pct(0.95), "p99_ms": self.pct(0.99),
            "throughput_rps": len(self.latencies_ms) / seconds,
        }  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _uscc(i: int) -> str:
    from parkcredit.profile.uscc import check_char

    body = f"91510311MA7{i:06d}"
    return body + check_char(body)


def _profile(i: int, as_of: dt.date) -> dict[str, Any]:
    return {
        "uscc": _uscc(i), "name": f"压测企业{i:03d}有限公司", "as_of": str(as_of), "park_id": "load",
        "established_on": "2012-04-01", "in_park_since": "2014-01-01", "industry_code": "C34",
        "revenue_yuan_y1": 48_000_000 + i * 10_000, "revenue_yuan_y2": 42_000_000, "net_profit_yuan_y1": 3_500_000,
        "total_assets_yuan": 60_000_000, "total_liabilities_yuan": 27_000_000, "tax_paid_yuan_y1": 2_100_000,
        "tax_paid_yuan_y2": 1_900_000, "rd_expense_yuan_y1": 2_000_000, "tax_credit_grade": "A",
        "tax_credit_year": as_of.year - 1, "ss_insured_headcount": 120, "ss_insured_headcount_prev": 110,
        "env_credit_level": "GREEN", "safety_std_grade": "L2", "dishonest_debtor_enterprise": False,
        "abnormal_operation_list": False, "mu_efficiency_class": "A",
    }  # fmt: skip


class Harness:
    """A schema, keys and a `parkcredit serve --workers N` of our own; `close()` removes them."""

    def __init__(self, workers: int, log: Path | None = None) -> None:
        from parkcredit.store import testing

        self.schema = f"pc_load_{os.getpid()}"
        self.db_url = testing.prepare_pg(self.schema) if PG_URL == testing.PG_URL else None
        if self.db_url is None:
            raise SystemExit("PARKCREDIT_TEST_PG_URL changed after import")
        self.env = {**os.environ, "PARKCREDIT_DATABASE_URL": self.db_url, "PARKCREDIT_MODEL_ENABLED": "false",
                    "PARKCREDIT_API_KEY_PEPPER": f"load-{os.getpid()}"}  # fmt: skip
        self.committee = self._key("committee")
        self.bank = self._key("bank", "自贡银行")
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        out = log.open("ab") if log else None
        self.proc = subprocess.Popen(
            [str(CLI), "serve", "--port", str(port), "--workers", str(workers)],
            env=self.env, stdout=out or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        if out is not None:
            out.close()  # the child has its own descriptor
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise SystemExit("parkcredit serve did not become ready")
            time.sleep(0.2)

    def _key(self, role: str, bank: str | None = None) -> str:
        args = [str(CLI), "keys", "create", "--role", role, "--json", *(["--bank", bank] if bank else [])]
        out = subprocess.run(args, env=self.env, capture_output=True, text=True, check=True)
        return str(json.loads(out.stdout)["token"])

    def close(self) -> None:
        from parkcredit.store import testing

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        testing.drop_pg(self.schema)


def seed(url: str, committee: str, enterprises: int) -> list[str]:
    """Enterprises with a snapshot, an authorization for 自贡银行 and one decision; their USCCs."""
    today = dt.date.today()
    headers = {"Authorization": f"Bearer {committee}"}
    out = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for i in range(1, enterprises + 1):
            http.post("/v1/enterprises", json=_profile(i, today), headers=headers).raise_for_status()
            auth = {"uscc": _uscc(i), "bank": "自贡银行", "products": ["chengxindai"], "valid_from": str(today),
                    "valid_to": str(today + dt.timedelta(days=30)), "scope": "load test", "purpose": "load test",
                    "evidence_ref": "load://"}  # fmt: skip
            http.post("/v1/authorizations", json=auth, headers=headers).raise_for_status()
            body = {"uscc": _uscc(i), "product": "chengxindai"}
            http.post("/v1/decisions", json=body, headers=headers).raise_for_status()
            out.append(_uscc(i))
    return out


async def _drive(url: str, committee: str, bank: str, usccs: list[str], seconds: float, eligibility_rps: float,
                 decision_rps: float, max_inflight: int, timeout: float) -> tuple[list[Stream], float]:  # fmt: skip
    streams = [Stream("GET /v1/eligibility", eligibility_rps), Stream("POST /v1/decisions", decision_rps)]
    inflight = 0
    limits = httpx.Limits(max_connections=max_inflight, max_keepalive_connections=max_inflight)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as http:

        async def one(stream: Stream, k: int, scheduled: float) -> None:
            nonlocal inflight
            uscc = usccs[k % len(usccs)]
            try:
                if stream is streams[0]:
                    r = await http.get(f"/v1/eligibility/{uscc}?product=chengxindai",
                                       headers={"Authorization": f"Bearer {bank}"})  # fmt: skip
                else:
                    r = await http.post("/v1/decisions", json={"uscc": uscc, "product": "chengxindai"},
                                        headers={"Authorization": f"Bearer {committee}"})  # fmt: skip
                if r.status_code >= 400:
                    stream.errors[f"HTTP {r.status_code}"] += 1
                else:
                    stream.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
            except httpx.TimeoutException:
                stream.errors["timeout"] += 1
            except httpx.TransportError as exc:
                stream.errors[type(exc).__name__] += 1
            finally:
                inflight -= 1

        t0 = time.perf_counter() + 0.2
        schedule = sorted(
            (t0 + k / s.rate, i, k) for i, s in enumerate(streams) if s.rate > 0 for k in range(int(seconds * s.rate))
        )
        tasks = []
        for at, i, k in schedule:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            stream = streams[i]
            stream.sent += 1
            if inflight >= max_inflight:
                stream.errors["dropped (max in-flight)"] += 1
                continue
            inflight += 1
            tasks.append(asyncio.create_task(one(stream, k, at)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    return streams, elapsed


def run(*, url: str | None = None, committee: str | None = None, bank: str | None = None, workers: int = 2,
        seconds: float = 60, eligibility_rps: float = 40, decision_rps: float = 4, enterprises: int = 20,
        max_inflight: int = 256, timeout: float = 10, log: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """Run the load test; return the figures (also what `main` prints)."""
    harness = None
    if url is None:
        harness = Harness(workers, log)
        url, committee, bank = harness.url, harness.committee, harness.bank
    elif urlparse(url).hostname not in LOOPBACK:
        raise SystemExit(f"loopback only: refusing {url}")
    assert committee and bank
    try:
        usccs = seed(url, committee, enterprises)
        streams, elapsed = asyncio.run(
            _drive(url, committee, bank, usccs, seconds, eligibility_rps, decision_rps, max_inflight, timeout)
        )
    finally:
        if harness is not None:
            harness.close()
    return {"url": url, "workers": workers if harness else None, "seconds": elapsed,
            "streams": [s.summary(elapsed) for s in streams]}  # fmt: skip


def report(result: dict[str, Any]) -> str:
    lines = [f"{result['seconds']:.1f} s against {result['url']} (workers: {result['workers'] or '?'}), open loop"]
    for s in result["streams"]:
        lines.append(
            f"{s['name']:<22} {s['rate_rps']:6.1f}/s offered  sent={s['sent']:<6} ok={s['ok']:<6} "
            f"errors={s['errors']:<4} p50={s['p50_ms']:7.1f} ms  p95={s['p95_ms']:7.1f} ms  p99={s['p99_ms']:7.1f} ms  "
            f"throughput={s['throughput_rps']:6.1f}/s" + (f"  {s['error_kinds']}" if s["errors"] else "")
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running server on loopback (default: start one on PostgreSQL)")
    ap.add_argument("--committee-key")
    ap.add_argument("--bank-key", help="a key of 自贡银行")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--eligibility-rps", type=float, default=40)
    ap.add_argument("--decision-rps", type=float, default=4)
    ap.add_argument("--enterprises", type=int, default=20)
    ap.add_argument("--max-inflight", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    a = ap.parse_args()
    if a.seconds > 600 or a.eligibility_rps + a.decision_rps > 2000:
        raise SystemExit("bounded: at most 600 s and 2000 requests/s")
    result = run(url=a.url, committee=a.committee_key, bank=a.bank_key, workers=a.workers, seconds=a.seconds,
                 eligibility_rps=a.eligibility_rps, decision_rps=a.decision_rps, enterprises=a.enterprises,
                 max_inflight=a.max_inflight, timeout=a.timeout)  # fmt: skip
    print(json.dumps(result, ensure_ascii=False, indent=2) if a.json else report(result))


if __name__ == "__main__":
    main()
