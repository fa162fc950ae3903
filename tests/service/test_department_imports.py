"""Department data in (issue 13), tried as the users would: their own spreadsheets, through the API, the
import page and `parkcredit import`, on both databases.

A department-style workbook (a title row above the header, Chinese headers with units, 万元, the
sender's own 序号 / 备注 / 联系人 columns, blank and '-' cells, one bad USCC, one header variant and one
misspelt header) gives the same report on every surface; a tax-bureau feed (USCC, grade, year only)
updates the grade of stored enterprises and keeps everything else, with the grade's source recorded;
a department key may send only its own fields; damaged and oversized files store nothing; `synth`
output imports as is; a stale tax grade is treated as each rule set says.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dbsupport import PEPPER, good_profile, make_uscc
from parkcredit.cli import app as cli
from parkcredit.server import create_app
from parkcredit.settings import Settings, get_settings

AS_OF = "2026-06-30"
GOOD = [make_uscc(700 + i) for i in range(5)]
BAD_USCC = GOOD[0][:17] + ("0" if GOOD[0][17] != "0" else "1")  # a wrong check character
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def department_workbook() -> bytes:
    """The committee's quarterly workbook as a person makes it (test fixture)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "企业数据"
    ws.append(["沿滩区园区企业数据报送表（2026年第二季度）"])  # title row, merged across the sheet
    ws.merge_cells("A1:L1")
    ws.append(["序号", "统一社会信用代码", "企业名称", "数据日期", "上年营业收入（万元）", "营业收入(前年)(万元)",
               "纳税信用级别", "纳税信用评价年度", "环境信用等极", "所属园区", "备注", "联系人"])  # fmt: skip
    for i, code in enumerate(GOOD):
        revenue: Any = [1200.5, "980", "-", None, "1,050.25"][i]  # 万元, as typed: number, text, '-', blank, 1,050
        ws.append([i + 1, code, f"自贡甲{i}机械有限公司", AS_OF, revenue, 900, "A" if i % 2 else "B级", 2025,
                   "绿色", "yantan", "新入园" if i == 0 else None, "李四"])  # fmt: skip
    ws.append([6, BAD_USCC, "自贡乙机械有限公司", AS_OF, 100, 90, "A", 2025, "蓝", "yantan", None, "王五"])
    ws.append([7])  # a numbered row the template left empty: skipped, not an error
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HEADER_ROW, BAD_ROW = 2, 2 + 6  # the title is row 1; the bad USCC is the sixth data row
EXPECTED = {
    "header_row": HEADER_ROW, "rows_read": 6, "rows_stored": 5, "rows_rejected": 1,
    "rejected_rows": [BAD_ROW], "rejected_fields": ["uscc"],
    "skipped": {"序号": ("bookkeeping", None), "环境信用等极": ("unknown", "环境信用等级"), "备注": ("bookkeeping", None),
                "联系人": ("bookkeeping", None)},
    "fields": ["uscc", "name", "as_of", "revenue_yuan_y1", "revenue_yuan_y2", "tax_credit_grade", "tax_credit_year",
               "park_id"],
}  # fmt: skip


def summary_of_json(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "header_row": body["header_row"], "rows_read": body["rows_read"], "rows_stored": body["rows_stored"],
        "rows_rejected": body["rows_rejected"], "rejected_rows": sorted({r["row"] for r in body["rejected"]}),
        "rejected_fields": sorted({r["field"] for r in body["rejected"]}),
        "skipped": {c["column"]: (c["kind"], c["suggestion"]) for c in body["skipped_columns"]},
        "fields": body["fields"],
    }  # fmt: skip


