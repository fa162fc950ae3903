"""Eligibility-query and full-decision latency over loopback against a running `parkcredit serve --demo`.

    parkcredit serve --demo --port 8000 &      # or ./dev serve
    python benchmarks/bench_api.py --url http://127.0.0.1:8000 --seconds 10

Uses the deterministic demo keys. It stores one enterprise and an authorization for 自贡银行, then
for `--seconds` each: (1) GET /v1/eligibility (authorization check, cached decision, query log and
audit entry written), (2) POST /v1/decisions (full decision on one row, stored and audited).
Each is run with one client (latency) and with `--concurrency` clients (throughput).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import threading
import time
from collections.abc import Callable

import httpx

from parkcredit.profile.uscc import check_char
from parkcredit.store.keys import demo_token


def _uscc() -> str:
    body = "91510311MA6" + f"{int(time.time()) % 1_000_000:06d}"
    return body + check_char(body)


def _run(call: Callable[[httpx.Client], int], url: str, seconds: float, clients: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal errors
        mine, bad = [], 0
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                status = call(http)
                mine.append(time.perf_counter() - t)
                bad += status >= 400
        with lock:
            latencies.extend(mine)
            errors += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return latencies, errors, time.perf_counter() - started


def _report(name: str, lat: list[float], errors: int, elapsed: float, clients: int) -> None:
    ms = sorted(x * 1000 for x in lat)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(
        f"{name:<34} clients={clients:<2} n={len(ms):>6}  p50={statistics.median(ms):7.2f} ms  p99={p99:7.2f} ms  "
        f"{len(ms) / elapsed:8.1f} req/s  errors={errors}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    committee = {"Authorization": f"Bearer {demo_token('committee')}"}
    bank = {"Authorization": f"Bearer {demo_token('bank')}"}
    u = _uscc()
    today = dt.date.today()
    with httpx.Client(base_url=args.url, timeout=30) as http:
        profile = {"uscc": u, "name": "基准测试机械有限公司", "as_of": str(today), "established_on": "2012-01-01",
                   "in_park_since": "2013-01-01", "revenue_yuan_y1": 40_000_000, "revenue_yuan_y2": 36_000_000,
                   "tax_paid_yuan_y1": 1_800_000, "tax_credit_grade": "A", "park_id": "bench"}  # fmt: skip
        http.post("/v1/enterprises", json=profile, headers=committee).raise_for_status()
        auth = {"uscc": u, "bank": "自贡银行", "products": ["chengxindai"], "valid_from": str(today),
                "valid_to": str(today + dt.timedelta(days=30)), "scope": "benchmark", "purpose": "benchmark",
                "evidence_ref": "bench://"}  # fmt: skip
        http.post("/v1/authorizations", json=auth, headers=committee).raise_for_status()
        http.get(f"/v1/eligibility/{u}", headers=bank).raise_for_status()  # warm: the decision is made once

    def eligibility(http: httpx.Client) -> int:
        return http.get(f"/v1/eligibility/{u}?product=chengxindai", headers=bank).status_code

    def decision(http: httpx.Client) -> int:
        return http.post("/v1/decisions", json={"uscc": u, "product": "chengxindai"}, headers=committee).status_code

    print(f"server {args.url}, {args.seconds:g} s per run")
    for name, call in (("GET /v1/eligibility (bank)", eligibility), ("POST /v1/decisions (full decision)", decision)):
        for clients in (1, args.concurrency):
            lat, errors, elapsed = _run(call, args.url, args.seconds, clients)
            _report(name, lat, errors, elapsed, clients)


if __name__ == "__main__":
    main()
