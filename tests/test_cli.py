"""The `parkcredit` command as a user runs it: synth, score (CSV with Chinese headers and 万元, parquet), rules."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from parkcredit.cli import app
from parkcredit.profile import FIELDS

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def park(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "park.parquet"
    result = runner.invoke(app, ["synth", "--n", "300", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "300" in result.output
    return out


def test_score_parquet_prints_the_summary_and_writes_decisions(park: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.csv"
    result = runner.invoke(app, ["score", str(park), "--product", "chengxindai", "--out", str(out)])
    assert result.exit_code == 0, result.output
    d = pd.read_csv(out)
    assert len(d) == 300 and set(d["status"]) <= {"ELIGIBLE", "INELIGIBLE", "NOT_APPLICABLE"}
    assert f"{int(d['eligible'].sum()):,}" in result.output and "scored" in result.output
    assert (d["limit_yuan"] <= 3_000_000).all() and (d.loc[~d["eligible"], "limit_yuan"] == 0).all()


def test_score_csv_with_chinese_headers_and_wan_yuan_gives_the_same_decisions(park: Path, tmp_path: Path) -> None:
    table = pd.read_parquet(park).head(60)
    money = ["revenue_yuan_y1", "revenue_yuan_y2", "tax_paid_yuan_y1", "tax_paid_yuan_y2"]
    human = table.copy()
    human[money] = human[money] / 10_000
    human = human.rename(columns={**{c: f"{FIELDS[c].zh}（万元）" for c in money},
                                  "uscc": "统一社会信用代码", "tax_credit_grade": "纳税信用等级"})  # fmt: skip
    csv = tmp_path / "园区企业.csv"
    human.to_csv(csv, index=False, encoding="utf-8-sig")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    r1 = runner.invoke(app, ["score", str(csv), "--out", str(a)])
    assert r1.exit_code == 0, r1.output
    canon = tmp_path / "canon.parquet"
    table.to_parquet(canon)
    r2 = runner.invoke(app, ["score", str(canon), "--out", str(b)])
    assert r2.exit_code == 0, r2.output
    da, db = pd.read_csv(a), pd.read_csv(b)
    assert da["status"].tolist() == db["status"].tolist()
    assert da["limit_yuan"].tolist() == db["limit_yuan"].tolist()


def test_score_reports_bad_rows_and_keeps_good_ones(park: Path, tmp_path: Path) -> None:
    table = pd.read_parquet(park).head(20)
    table.loc[3, "uscc"] = "91510311MA62Y8K39X"  # wrong check character
    csv = tmp_path / "bad.csv"
    table.to_csv(csv, index=False)
    out = tmp_path / "d.csv"
    result = runner.invoke(app, ["score", str(csv), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 19
    assert "row 5" in result.output  # header is row 1, so position 3 is spreadsheet row 5


def test_unknown_product_is_refused(park: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", str(park), "--product", "nosuch", "--out", str(tmp_path / "d.csv")])
    assert result.exit_code != 0 and "nosuch" in result.output


def test_rules_validate_and_show(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["rules", "validate", *map(str, sorted((ROOT / "scoring_rules").glob("*.yaml")))])
    assert ok.exit_code == 0, ok.output
    bad = tmp_path / "bad.yaml"
    text = (ROOT / "scoring_rules" / "chengxindai.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace('tax_credit_grade in ["C", "D"]', 'tax_credit_grade in ["C", "E"]'), encoding="utf-8")
    refused = runner.invoke(app, ["rules", "validate", str(bad)])
    assert refused.exit_code == 1
    assert "bad.yaml" in refused.output and "KO_TAX_GRADE" in refused.output and "'E'" in refused.output
    show = runner.invoke(app, ["rules", "show", "chengxindai"])
    assert show.exit_code == 0 and "企业诚信贷" in show.output and "3,000,000" in show.output
