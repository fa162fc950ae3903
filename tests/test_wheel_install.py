"""A plain `pip install` of the built wheel (not editable) works outside the checkout.

The wheel is built from a copy of the sources, installed with --no-deps into a fresh venv in
tmp_path whose dependencies come from this venv's site-packages (a .pth line: the checkout's
editable parkcredit is not picked up, a path line does not run this venv's own .pth files), then
`parkcredit synth`, `score` and `serve --demo` run from a folder outside the checkout: the bundled
rule sets, model, migrations, templates and static files are found as package data, the database
lands in ./var of the working directory and nothing is written into the installed package.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import httpx
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # s, any one subprocess


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    """This environment without PARKCREDIT_* (the defaults are under test) or anything that points at the checkout."""
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARKCREDIT_") and k not in drop}
    env["PYTHONUNBUFFERED"] = "1"  # the demo keys are printed before uvicorn starts: read them from the log
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)


def _sources(tmp: Path) -> Path:
    """What an sdist would carry: pyproject, README, licence files and src/ (no caches, no egg-info)."""
    out = tmp / "sources"
    out.mkdir()
    for p in [ROOT / "pyproject.toml", ROOT / "README.md", *ROOT.glob("LICEN[CS]E*")]:
        shutil.copy2(p, out / p.name)
    shutil.copytree(ROOT / "src", out / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    return out


def _build_wheel(sources: Path, dist: Path) -> Path:
    """`pip wheel` without build isolation when this venv's setuptools can build the project, else
    with it (pip fetches the [build-system] requirement; skipped only when no index answers)."""
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(dist)]
    local = _run([*base, "--no-build-isolation", str(sources)], sources)
    if local.returncode != 0:
        isolated = _run([*base, str(sources)], sources)
        if isolated.returncode != 0:
            text = isolated.stdout + isolated.stderr
            if re.search(r"No matching distribution|Could not find a version|NewConnectionError|Network is unreachable",
                         text):  # fmt: skip
                pytest.skip(f"no newer setuptools here and no package index to get one from:\n{text[-1500:]}")
            raise AssertionError(f"wheel build failed:\n{local.stderr[-3000:]}\n---\n{text[-3000:]}")
    (wheel,) = dist.glob("parkcredit-*.whl")
    return wheel


def _package_files(pkg: Path) -> dict[str, tuple[int, int]]:
    """Files of the installed package but its bytecode caches: relative path -> (size, mtime_ns)."""
    out = {}
    for p in pkg.rglob("*"):
        if "__pycache__" not in p.parts and p.is_file():
            st = p.stat()
            out[str(p.relative_to(pkg))] = (st.st_size, st.st_mtime_ns)
    return out


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    sources = _sources(tmp_path)
    wheel = _build_wheel(sources, tmp_path / "dist")

    # every file of the package (rule sets, the MLflow model with its extension-less MLmodel,
    # migrations, templates, static files) is in the wheel
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("parkcredit/")}
    tree = {
        p.relative_to(sources / "src").as_posix() for p in (sources / "src" / "parkcredit").rglob("*") if p.is_file()
    }
    assert tree - shipped == set(), "files missing from the wheel (package-data in pyproject.toml)"
    assert "parkcredit/bundled/models/default/MLmodel" in shipped

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=TIMEOUT)
    py, cli = venv / "bin" / "python", venv / "bin" / "parkcredit"
    site = Path(
        _run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path).stdout.strip()
    )
    assert site.is_relative_to(venv)
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "_parkcredit_test_deps.pth").write_text("".join(f"{p}\n" for p in ours), encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index"]
    done = _run([*pip, "--disable-pip-version-check", "-q", str(wheel)], tmp_path)
    assert done.returncode == 0, done.stderr

    work = tmp_path / "work"
    work.mkdir()
    where = _run([str(py), "-c", "import parkcredit; print(parkcredit.__file__)"], work)
    assert where.returncode == 0, where.stderr
    pkg = Path(where.stdout.strip()).parent
    assert pkg == site / "parkcredit", f"imported {pkg}, not the wheel's copy in {site}"
    before = _package_files(pkg)

    r = _run([str(cli), "synth", "--n", "50", "--out", "p.csv"], work)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run([str(cli), "score", "p.csv", "--product", "chengxindai", "--out", "d.csv"], work)
    assert r.returncode == 0, r.stdout + r.stderr
    decisions = pd.read_csv(work / "d.csv")
    assert len(decisions) == 50
    assert decisions["eligible"].isin([True, False]).all()

    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [str(cli), "serve", "--demo", "--port", str(port)],
            cwd=work, env=_env(), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, ready = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        out = log.read_text(encoding="utf-8", errors="replace")
        assert ready is not None and ready.status_code == 200, f"not ready ({proc.poll()=}):\n{out[-3000:]}"
        body = ready.json()
        assert "chengxindai" in body["rulesets"]
        assert body["model"]["status"] == "ok", body["model"]  # the bundled model, from the package
        assert Path(body["model"]["path"]).is_relative_to(pkg)

        bank = re.search(r"^\s+bank\s+(\S+)", out, re.M)
        authorized = re.search(r"authorized .+ for chengxindai: (\S+?),", out)
        refused = re.search(r"one that did not: (\S+)", out)
        assert bank and authorized and refused, out
        auth = {"Authorization": f"Bearer {bank.group(1)}"}
        uscc = authorized.group(1)
        got = httpx.get(f"{base}/v1/eligibility/{uscc}", params={"product": "chengxindai"}, headers=auth, timeout=30)
        assert got.status_code == 200, got.text
        assert got.json()["uscc"] == uscc and got.json()["product"] == "chengxindai"
        no = httpx.get(f"{base}/v1/eligibility/{refused.group(1)}", headers=auth, timeout=30)
        assert no.status_code == 403, no.text
        # templates and static files of the web pages
        login = httpx.get(f"{base}/web/login", timeout=30)
        assert login.status_code == 200 and "<form" in login.text, login.text[:500]
        assert httpx.get(f"{base}/web/static/style.css", timeout=30).status_code == 200
    finally:
        _stop(proc)

    assert (work / "var" / "parkcredit.db").is_file()
    after = _package_files(pkg)
    assert after == before, "files written or changed inside the installed package"
