"""Real `parkcredit serve` processes on free loopback ports, for fault, worker and load tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dbsupport import PEPPER

CLI = Path(sys.executable).with_name("parkcredit")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PARKCREDIT_DATABASE_URL": db_url, "PARKCREDIT_MODEL_ENABLED": "false",
           "PARKCREDIT_API_KEY_PEPPER": PEPPER}  # fmt: skip
    env.update(extra)
    return env


def key(env: dict[str, str], role: str, bank: str | None = None) -> dict[str, str]:
    """Authorization header of a new key, made with `parkcredit keys create` against env's database."""
    args = [str(CLI), "keys", "create", "--role", role, "--json", *(["--bank", bank] if bank else [])]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return {"Authorization": "Bearer " + json.loads(out.stdout)["token"]}


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    env: dict[str, str]
    log: Path
    workers: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        """SIGKILL the whole process group (uvicorn's supervisor and every worker): a crash, no clean-up."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()


def start(
    db_url: str, log: Path, *, workers: int = 1, port: int | None = None, wait: bool = True, **env: str
) -> Server:
    """`parkcredit serve` in its own process group (so kill9 reaches every worker), logging to `log`."""
    port = port or free_port()
    e = server_env(db_url, **env)
    handle = log.open("ab")
    proc = subprocess.Popen(
        [str(CLI), "serve", "--port", str(port), "--workers", str(workers)],
        env=e, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    handle.close()
    server = Server(proc, f"http://127.0.0.1:{port}", e, log, workers)
    if wait:
        server.wait_ready()
    return server


@contextmanager
def in_thread(app: Any) -> Iterator[str]:
    """`app` served by uvicorn in a thread of this process on a free loopback port; its base URL.

    For browser tests that need a real socket but not a separate process (the fixtures' data is here)."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
