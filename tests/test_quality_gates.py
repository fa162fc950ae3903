"""The maintainers' gates, run by the README's test command: import contracts, lint, format, strict types.

Each runs the real tool on `src/` (ruff also on `tests/`) and fails with its output, so a change that
breaks a layer rule, a lint rule, the formatting or a type is caught by `./dev test` and by CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

GATES = {
    "lint-imports": [str(BIN / "lint-imports")],
    "ruff check": [str(BIN / "ruff"), "check", "src", "tests"],
    "ruff format": [str(BIN / "ruff"), "format", "--check", "src", "tests"],
    "mypy --strict": [str(BIN / "mypy"), "src/parkcredit"],  # strict = true in pyproject.toml
}


@pytest.mark.parametrize("gate", list(GATES))
def test_gate_passes(gate: str) -> None:
    cmd = GATES[gate]
    if not Path(cmd[0]).exists():
        pytest.fail(f"{cmd[0]} is not installed: the dev extra installs it (./dev does)")
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{gate} failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"


def test_mypy_is_strict() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "[tool.mypy]" in text and "strict = true" in text