def summary_of_page(html: str) -> dict[str, Any]:
    def num(id_: str) -> int:
        found = re.search(rf'id="{id_}"[^>]*>(\d+)<', html)
        assert found, id_
        return int(found.group(1))

    table = html.split('id="rejected-table"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(\d+)</td><td>[^<]*</td><td class=\"mono\">([a-z_0-9]+)</td>", table)
    skipped = html.split('id="skipped-table"')[1].split("</table>")[0]
    cols = re.findall(r'<tr><td class="mono">[A-Z]+</td><td>([^<]+)</td><td>[^<]*</td><td class="suggestion">([^<]*)</td>',
                      skipped)  # fmt: skip
    kinds = {"序号": "bookkeeping", "备注": "bookkeeping", "联系人": "bookkeeping"}
    fields = re.search(r'id="import-fields">([^<]*)<', html)
    assert fields
    return {
        "header_row": num("header-row"), "rows_read": num("rows-read"), "rows_stored": num("rows-stored"),
        "rows_rejected": num("rows-rejected"), "rejected_rows": sorted({int(r) for r, _ in rows}),
        "rejected_fields": sorted({f for _, f in rows}),
        "skipped": {c: (kinds.get(c, "unknown"), s or None) for c, s in cols},
        "fields": fields.group(1).split(", "),
    }  # fmt: skip


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def run_cli(settings: Settings, args: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PARKCREDIT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PARKCREDIT_API_KEY_PEPPER", PEPPER)
    monkeypatch.setenv("PARKCREDIT_MODEL_ENABLED", "false")
    monkeypatch.setenv("PARKCREDIT_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, args)
    finally:
        get_settings.cache_clear()


def signed_in(client: TestClient, headers: dict[str, str]) -> tuple[TestClient, str]:
    web = TestClient(client.app)
    r = web.post("/web/login", data={"key": token_of(headers), "next": "/web/"}, follow_redirects=False)
    assert r.status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/web/import").text)
    assert csrf
    return web, csrf.group(1)


def snapshot_count(client: TestClient, keys: dict[str, dict[str, str]], usccs: list[str]) -> int:
    total = 0
    for code in usccs:
        r = client.get(f"/v1/enterprises/{code}/snapshots", headers=keys["committee"])
        total += len(r.json()) if r.status_code == 200 else 0
    return total


def department_key(client: TestClient, keys: dict[str, dict[str, str]], department: str) -> dict[str, str]:
    r = client.post("/v1/admin/keys", json={"role": "department", "department": department, "holder": department},
                    headers=keys["admin"])  # fmt: skip
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


# ----------------------------------------------------------------------------- one workbook, three surfaces


@pytest.mark.parametrize("surface", ["api", "page", "cli"])
def test_a_department_workbook_gives_the_same_report_on_every_surface(
    surface: str, client: TestClient, keys: dict[str, dict[str, str]], settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    data = department_workbook()
    if surface == "api":
        r = client.post("/v1/imports", files={"file": ("园区企业数据.xlsx", data, XLSX)}, headers=keys["committee"])
        assert r.status_code == 200, r.text
        got = summary_of_json(r.json())
    elif surface == "page":
        web, csrf = signed_in(client, keys["committee"])
        r = web.post("/web/import", data={"csrf": csrf}, files={"file": ("园区企业数据.xlsx", data, XLSX)})
        assert r.status_code == 200, r.text
        got = summary_of_page(r.text)
    else:
        path = tmp_path / "园区企业数据.xlsx"
        path.write_bytes(data)
        out = run_cli(settings, ["import", str(path), "--key", token_of(keys["committee"]), "--json"], monkeypatch)
        assert out.exit_code == 0, out.output
        got = summary_of_json(json.loads(out.stdout))
    assert got == EXPECTED
    # every good row is stored, with 万元 converted exactly and '-' / blank as missing
    revenue = []
    for code in GOOD:
        body = client.get(f"/v1/enterprises/{code}", headers=keys["committee"]).json()
        revenue.append(body["snapshot"]["profile"]["revenue_yuan_y1"])
    assert revenue == [12_005_000, 9_800_000, None, None, 10_502_500]
    assert client.get(f"/v1/enterprises/{BAD_USCC}", headers=keys["committee"]).status_code in (404, 422)


def test_the_report_names_the_bad_row_and_the_title_row_and_repeats_are_recognised(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    data = department_workbook()
    first = client.post("/v1/imports", files={"file": ("q2.xlsx", data, XLSX)}, headers=keys["committee"]).json()
    [bad] = first["rejected"]
    assert (bad["row"], bad["column"], bad["field"]) == (BAD_ROW, "统一社会信用代码", "uscc")
    assert "check character" in bad["reason"] and "校验码" in bad["reason_zh"]
    assert any("row 2" in w["reason"] and "title" in w["reason"] for w in first["warnings"])
    assert first["file_errors"] == [] and first["import_id"]
    assert first["as_of"] == AS_OF  # the file's own 数据日期, not the day of the import
    sources = client.get(f"/v1/enterprises/{GOOD[0]}", headers=keys["committee"]).json()["provenance"]
    assert {s["as_of"] for s in sources} == {AS_OF} and {s["file"] for s in sources} == {"q2.xlsx"}
    again = client.post("/v1/imports", files={"file": ("q2-copy.xlsx", data, XLSX)}, headers=keys["committee"])
    assert again.status_code == 200
    assert (again.json()["repeat_of"], again.json()["rows_stored"]) == (first["import_id"], 0)
    assert snapshot_count(client, keys, GOOD) == 5  # no duplicate snapshots


def test_strict_refuses_an_unknown_column_as_a_file_level_problem(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    r = client.post("/v1/imports?strict=true", files={"file": ("q2.xlsx", department_workbook(), XLSX)},
                    headers=keys["committee"])  # fmt: skip
    assert r.status_code == 422
    body = r.json()
    assert [e["column"] for e in body["file_errors"]] == ["环境信用等极"]
    assert "环境信用等级" in body["file_errors"][0]["reason"]
    assert body["rows_stored"] == 0 and snapshot_count(client, keys, GOOD) == 0


# ----------------------------------------------------------------------------- department feeds


def tax_bureau_csv(rows: list[tuple[str, str, int]]) -> bytes:
    lines = ["统一社会信用代码,纳税信用等级,评价年度", *(f"{u},{g},{y}" for u, g, y in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_a_tax_bureau_feed_updates_the_grade_and_keeps_every_other_field(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    codes = [make_uscc(800 + i) for i in range(3)]
    for i, code in enumerate(codes):
        profile = good_profile(800 + i, uscc=code)
        assert client.post("/v1/enterprises", json=profile, headers=keys["committee"]).status_code == 201
    before = {c: client.get(f"/v1/enterprises/{c}", headers=keys["committee"]).json()["snapshot"] for c in codes}
    tax = department_key(client, keys, "税务")  # the Chinese name is accepted; the key is bound to "tax"
    r = client.post("/v1/imports?as_of=2026-05-15", headers=tax,
                    files={"file": ("2025年度纳税信用等级.csv", tax_bureau_csv([(c, "B", 2025) for c in codes]),
                                    "text/csv")})  # fmt: skip
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["rows_stored"], report["department"], report["fields"]) == (
        3,
        "tax",
        ["uscc", "tax_credit_grade", "tax_credit_year", "as_of"],
    )
    for code in codes:
        body = client.get(f"/v1/enterprises/{code}", headers=keys["committee"]).json()
        new, old = body["snapshot"]["profile"], before[code]["profile"]
        assert (new["tax_credit_grade"], new["tax_credit_year"], new["as_of"]) == ("B", 2025, "2026-05-15")
        assert {k: v for k, v in new.items() if k not in ("tax_credit_grade", "tax_credit_year", "as_of")} == {
            k: v for k, v in old.items() if k not in ("tax_credit_grade", "tax_credit_year", "as_of")
        }
        sources = {s["field"]: s for s in body["provenance"]}
        grade = sources["tax_credit_grade"]
        assert (grade["department"], grade["department_zh"], grade["as_of"]) == ("tax", "税务", "2026-05-15")
        assert (grade["file"], grade["import_id"]) == ("2025年度纳税信用等级.csv", report["import_id"])
        assert sources["revenue_yuan_y1"]["via"] == "api"  # not sent by the tax bureau: its source kept
    # the enterprise page names the grade's source and date
    web, _ = signed_in(client, keys["committee"])
    html = web.get(f"/web/enterprises/{codes[0]}").text
    row = html.split('data-field="tax_credit_grade"')[1].split("</tr>")[0]
    assert "税务" in row and "2026-05-15" in row
    # the tax bureau sees its own feed; another department sees none of it
    history = client.get("/v1/imports", headers=tax).json()
    assert [h["import_id"] for h in history] == [report["import_id"]]
    env = department_key(client, keys, "environment")
    assert client.get("/v1/imports", headers=env).json() == []
    assert client.get(f"/v1/imports/{report['import_id']}", headers=env).status_code == 404
    quality = client.get("/v1/data-quality/tax", headers=tax).json()
    grade_q = next(f for f in quality["fields"] if f["field"] == "tax_credit_grade")
    assert (quality["enterprises"], grade_q["filled"], grade_q["stale"]) == (3, 3, 0)
    assert quality["last_import"]["import_id"] == report["import_id"]
    assert {(j["field"], j["old"], j["new"]) for j in quality["jumps"]} >= {("tax_credit_grade", "A", "B")}
    assert client.get("/v1/data-quality/tax", headers=env).status_code == 403
    safety = client.get("/v1/data-quality/safety", headers=keys["auditor"]).json()
    until = next(f for f in safety["fields"] if f["field"] == "safety_std_valid_until")
    assert (until["filled"], until["stale"]) == (3, 0)  # good_profile's grade runs to 2027-12-31
    assert web.get("/web/data-quality?department=tax").status_code == 200
    # a profile stored through the API afterwards: what it changed is the API's, what it kept keeps its source
    changed = {**client.get(f"/v1/enterprises/{codes[1]}", headers=keys["committee"]).json()["snapshot"]["profile"],
               "revenue_yuan_y1": 51_000_000, "legal_rep_name": "张三", "legal_rep_id_hash": "ab" * 32}  # fmt: skip
    assert client.post("/v1/enterprises", json=changed, headers=keys["committee"]).status_code == 201
    after = {
        s["field"]: s for s in client.get(f"/v1/enterprises/{codes[1]}", headers=keys["committee"]).json()["provenance"]
    }
    assert (after["tax_credit_grade"]["department"], after["revenue_yuan_y1"]["via"]) == ("tax", "api")
    # every row the feed wrote (snapshots, personal data, provenance, the import) is bound in the audit chain
    check = client.get("/v1/audit/verify", headers=keys["auditor"]).json()
    assert check["ok"] and check["row_problems_total"] == 0, check["row_problems"][:3]


def test_a_new_enterprise_in_a_feed_needs_its_name(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    tax = department_key(client, keys, "tax")
    r = client.post(
        "/v1/imports?as_of=2026-05-15",
        headers=tax,
        files={"file": ("grades.csv", tax_bureau_csv([(make_uscc(901), "A", 2025)]), "text/csv")},
    )
    assert r.status_code == 200
    [row] = r.json()["rejected"]
    assert (row["row"], row["field"]) == (2, "name") and "企业名称" in row["reason"]
    assert r.json()["rows_stored"] == 0


def test_an_environment_key_sending_a_tax_field_gets_403_naming_it(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    env = department_key(client, keys, "environment")
    code = make_uscc(902)
    assert (
        client.post("/v1/enterprises", json=good_profile(902, uscc=code), headers=keys["committee"]).status_code == 201
    )
    csv = f"统一社会信用代码,环境信用等级,纳税信用等级\n{code},BLUE,A\n".encode()
    r = client.post("/v1/imports", headers=env, files={"file": ("env.csv", csv, "text/csv")})
    assert r.status_code == 403
    assert "tax_credit_grade" in r.json()["detail"] and "纳税信用等级" in r.json()["detail"]
    assert snapshot_count(client, keys, [code]) == 1  # nothing stored
    own = f"统一社会信用代码,环境信用等级,环境信用评价年度\n{code},BLUE,2025\n".encode()
    r = client.post("/v1/imports", headers=env, files={"file": ("env.csv", own, "text/csv")})
    assert r.status_code == 200 and r.json()["rows_stored"] == 1
    assert (
        client.post("/v1/imports", headers=keys["bank"], files={"file": ("env.csv", own, "text/csv")}).status_code
        == 403
    )


def test_department_keys_are_checked_when_they_are_made(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    r = client.post("/v1/admin/keys", json={"role": "department", "department": "weather"}, headers=keys["admin"])
    assert r.status_code == 422 and "tax" in r.text


# ----------------------------------------------------------------------------- bad files and limits


def truncated_xlsx() -> bytes:
    return department_workbook()[:700]


def workbook_without_sheets() -> bytes:
    src = zipfile.ZipFile(io.BytesIO(department_workbook()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/workbook.xml":
                body = re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", body, flags=re.S)
            out.writestr(item, body)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("random.xlsx", bytes(range(256)) * 40, "not a readable workbook"),
        ("truncated.xlsx", None, "not a readable workbook"),
        ("empty-book.xlsx", "no-sheets", "worksheet"),
        ("long.csv", ("统一社会信用代码,企业名称,数据日期\n" + make_uscc(903) + ",x" + "长" * 140_000 + ",2026-06-30\n").encode(),
         "131,072"),
        ("binary.csv", b"\x00\x01\x02" * 100, "not a text CSV"),
        ("notes.docx", b"PK\x03\x04", ".csv or .xlsx"),
    ],
)  # fmt: skip
def test_damaged_files_get_422_naming_the_problem_and_store_nothing(
    name: str, data: bytes | str | None, says: str, client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    body = truncated_xlsx() if data is None else workbook_without_sheets() if data == "no-sheets" else data
    assert isinstance(body, bytes)
    r = client.post("/v1/imports", files={"file": (name, body, "application/octet-stream")}, headers=keys["committee"])
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body", "file"] and says in detail[0]["msg"], detail
    assert len(detail[0]["msg"]) < 400  # the input is not echoed whole
    assert client.get("/v1/imports", headers=keys["committee"]).json() == []


def test_an_upload_over_the_limit_gets_413_and_stores_nothing(
    settings: Settings, keys: dict[str, dict[str, str]]
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 4096})
    with TestClient(create_app(small)) as c:
        big = ("统一社会信用代码,企业名称,数据日期\n" + f"{make_uscc(904)},x,{AS_OF}\n" * 400).encode()
        r = c.post("/v1/imports", files={"file": ("big.csv", big, "text/csv")}, headers=keys["committee"])
        assert r.status_code == 413
        assert c.get("/v1/imports", headers=keys["committee"]).json() == []
        assert c.get(f"/v1/enterprises/{make_uscc(904)}", headers=keys["committee"]).status_code == 404


def test_a_row_limit_refuses_the_file(settings: Settings, keys: dict[str, dict[str, str]]) -> None:
    few = settings.model_copy(update={"max_import_rows": 3})
    rows = "".join(f"{make_uscc(910 + i)},企业{i},{AS_OF}\n" for i in range(5))
    with TestClient(create_app(few)) as c:
        r = c.post("/v1/imports", files={"file": ("many.csv", ("统一社会信用代码,企业名称,数据日期\n" + rows).encode(),
                                                   "text/csv")}, headers=keys["committee"])  # fmt: skip
        assert r.status_code == 422 and "limit of 3" in r.json()["detail"][0]["msg"]


# ----------------------------------------------------------------------------- synth -> import


def test_synth_output_imports_as_is(
    client: TestClient, keys: dict[str, dict[str, str]], settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = tmp_path / "p.csv"
    out = run_cli(settings, ["synth", "--n", "200", "--out", str(path)], monkeypatch)
    assert out.exit_code == 0, out.output
    r = client.post("/v1/imports", files={"file": ("p.csv", path.read_bytes(), "text/csv")}, headers=keys["committee"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows_read"], body["rows_stored"], body["rows_rejected"]) == (200, 200, 0)
    [outcome] = body["skipped_columns"]
    assert (outcome["column"], outcome["kind"]) == ("default_12m", "outcome")
    check = client.get("/v1/audit/verify", headers=keys["auditor"]).json()
    assert check["ok"] and check["row_problems_total"] == 0 and check["rows_checked"] >= 400
    again = client.post("/v1/imports", files={"file": ("p.csv", path.read_bytes(), "text/csv")},
                        headers=keys["committee"]).json()  # fmt: skip
    assert (again["repeat_of"], again["rows_stored"]) == (body["import_id"], 0)


# ----------------------------------------------------------------------------- freshness


def test_a_stale_tax_grade_is_treated_as_each_rule_set_says(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    # as of 2026-06-30 the release in force is the grade for 2025; a 2023 grade ended on 2025-04-30
    stale = good_profile(920, as_of=AS_OF, tax_credit_year=2023, mu_eval_year=2025, env_credit_year=2025)
    fresh = good_profile(921, as_of=AS_OF, tax_credit_year=2025, mu_eval_year=2025, env_credit_year=2025)
    for p in (stale, fresh):
        assert client.post("/v1/enterprises", json=p, headers=keys["committee"]).status_code == 201

    def decide(uscc: str, product: str) -> dict[str, Any]:
        r = client.post("/v1/decisions", json={"uscc": uscc, "product": product}, headers=keys["committee"])
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    own_reason = decide(stale["uscc"], "chengxindai")  # 企业诚信贷: a reason of its own
    assert own_reason["status"] == "NOT_APPLICABLE"
    assert [p["code"] for p in own_reason["preconditions_failed"]] == ["STALE_TAX_GRADE"]
    assert own_reason["reasons"][0]["code"] == "STALE_TAX_GRADE"
    as_missing = decide(stale["uscc"], "yuanbaodai")  # 园保贷: a stale grade counts as missing
    assert [p["code"] for p in as_missing["preconditions_failed"]] == ["PRE_TAX_GRADE"]
    sources = client.get(f"/v1/decisions/{own_reason['decision_id']}/sources", headers=keys["auditor"]).json()
    grade_source = next(f for f in sources if f["field"] == "tax_credit_grade")
    assert (grade_source["via"], grade_source["as_of"]) == ("api", AS_OF)  # beside the record, not in it
    replayed = client.post(f"/v1/decisions/{own_reason['decision_id']}/replay", headers=keys["auditor"]).json()
    assert replayed["identical"]
    current = decide(fresh["uscc"], "chengxindai")
    assert current["status"] == "ELIGIBLE" and "STALE_TAX_GRADE" not in {r["code"] for r in current["reasons"]}
    assert current["valid_until"] == "2026-12-31"  # the 2025 亩均 class and environmental level end then


def test_the_cli_prints_the_report_and_exits_with_the_refusal(
    client: TestClient, keys: dict[str, dict[str, str]], settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = tmp_path / "园区企业数据.xlsx"
    path.write_bytes(department_workbook())
    out = run_cli(settings, ["import", str(path), "--key", token_of(keys["committee"])], monkeypatch)
    assert out.exit_code == 0, out.output
    assert "环境信用等极" in out.stdout and "环境信用等级" in out.stdout  # the skipped column and its suggestion
    assert f"row {BAD_ROW}, column 统一社会信用代码" in out.stderr
    env = department_key(client, keys, "environment")
    foreign = tmp_path / "env.csv"
    foreign.write_text(f"统一社会信用代码,纳税信用等级\n{GOOD[0]},A\n", encoding="utf-8")
    out = run_cli(settings, ["import", str(foreign), "--key", token_of(env)], monkeypatch)
    assert out.exit_code == 3 and "tax_credit_grade" in out.stderr
    strict = run_cli(settings, ["import", str(path), "--key", token_of(keys["committee"]), "--strict"], monkeypatch)
    assert strict.exit_code == 1  # an unknown column refuses the file: nothing stored
    assert snapshot_count(client, keys, GOOD) == 5


def test_score_reads_a_department_workbook_and_names_what_it_skipped(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "园区企业数据.xlsx"
    path.write_bytes(department_workbook())
    out = run_cli(settings, ["score", str(path), "--out", str(tmp_path / "d.csv")], monkeypatch)
    assert out.exit_code == 0, out.output
    assert "环境信用等极 (did you mean 环境信用等级?)" in out.stdout.replace("\n", "")
    scored = (tmp_path / "d.csv").read_text(encoding="utf-8").splitlines()
    assert len(scored) == 1 + len(GOOD)  # the header row found under the title; the bad row left out
    typo = tmp_path / "dup.csv"
    typo.write_text("统一社会信用代码,企业名称,数据日期,资产负债率\n", encoding="utf-8")
    out = run_cli(settings, ["score", str(typo), "--out", str(tmp_path / "e.csv")], monkeypatch)
    assert out.exit_code == 2 and "derived" in out.stderr  # a file-level problem is an error, not 0 rows scored


def test_a_department_sends_its_feed_on_the_import_page(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    code = make_uscc(930)
    assert (
        client.post("/v1/enterprises", json=good_profile(930, uscc=code), headers=keys["committee"]).status_code == 201
    )
    tax = department_key(client, keys, "tax")
    web, csrf = signed_in(client, tax)
    form = web.get("/web/import").text
    assert 'value="tax"' in form and 'value="environment"' not in form  # its own department only
    r = web.post("/web/import", data={"csrf": csrf, "as_of": "2026-05-15"},
                 files={"file": ("grades.csv", tax_bureau_csv([(code, "B", 2025)]), "text/csv")})  # fmt: skip
    assert r.status_code == 200 and 'id="rows-stored">1<' in r.text and 'id="import-dept">tax<' in r.text
    assert web.get("/web/data-quality").status_code == 200  # its own
    assert web.get("/web/data-quality?department=environment").status_code == 403
    assert web.get("/web/portfolio").status_code == 403  # no committee page
    foreign = f"统一社会信用代码,环境信用等级\n{code},BLUE\n".encode()
    r = web.post("/web/import", data={"csrf": csrf}, files={"file": ("env.csv", foreign, "text/csv")})
    assert r.status_code == 403 and "env_credit_level" in r.text
