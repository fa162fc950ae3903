"""The CLI: `parkcredit rulesets …` and `parkcredit governance …` against a SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govsupport import broken, variant
from parkcredit.cli import app
from parkcredit.settings import get_settings
from parkcredit.store import keys as keystore
from parkcredit.store.db import make_engine, make_sessionmaker, write_session

run = CliRunner().invoke


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("PARKCREDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("PARKCREDIT_API_KEY_PEPPER", "cli-pepper")
    get_settings.cache_clear()
    assert run(app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(get_settings().database_url)
    tokens = {}
    with write_session(make_sessionmaker(engine)) as session:
        for name, role in (("committee", "committee"), ("approver", "approver"), ("approver2", "approver")):
            tokens[name] = keystore.create_key(session, role, "cli-pepper")[1]
    engine.dispose()
    yield tokens
    get_settings.cache_clear()


def test_lifecycle_diff_and_backtest_from_the_command_line(db: dict[str, str], tmp_path: Path) -> None:
    out = run(app, ["governance", "seed"])
    assert out.exit_code == 0 and "seeded 3" in out.output
    assert "seeded 0" in run(app, ["governance", "seed"]).output  # idempotent
    (tmp_path / "v11.yaml").write_text(variant(threshold=58), encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(broken(), encoding="utf-8")
    bad = run(app, ["rulesets", "draft", str(tmp_path / "bad.yaml"), "--key", db["committee"]])
    assert bad.exit_code == 1 and "DEV_DEBT_RATIO" in bad.output and "bad.yaml" in bad.output
    assert run(app, ["rulesets", "draft", str(tmp_path / "v11.yaml")]).exit_code == 2  # no key
    draft = run(app, ["rulesets", "draft", str(tmp_path / "v11.yaml"), "--key", db["approver"], "--note", "58"])
    assert draft.exit_code == 0 and draft.output.startswith("draft 4:")
    reviewed = ["--content-hash", json.loads(run(app, ["rulesets", "show", "4"]).output)["content_hash"]]
    own = run(app, ["rulesets", "approve", "4", *reviewed, "--key", db["approver"]])
    assert own.exit_code == 4 and "maker-checker" in own.output
    assert run(app, ["rulesets", "approve", "4", *reviewed, "--key", db["committee"]]).exit_code == 3  # role
    stale = run(app, ["rulesets", "approve", "4", "--content-hash", "sha256:" + "0" * 64, "--key", db["approver2"]])
    assert stale.exit_code == 4 and "changed since it was reviewed" in stale.output
    assert run(app, ["rulesets", "approve", "4", *reviewed, "--key", db["approver2"]]).exit_code == 0
    assert run(app, ["rulesets", "publish", "4", *reviewed, "--key", db["approver2"]]).exit_code == 0
    rows = json.loads(run(app, ["rulesets", "list", "--product", "chengxindai", "--json"]).output)
    assert [(r["id"], r["status"]) for r in rows] == [(1, "published"), (4, "published")]
    diff = run(app, ["rulesets", "diff", "1", "4", "--lang", "en"])
    assert diff.output.splitlines()[2:] == [
        "~ Eligibility threshold: threshold 60 → 58",
        "~ Band C: minimum score 60 → 58",
    ]
    park = tmp_path / "park.csv"
    assert run(app, ["synth", "--n", "300", "--seed", "5", "--out", str(park)]).exit_code == 0
    report = tmp_path / "bt.json"
    bt = run(app, ["rulesets", "backtest", "4", "--profiles", str(park), "--out", str(report)])
    assert bt.exit_code == 0, bt.output
    r = json.loads(report.read_text(encoding="utf-8"))
    assert r["n"] == 300 and r["baseline"]["version"] == "1.0" and r["candidate"]["version"] == "1.1"
    assert r["change"]["approved"] == r["swap"]["swap_in"] - r["swap"]["swap_out"] >= 0  # a lower threshold only adds
    assert r["discrimination"]["with_outcome"] == 300


def test_reports_from_the_command_line(db: dict[str, str]) -> None:
    assert run(app, ["governance", "seed"]).exit_code == 0
    mon = run(app, ["governance", "monitor", "--json", "--cur-to", "2026-06-30"])
    assert mon.exit_code == 0, mon.output
    report = json.loads(mon.output)
    assert report["current"] == {"from": "2026-04-02", "to": "2026-06-30"} and report["windows"]["current_n"] == 0
    assert any("empty" in w["en"] for w in report["warnings"])
    assert run(app, ["governance", "monitor", "--cur-from", "2026-07-01", "--cur-to", "2026-06-30"]).exit_code == 2
    assert json.loads(run(app, ["governance", "overrides"]).output)["total"] == 0
    assert json.loads(run(app, ["governance", "performance"]).output)["loans"] == 0
    assert run(app, ["governance", "erase-pii", "91510311MA6000000Y", "--legal-basis", "依法删除"]).exit_code == 2
