"""Province scale (issue 18): the persisted paths against `decide`, on the same rows, in one run.

    python benchmarks/bench_scale.py                     # 20,000 rows, SQLite and PostgreSQL
    python benchmarks/bench_scale.py --rows 125000 --parks 250 --files 25 --xlsx-rows 2000 --chunk 5000 \
        --db postgresql --only import,batch,whitelist           # a province: 125,000 enterprises
    python benchmarks/bench_scale.py --quick             # 2,000 rows, 2 s per load test

For each database (a fresh one: a temporary SQLite file, a PostgreSQL schema of its own) it times,
on the same synthetic enterprises (`synth.generate`, bundled model on):

- `decide` in process (the reference every ratio is taken against: rows/s);
- `POST /v1/imports`' use case on a CSV and on an XLSX of those rows (rows/s);
- the persisted batch job (`start_batch` → the job runner → done: decisions/s), twice: the first decides in
  its own thread and spawns the decide process (`app/batch_decide.py`) for later jobs, the second uses it;
- the whitelist refresh of one bank that every enterprise authorized (`app.eligibility.whitelist`);
- real `parkcredit serve` processes (1 and 2 workers): `GET /v1/eligibility/{uscc}` with 1 and 4
  clients (threads, one keep-alive connection each: `RawHttp`, a plain socket, unless `--client httpx`)
  and `POST /v1/decisions` (one full decision, stored and audited) with 1 client: requests/s, p50 and
  p99; for eligibility also the cores the server processes and the client (this process) used.

Each line ends with its ratio to `decide`'s rows/s. The machine's other load changes the numbers
from run to run: compare ratios within one run (docs/performance.md has the figures quoted in the
issue). Peak memory (max RSS of this process) is printed at the end. Needs PostgreSQL at
PARKCREDIT_TEST_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test) for that part.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from parkcredit import synth
from parkcredit.app import decisions, eligibility, imports
from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext
from parkcredit.decision import decide
from parkcredit.settings import Settings
from parkcredit.store import audit, testing
from parkcredit.store import keys as keystore
from parkcredit.store.tables import Authorization

PEPPER = "bench-scale-pepper"
BANK = "自贡银行"
CLI = Path(sys.executable).with_name("parkcredit")
Row = tuple[str, str, float, str]  # (what, database, value, unit)


def _profiles(rows: int, parks: int, seed: int) -> pd.DataFrame:
    """`rows` enterprises spread over `parks` parks (synthetic, as the generator makes them)."""
    per = -(-rows // parks)
    frames = [synth.generate(min(per, rows - k * per), seed + k, park_id=f"P{k:03d}") for k in range(parks)]
    out = pd.concat([f for f in frames if len(f)], ignore_index=True)
    return out.drop(columns=[synth.DEFAULT_COLUMN])


def _split_csv(data: bytes, files: int) -> list[bytes]:
    """The CSV as `files` files of about equal rows, each with the header."""
    header, _, body = data.partition(b"\n")
    lines = body.splitlines(keepends=True)
    per = -(-len(lines) // max(files, 1))
    return [header + b"\n" + b"".join(lines[k : k + per]) for k in range(0, len(lines), per)]


def _files(frame: pd.DataFrame, folder: Path, xlsx_rows: int) -> tuple[bytes, bytes]:
    csv = folder / "park.csv"
    frame.to_csv(csv, index=False)
    xlsx = folder / "park.xlsx"
    frame.head(xlsx_rows).to_excel(xlsx, index=False)
    return csv.read_bytes(), xlsx.read_bytes()


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield testing.sqlite_copy(testing.prepare_sqlite_template(folder), folder)
        return
    reason = testing.pg_available()
    if reason is not None:
        raise SystemExit(f"PostgreSQL unreachable ({reason}); run with --db sqlite")
    schema = f"bench_scale_{os.getpid()}"
    url = testing.prepare_pg(schema)
    try:
        yield url
    finally:
        testing.drop_pg(schema)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """`parkcredit serve --workers N` in its own process group."""

    def __init__(self, url: str, workers: int, log: Path, data_dir: Path):
        self.base = f"http://127.0.0.1:{_free_port()}"
        env = {**os.environ, "PARKCREDIT_DATABASE_URL": url, "PARKCREDIT_API_KEY_PEPPER": PEPPER,
               "PARKCREDIT_DATA_DIR": str(data_dir), "PARKCREDIT_MODEL_ENABLED": "true"}  # fmt: skip
        port = self.base.rsplit(":", 1)[1]
        with log.open("ab") as handle:
            self.proc = subprocess.Popen([str(CLI), "serve", "--port", port, "--workers", str(workers)], env=env,
                                         stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not ready:\n{log.read_text()[-2000:]}")

    def pids(self) -> list[int]:
        """The server process and its workers (uvicorn's children)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [self.proc.pid, *(int(p) for p in children.read_text().split())]
        except OSError:
            return [self.proc.pid]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class RawHttp:
    """The eligibility load's client: one keep-alive HTTP/1.1 connection on a plain socket, the request bytes
    built once per path, the answer read by its Content-Length — ~20 µs of CPU a request where httpx spends
    ~600 µs (measured here), so on this 2-core machine the client no longer takes a third of a core from the
    server it measures. Checks the status line and reads the whole body (the answer is not parsed)."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").rsplit(":", 1)
        self.addr, self.host = (host, int(port)), f"{host}:{port}"
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.addr, timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buf = sock, b""
        return sock

    def get(self, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\n{lines}\r\n".encode()
        sock = self.sock or self._connect()
        sock.sendall(request)
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._more(sock)
        head, self.buf = self.buf[:end], self.buf[end + 4 :]
        status_line, *fields = head.split(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, close = 0, False
        for field in fields:
            name, _, value = field.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(self.buf) < length:
            self._more(sock)
        body, self.buf = self.buf[:length], self.buf[length:]
        if close:
            self.close()
        return status, body

    def _more(self, sock: socket.socket) -> None:
        data = sock.recv(65536)
        if not data:
            self.close()
            raise ConnectionError("the server closed the connection")
        self.buf += data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of some processes (Linux /proc; 0 for one that is gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _connections(port: int, pids: list[int]) -> list[int]:
    """How many established TCP connections to `port` each process holds, most first (Linux /proc; [] elsewhere):
    which worker the kernel gave the clients' connections to (a burst of connects often lands on one)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":
                inodes.add(f[9])
    counts = []
    for pid in pids:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        counts.append(sum(link.startswith("socket:[") and link[8:-1] in inodes for link in links))
    return sorted((c for c in counts if c), reverse=True)


def _load(
    base: str, request: Callable[[Any], int], *, clients: int, seconds: float,
    connect: Callable[[str], Any] | None = None, server_pids: list[int] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """`clients` threads, each one keep-alive connection (`connect(base)`: a `RawHttp`, or an httpx.Client by
    default), for `seconds` (after 30 requests each to warm up). Also the cores the client (this process) and the server
    (`server_pids`) used meanwhile, and how the connections were spread over the server's processes."""
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    connect = connect or (lambda url: httpx.Client(base_url=url, timeout=30))

    def worker() -> None:
        mine, bad = [], 0
        http = connect(base)
        try:
            for _ in range(30):  # warm: connections, prepared statements, the server's threads
                request(http)
            start.wait()
            stop = time.perf_counter() + seconds
            while (t := time.perf_counter()) < stop:
                bad += request(http) >= 400
                mine.append(time.perf_counter() - t)
        finally:
            http.close()
        with lock:
            lat.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for th in threads:
        th.start()
    start.wait()
    spread = _connections(int(base.rsplit(":", 1)[1]), server_pids or [])
    t0, own0, srv0 = time.perf_counter(), os.times(), _cpu_seconds(server_pids or [])
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    own1, srv1 = os.times(), _cpu_seconds(server_pids or [])
    lat.sort()
    return {"rps": len(lat) / elapsed, "p50_ms": 1e3 * statistics.median(lat) if lat else 0.0,
            "p99_ms": 1e3 * lat[int(0.99 * (len(lat) - 1))] if lat else 0.0, "errors": errors[0],
            "client_cores": (own1.user + own1.system - own0.user - own0.system) / elapsed,
            "server_cores": (srv1 - srv0) / elapsed, "spread": spread}  # fmt: skip


def run(kind: str, frame: pd.DataFrame, csv: bytes, xlsx: bytes, args: argparse.Namespace, out: list[Row]) -> None:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    try:
        with _database(kind, folder) as url:
            _run(kind, url, folder, frame, csv, xlsx, args, out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(kind: str, url: str, folder: Path, frame: pd.DataFrame, csv: bytes, xlsx: bytes,
         args: argparse.Namespace, out: list[Row]) -> None:  # fmt: skip
    settings = Settings(database_url=url, api_key_pepper=PEPPER, model_enabled=True, data_dir=folder,
                        batch_chunk=args.chunk, batch_process_min=args.batch_process_min,
                        max_upload_bytes=max(len(csv), len(xlsx)) + 1,
                        max_import_rows=len(frame) + 1)  # fmt: skip
    ctx = AppContext.open(settings)
    committee = Actor(key_id="bench-committee", role="committee")
    try:
        with ctx.write() as session:
            _, bank_token = keystore.create_key(session, "bank", PEPPER, bank=BANK)
            _, committee_token = keystore.create_key(session, "committee", PEPPER)
        if "import" in args.only:
            secs, res = _timed(lambda: imports.import_profiles(ctx, committee, data=xlsx, filename="park.xlsx"))
            out.append(("import XLSX", kind, res.rows_stored / secs, "rows/s"))
        parts = _split_csv(csv, args.files)  # a province sends one file per park or district, not one file
        t0, stored = time.perf_counter(), 0
        for k, part in enumerate(parts):
            stored += imports.import_profiles(ctx, committee, data=part, filename=f"park-{k}.csv").rows_stored
        if "import" in args.only:
            out.append((f"import CSV ({len(parts)} file(s))", kind, stored / (time.perf_counter() - t0), "rows/s"))
        assert stored >= 0.99 * len(frame), stored  # the generator makes a few rows the importer refuses
        usccs = frame["uscc"].astype(str).tolist()
        if "batch" in args.only:
            # the first job of a service started on an empty store decides in its own thread and spawns the decide
            # process (app/batch_decide.py) as it ends; the second finds it started (once it is, waited for here),
            # as every later job does — and the first after a restart, which spawns it at the start
            for label in ("batch job (persisted), first", "batch job (persisted), again"):
                if (proc := getattr(ctx, "_decider", None)) is not None:
                    while proc.started and not proc.ready():
                        time.sleep(0.05)
                job = decisions.start_batch(ctx, committee, product="chengxindai", park_id=None)
                t0 = time.perf_counter()
                while (j := decisions.read_job(ctx, job.job_id)).status in ("queued", "running"):  # type: ignore[union-attr]
                    time.sleep(0.05)
                secs = time.perf_counter() - t0
                assert j.status == "done", j.error
                out.append((label, kind, j.done / secs, "decisions/s"))
                if args.batch_process_min == 0 or args.rows < args.batch_process_min:
                    break  # decided in the job's thread: the second job would be the first again
        today = dt.date.today()
        n_auth = min(len(usccs), args.authorized if "whitelist" in args.only else 500)
        authorized = random.Random(1).sample(usccs, n_auth)
        for k in range(0, len(authorized), 5000):  # set-up, not timed: rows in bulk, one audit entry binding them
            with ctx.write() as session:
                made = [Authorization(id=str(uuid.uuid4()), created_by="bench", uscc=u, bank=BANK,
                                      products=["chengxindai"], valid_from=today,
                                      valid_to=today + dt.timedelta(days=90), scope="eligibility", purpose="bench",
                                      evidence_ref="bench://auth", evidence_sha256="0" * 64)
                        for u in authorized[k : k + 5000]]  # fmt: skip
                session.add_all(made)
                audit.append(session, "bench", "authorization.import", "bench", str(k), {"n": len(made)}, bind=made)
        if "whitelist" in args.only:
            bank = Actor(key_id="bench-bank", role="bank", bank=BANK)
            secs, wl = _timed(lambda: eligibility.whitelist(ctx, bank, product="chengxindai"))
            out.append((f"whitelist refresh ({len(authorized):,} authorized)", kind, len(authorized) / secs, "ent./s"))
    finally:
        ctx.close()
    if not {"eligibility", "http"} & set(args.only):
        return
    sample = authorized[:500]
    bank_h = {"Authorization": f"Bearer {bank_token}"}
    com_h = {"Authorization": f"Bearer {committee_token}"}
    rng = random.Random(7)

    def ask(http: Any) -> int:
        target = f"/v1/eligibility/{rng.choice(sample)}?product=chengxindai"
        if isinstance(http, RawHttp):
            return http.get(target, bank_h)[0]
        return int(http.get(target, headers=bank_h).status_code)

    def decide_one(http: httpx.Client) -> int:
        body = {"uscc": rng.choice(sample), "product": "chengxindai"}
        return http.post("/v1/decisions", json=body, headers=com_h).status_code

    for workers in args.workers:
        server = _Server(url, workers, folder / f"serve-{workers}.log", folder)
        try:
            if "eligibility" in args.only:
                connect = RawHttp if args.client == "raw" else None
                for clients in (1, 4):
                    m = _load(server.base, ask, clients=clients, seconds=args.seconds, connect=connect,
                              server_pids=server.pids())  # fmt: skip
                    out.append(
                        (
                            f"eligibility {clients} client(s), {workers} worker(s)",
                            kind,
                            m["rps"],
                            f"req/s  p50 {m['p50_ms']:.1f} ms  p99 {m['p99_ms']:.1f} ms  errors {m['errors']:.0f}  "
                            f"cores: server {m['server_cores']:.2f}, client ({args.client}) {m['client_cores']:.2f}  "
                            f"connections per worker {m['spread']}",
                        )
                    )
            if "http" in args.only and workers == 1:
                m = _load(server.base, decide_one, clients=1, seconds=args.seconds)
                out.append(
                    (
                        "one decision over HTTP, 1 client",
                        kind,
                        m["rps"],
                        f"req/s  p50 {m['p50_ms']:.1f} ms  p99 {m['p99_ms']:.1f} ms  errors {m['errors']:.0f}",
                    )
                )
        finally:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--parks", type=int, default=20)
    ap.add_argument("--xlsx-rows", type=int, default=None, help="rows of the XLSX (default: all)")
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--files", type=int, default=1, help="the CSV imported as this many files")
    ap.add_argument("--authorized", type=int, default=20_000, help="enterprises that authorized the bank (whitelist)")
    ap.add_argument("--seconds", type=float, default=5.0, help="per HTTP load test")
    ap.add_argument("--chunk", type=int, default=5000, help="PARKCREDIT_BATCH_CHUNK of the batch job")
    ap.add_argument("--batch-process-min", type=int, default=Settings().batch_process_min,
                    help="PARKCREDIT_BATCH_PROCESS_MIN (0: the batch decides in the job's thread)")  # fmt: skip
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--only", default="import,batch,whitelist,eligibility,http")
    ap.add_argument("--quick", action="store_true", help="2,000 rows, 2 s per load test")
    ap.add_argument("--client", choices=["raw", "httpx"], default="raw",
                    help="the eligibility load's client: a plain keep-alive socket (RawHttp) or httpx")  # fmt: skip
    args = ap.parse_args()
    if args.quick:
        args.rows, args.seconds, args.parks = min(args.rows, 2000), 2.0, min(args.parks, 4)
    args.only = set(args.only.split(","))
    args.workers = [int(w) for w in args.workers.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    frame = _profiles(args.rows, args.parks, seed=20260630)
    csv, xlsx = _files(frame, folder, args.xlsx_rows or len(frame))
    shutil.rmtree(folder, ignore_errors=True)
    # writing the workbook leaves ~1.6 million objects of openpyxl in reference cycles (cells <-> sheet): the
    # benchmark's own garbage, which the collector otherwise frees in the middle of the first measurement (it
    # cost the persisted batch ~30 %: 5,600 against 8,400 decisions/s with the collector off)
    gc.collect()

    ctx = AppContext.open(Settings(model_enabled=True, database_url="sqlite:///:memory:"), seed=False)
    rs, model = ctx.latest["chengxindai"], ctx.model
    decide(frame.head(100), rs, model)  # warm: the model's kernels compile on first use
    reference = len(frame) / min(_timed(lambda: decide(frame, rs, model))[0] for _ in range(2))
    ctx.close()
    out: list[Row] = [("decide in process (reference)", "-", reference, "rows/s")]
    for kind in args.db.split(","):
        run(kind, frame, csv, xlsx, args, out)

    buf = io.StringIO()
    buf.write(f"\n{len(frame):,} enterprises in {args.parks} parks, model {getattr(model, 'version', None)}\n")
    buf.write(f"{'what':<48} {'db':<11} {'value':>12}  {'× decide':>9}  unit\n")
    for what, db, value, unit in out:
        buf.write(f"{what:<48} {db:<11} {value:>12,.0f}  {value / reference:>9.3f}  {unit}\n")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    buf.write(f"peak memory of this process: {rss:,.0f} MB\n")
    print(buf.getvalue())


if __name__ == "__main__":
    main()
