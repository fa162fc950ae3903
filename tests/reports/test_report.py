"""The explanation report of a decision: what it shows, that its checks can fail, HTML and CLI."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from parkcredit.app.reports import report_context
from parkcredit.profile import FIELDS
from parkcredit.store.db import make_engine, make_sessionmaker


def _report(park, decision_id: str, role: str = "auditor", **params: str):  # type: ignore[no-untyped-def]
    return park.client.get(f"/v1/decisions/{decision_id}/report", params=params, headers=park.headers[role])


def test_report_shows_every_part_of_the_decision(park) -> None:
    d = park.knocked_out
    r = _report(park, d["decision_id"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert d["uscc"] in html and "自贡纳税失信示例有限公司" in html
    for dim in d["trace"]:
        assert dim["zh"] in html
        for c in dim["characteristics"]:
            assert c["id"] in html
    assert "KO_TAX_GRADE" in html  # the knock-out
    for reason in d["reasons"]:  # principal reasons in the report's language (Chinese by default) only
        assert reason["zh"] in html and reason["en"] not in html
    english = _report(park, d["decision_id"], lang="en").text
    assert all(reason["en"] in english for reason in d["reasons"])
    assert d["ruleset"]["hash"] in html and d["model"]["version"] in html
    assert "重放结果与存储记录逐字节一致" in html
    assert re.search(r'id="audit-checks">(?:(?!✘).)*</table>', html, re.S)  # every chain check passed
    for name, info in FIELDS.items():  # every input, with its department; personal data left out
        if not info.pii:
            assert info.zh in html, name
    assert "张三" not in html and "ab" * 32 not in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # self-contained


def test_english_report(park) -> None:
    html = _report(park, park.good["decision_id"], lang="en").text
    assert "Decision explanation report" in html and "Replay reproduces the stored record byte for byte" in html


def test_waterfall_runs_from_the_base_value_to_the_raw_score(park) -> None:
    ctx = report_context(park.client.app.state.ctx, park.good["decision_id"])
    c = park.good["contributions"]
    total = c["base_value"] + sum(x["logodds"] for x in ctx.contributions)
    assert total == pytest.approx(c["raw_score"], abs=1e-6)
    assert len(ctx.contributions) == len(c["features"])
    assert all(x["zh"] != x["feature"] for x in ctx.contributions)  # labelled from the model's spec
    html = _report(park, park.good["decision_id"]).text
    svg = re.search(r'<div class="chart-box" id="waterfall">(.*?)</svg>', html, re.S).group(1)
    assert svg.count("<polygon") == 11  # ten largest + "the other features"
    assert f"f(x) = {c['raw_score']:.3f}" in svg


def test_a_tampered_record_fails_replay_and_the_chain_check(park) -> None:
    d = park.decide(__import__("dbsupport").good_profile(3))
    engine = make_engine(park.url)
    with make_sessionmaker(engine)() as session:
        row = session.execute(text("SELECT record FROM decisions WHERE id = :i"), {"i": d["decision_id"]}).scalar_one()
        forged = json.loads(row) | {"limit_yuan": d["limit_yuan"] + 1_000_000}
        session.execute(
            text("UPDATE decisions SET record = :r WHERE id = :i"),
            {"r": json.dumps(forged, sort_keys=True, ensure_ascii=False, separators=(",", ":")), "i": d["decision_id"]},
        )
        session.commit()
    engine.dispose()
    html = _report(park, d["decision_id"]).text
    assert "重放结果与存储记录不一致" in html
    assert "limit_yuan" in html.split('id="replay-result"')[1].split("</table>")[0]
    checks = html.split('id="audit-checks"')[1].split("</table>")[0]
    assert "✘" in checks  # the record no longer matches the sha256 in the audit chain


def test_an_override_is_shown_with_its_reason(park) -> None:
    from parkcredit.store.tables import Override

    d = park.good
    values = {"decision_id": d["decision_id"], "eligible": False, "limit_yuan": 0, "reason": "现场核查发现隐瞒担保",
              "created_by": "key_officer", "uscc": d["uscc"], "product": d["product"], "reason_code": "OTHER",
              "direction": "to_ineligible", "original_eligible": d["eligible"],
              "original_limit_yuan": d["limit_yuan"]}  # fmt: skip
    cols = {c.key for c in Override.__table__.columns}
    engine = make_engine(park.url)
    with make_sessionmaker(engine)() as session:
        session.add(Override(**{k: v for k, v in values.items() if k in cols}))
        session.commit()
    engine.dispose()
    html = _report(park, d["decision_id"]).text
    part = html.split('id="overrides"')[1].split("</div>")[0]
    assert "现场核查发现隐瞒担保" in part and "key_officer" in part


def test_report_access_and_errors(park) -> None:
    assert _report(park, park.good["decision_id"], role="committee").status_code == 200
    assert _report(park, park.good["decision_id"], role="bank").status_code == 403
    r = _report(park, "no-such-decision")
    assert r.status_code == 404 and "no decision" in r.json()["detail"]
    assert _report(park, park.good["decision_id"], format="docx").status_code == 422


def test_cli_writes_the_report(park, tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from parkcredit.cli import app
    from parkcredit.settings import get_settings

    monkeypatch.setenv("PARKCREDIT_DATABASE_URL", park.url)
    get_settings.cache_clear()
    try:
        out = tmp_path / "r.html"
        res = CliRunner().invoke(app, ["report", park.good["decision_id"], "--out", str(out), "--lang", "en"])
        assert res.exit_code == 0, res.output
        assert "replay identical" in res.output
        assert park.good["decision_id"] in out.read_text(encoding="utf-8")
        res = CliRunner().invoke(app, ["report", "nope", "--out", str(out), "--no-model"])
        assert res.exit_code == 1 and "no decision nope" in res.output
    finally:
        get_settings.cache_clear()
