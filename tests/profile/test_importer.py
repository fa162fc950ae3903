"""Importing the committee's spreadsheets: headers, units, cell spellings, per-row errors."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from parkcredit.profile import FIELDS, coerce
from parkcredit.profile.importer import ImportResult, ProfileImportError, import_table
from parkcredit.profile.uscc import check_char, org_check_char
from parkcredit.synth import DEFAULT_COLUMN, generate
from parkcredit.tableio import write_table

AS_OF = "2026-06-30"


def uscc(n: int, region: str = "510311") -> str:
    """A well-formed enterprise code (test fixture only) with body 'MA6' + n in five digits."""
    org8 = f"MA6{n:05d}"
    body = "91" + region + org8 + org_check_char(org8)
    return body + check_char(body)


def wrong_check(code: str) -> tuple[str, str]:
    """`code` with a wrong check character, and the character that was expected."""
    bad = "0" if code[17] != "0" else "1"
    return code[:17] + bad, code[17]


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def only(result: ImportResult) -> dict[str, object]:
    assert result.rows_ok == 1, [str(e) for e in result.errors]
    return result.frame.iloc[0].to_dict()


# ----------------------------------------------------------------------------- headers and units


def test_chinese_headers_and_wan_yuan_give_exact_integer_yuan_from_csv(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "park.csv",
        [
            [
                "统一社会信用代码",
                "企业名称",
                "数据日期",
                "营业收入(上年)（万元）",
                "纳税总额(上年)(万元)",
                "注册资本(元)",
            ],
            [uscc(1), "自贡恒达化工有限公司", AS_OF, "1234.5678", "0.07", "5,000,000"],
            [uscc(2), "四川瑞丰机械有限公司", AS_OF, "1,234.56", "0.0001", "100"],
        ],
    )
    result = import_table(path)
    assert result.ok and result.rows_read == 2 and result.rows_ok == 2
    frame = result.frame
    assert frame["revenue_yuan_y1"].tolist() == [12_345_678, 12_345_600]
    assert frame["tax_paid_yuan_y1"].tolist() == [700, 1]  # 0.07 x 10,000 is 700.0000000000001 in floats
    assert frame["registered_capital_yuan"].tolist() == [5_000_000, 100]
    assert [p.revenue_yuan_y1 for p in result.profiles] == [12_345_678, 12_345_600]
    assert result.columns["营业收入(上年)（万元）"] == "revenue_yuan_y1"


def test_xlsx_numbers_dates_and_booleans_come_through_exactly(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "park.xlsx",
        [
            [
                "统一社会信用代码",
                "企业名称",
                "数据日期",
                "营业收入(上年)(万元)",
                "成立日期",
                "高危行业",
                "用地面积(亩)",
            ],
            [uscc(3), "自贡鑫源新材料有限公司", dt.date(2026, 6, 30), 1234.5678, dt.datetime(2015, 3, 1), True, 12.5],
        ],
    )
    row = only(import_table(path))
    assert row["revenue_yuan_y1"] == 12_345_678
    assert row["established_on"] == pd.Timestamp("2015-03-01")
    assert row["as_of"] == pd.Timestamp("2026-06-30")
    assert row["high_risk_sector"] == 1.0
    assert row["land_area_mu"] == 12.5


def test_english_field_names_case_insensitive_with_a_unit(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "en.csv",
        [
            ["USCC", "name", "as_of", "revenue_yuan_y1 (万元)", "Tax_Credit_Grade", "hazard_rectification_rate (%)"],
            [uscc(4), "Zigong Test Co.", AS_OF, "12.5", "a", "95"],
        ],
    )
    row = only(import_table(path))
    assert row["revenue_yuan_y1"] == 125_000
    assert row["tax_credit_grade"] == "A"
    assert row["hazard_rectification_rate"] == pytest.approx(0.95)


def test_mixed_chinese_and_english_headers(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "mixed.csv",
        [
            ["uscc", "企业名称", "as_of", "纳税信用等级", "revenue_yuan_y2", "环境信用等级"],
            [uscc(5), "自贡宏达电气有限公司", AS_OF, "B", "880000", "蓝色"],
        ],
    )
    row = only(import_table(path))
    assert (row["tax_credit_grade"], row["revenue_yuan_y2"], row["env_credit_level"]) == ("B", 880_000, "BLUE")


def test_unknown_header_is_skipped_with_a_suggestion_and_strict_refuses_it(tmp_path: Path) -> None:
    # changed in issue 13: an unknown column no longer refuses the file; it is skipped, listed, and the
    # nearest known header suggested; strict=True keeps the old all-or-nothing refusal (a file-level error)
    path = write_csv(
        tmp_path / "typo.csv",
        [["统一社会信用代码", "企业名称", "数据日期", "纳税信用等极"], [uscc(6), "自贡甲有限公司", AS_OF, "A"]],
    )
    result = import_table(path)
    assert result.rows_ok == 1 and not result.errors and not result.file_errors
    [skipped] = result.skipped
    assert (skipped.column, skipped.kind, skipped.suggestion) == ("纳税信用等极", "unknown", "纳税信用等级")
    assert "unknown header" in skipped.reason_en and "无法识别" in skipped.reason_zh
    strict = import_table(path, strict=True)
    assert strict.rows_ok == 0
    [error] = strict.file_errors
    assert (error.row, error.column, error.field) == (1, "纳税信用等极", None) and "纳税信用等级" in error.reason_en


def test_ignored_columns_are_skipped_knowingly(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "extra.csv",
        [
            ["序号", "统一社会信用代码", "企业名称", "数据日期", "备注"],
            ["1", uscc(7), "自贡乙有限公司", AS_OF, "新入园"],
        ],
    )
    assert import_table(path, ignore_columns=["序号", "备注"]).rows_ok == 1


def test_two_headers_for_one_field_are_an_error(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "dup.csv",
        [
            ["统一社会信用代码", "企业名称", "数据日期", "营业收入(上年)", "revenue_yuan_y1 (万元)"],
            [uscc(8), "自贡丙有限公司", AS_OF, "100", "1"],
        ],
    )
    result = import_table(path)
    assert result.rows_ok == 0
    [error] = result.file_errors  # a header problem is file-level (issue 13), not a rejected row
    assert not result.errors
    assert (error.row, error.column, error.field) == (1, "revenue_yuan_y1 (万元)", "revenue_yuan_y1")
    assert "duplicate column" in error.reason_en


@pytest.mark.parametrize(
    ("header", "expected"),
    [("纳税信用等级(万元)", "takes no unit"), ("营业收入(上年)(千元)", "not understood"), ("资产负债率", "derived")],
)
def test_headers_that_cannot_be_used_say_why(tmp_path: Path, header: str, expected: str) -> None:
    path = write_csv(
        tmp_path / "h.csv", [["统一社会信用代码", "企业名称", "数据日期", header], [uscc(9), "x", AS_OF, "1"]]
    )
    [error] = import_table(path).file_errors
    assert error.row == 1 and error.column == header and expected in error.reason_en


def test_missing_required_column_or_an_as_of_given_by_the_caller(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "no_date.csv", [["统一社会信用代码", "企业名称"], [uscc(10), "自贡丁有限公司"]])
    [error] = import_table(path).file_errors
    assert (error.row, error.column, error.field) == (1, "数据日期", "as_of")
    row = only(import_table(path, as_of=dt.date(2026, 6, 30)))
    assert row["as_of"] == pd.Timestamp("2026-06-30")


# ----------------------------------------------------------------------------- bad rows


def test_bad_rows_are_reported_with_spreadsheet_row_header_and_reason(tmp_path: Path) -> None:
    header = ["统一社会信用代码", "企业名称", "数据日期", "营业收入(上年)(万元)", "纳税信用等级", "成立日期"]
    rows: list[list[object]] = [
        [uscc(100 + i), f"自贡企业{i}有限公司", AS_OF, "120.5", "B", "2018-05-01"] for i in range(20)
    ]
    bad_code, expected_char = wrong_check(uscc(103))
    rows[3][0] = bad_code  # spreadsheet row 5
    rows[7][3] = "-5"  # row 9: negative revenue
    rows[11][4] = "E"  # row 13: no such grade
    rows[15][5] = "2024-02-30"  # row 17: no such day
    path = write_xlsx(tmp_path / "bad.xlsx", [header, *rows])

    result = import_table(path)
    assert (result.rows_read, result.rows_ok) == (20, 16)
    assert [(e.row, e.column, e.field) for e in result.errors] == [
        (5, "统一社会信用代码", "uscc"),
        (9, "营业收入(上年)(万元)", "revenue_yuan_y1"),
        (13, "纳税信用等级", "tax_credit_grade"),
        (17, "成立日期", "established_on"),
    ]
    uscc_error = result.errors[0]
    assert (
        str(uscc_error)
        == f"row 5, column 统一社会信用代码: check character should be {expected_char}, got {bad_code[17]}"
    )
    assert uscc_error.reason_zh == f"校验码应为 {expected_char}，实际为 {bad_code[17]}"
    assert result.errors[1].reason_en == "must not be negative" and result.errors[1].reason_zh == "不能为负数"
    assert "must be one of A, B, M, C, D" in result.errors[2].reason_en
    assert "not a valid date" in result.errors[3].reason_en
    assert bad_code not in set(result.frame["uscc"])
    assert len(result.frame) == 16 and result.frame["revenue_yuan_y1"].eq(1_205_000).all()
    assert list(result.errors_frame().columns) == ["row", "column", "field", "reason_en", "reason_zh"]


def test_strict_mode_imports_nothing_when_any_row_is_bad(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "strict.csv",
        [["统一社会信用代码", "企业名称", "数据日期", "纳税信用等级"]]
        + [[uscc(200 + i), f"企业{i}", AS_OF, "A"] for i in range(5)]
        + [[uscc(299), "坏企业", AS_OF, "E"]],
    )
    assert import_table(path).rows_ok == 5
    result = import_table(path, strict=True)
    assert result.rows_ok == 0 and result.frame.empty and result.profiles == []
    assert [e.row for e in result.errors] == [7]


def test_a_row_reports_every_problem_it_has(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "many.csv",
        [
            ["统一社会信用代码", "企业名称", "数据日期", "营业收入(上年)", "隐患整改率", "行业代码", "高危行业"],
            ["91510311MA62Y8K390", "", AS_OF, "abc", "1.5", "26", "maybe"],
        ],
    )
    result = import_table(path)
    assert result.rows_ok == 0
    assert {e.field: e.reason_en for e in result.errors} == {
        "uscc": "check character should be 1, got 0",
        "name": "required",
        "revenue_yuan_y1": "not a number: 'abc'",
        "hazard_rectification_rate": "must be at most 1.0",
        "industry_code": "must be a GB/T 4754 code such as C26 or C2614",
        "high_risk_sector": "must be yes or no (是/否, true/false, 1/0), got 'maybe'",
    }
    assert {e.row for e in result.errors} == {2}


def test_a_repeated_uscc_is_an_error_on_the_later_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "repeat.csv",
        [
            ["统一社会信用代码", "企业名称", "数据日期"],
            [uscc(11), "甲", AS_OF],
            [uscc(12), "乙", AS_OF],
            [uscc(11).lower(), "丙", AS_OF],
        ],
    )
    result = import_table(path)
    assert result.rows_ok == 2
    [error] = result.errors
    assert (error.row, error.field) == (4, "uscc") and "already on row 2" in error.reason_en


def test_empty_rows_are_skipped_and_row_numbers_stay_those_of_the_sheet(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "gaps.csv",
        [
            ["统一社会信用代码", "企业名称", "数据日期"],
            [uscc(13), "甲", AS_OF],
            ["", "", ""],
            [],
            [wrong_check(uscc(14))[0], "乙", AS_OF],
        ],
    )
    result = import_table(path)
    assert result.rows_read == 2 and result.rows_ok == 1
    assert [e.row for e in result.errors] == [5]


def test_a_raw_id_card_number_is_refused_in_the_hash_column(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "pii.csv",
        [
            ["统一社会信用代码", "企业名称", "数据日期", "法定代表人证件哈希"],
            [uscc(15), "甲", AS_OF, "51030219800101123X"],
        ],
    )
    [error] = import_table(path).errors
    assert error.field == "legal_rep_id_hash" and "raw ID-card number" in error.reason_en


# ----------------------------------------------------------------------------- cell spellings


@pytest.mark.parametrize(
    ("header", "cell", "expected"),
    [
        ("纳税信用等级", "A级", "A"),
        ("纳税信用等级", "Ｍ", "M"),
        ("环境信用等级", "绿", "GREEN"),
        ("环境信用等级", "环保诚信企业", "GREEN"),
        ("环境信用等级", "蓝色", "BLUE"),
        ("环境信用等级", "环保警示", "YELLOW"),
        ("环境信用等级", "红", "RED"),
        ("环境信用等级", "黑色", "BLACK"),
        ("环境信用等级", "未评价", "NOT_RATED"),
        ("环境信用等级", "未评级", "NOT_RATED"),
        ("安全生产标准化等级", "一级", "L1"),
        ("安全生产标准化等级", "二级", "L2"),
        ("安全生产标准化等级", "3", "L3"),
        ("安全生产标准化等级", "无", "NONE"),
        ("专精特新等级", "无", "NONE"),
        ("专精特新等级", "创新型中小企业", "INNOV_SME"),
        ("专精特新等级", "省级专精特新", "PROV_SRDI"),
        ("专精特新等级", "国家级小巨人", "LITTLE_GIANT"),
        ("专精特新等级", '专精特新"小巨人"', "LITTLE_GIANT"),
        ("专精特新等级", "专精特新“小巨人”", "LITTLE_GIANT"),
        ("环评状态", "已批复", "APPROVED"),
        ("环评状态", "已备案", "REGISTERED"),
        ("环评状态", "缺失", "MISSING"),
        ("环评状态", "无需", "NOT_REQUIRED"),
        ("排污许可", "排污登记", "REGISTRATION"),
        ("突发环境事件等级(36个月)", "较大", "LARGER"),
        ("突发环境事件等级(36个月)", "Ⅳ级", "GENERAL"),
        ("亩均效益等级", "A类", "A"),
    ],
)
def test_chinese_enum_values_are_mapped(tmp_path: Path, header: str, cell: str, expected: str) -> None:
    path = write_csv(
        tmp_path / "e.csv", [["统一社会信用代码", "企业名称", "数据日期", header], [uscc(16), "甲", AS_OF, cell]]
    )
    field = next(name for name, info in FIELDS.items() if info.zh == header)
    assert only(import_table(path))[field] == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("是", 1.0), ("否", 0.0), ("true", 1.0), ("FALSE", 0.0), ("1", 1.0), ("0", 0.0), ("Y", 1.0), ("n", 0.0)],
)
def test_booleans_in_chinese_and_english(tmp_path: Path, cell: str, expected: float) -> None:
    path = write_csv(
        tmp_path / "b.csv",
        [["统一社会信用代码", "企业名称", "数据日期", "失信被执行人(企业)"], [uscc(17), "甲", AS_OF, cell]],
    )
    assert only(import_table(path))["dishonest_debtor_enterprise"] == expected


@pytest.mark.parametrize(
    "cell", ["2024-01-31", "2024/1/31", "2024.01.31", "2024年1月31日", "20240131", "2024-01-31 00:00:00"]
)
def test_dates_in_the_spellings_people_type(tmp_path: Path, cell: str) -> None:
    path = write_csv(
        tmp_path / "d.csv", [["统一社会信用代码", "企业名称", "数据日期", "成立日期"], [uscc(18), "甲", AS_OF, cell]]
    )
    assert only(import_table(path))["established_on"] == pd.Timestamp("2024-01-31")


def test_full_width_characters_and_placeholders(tmp_path: Path) -> None:
    full_width = uscc(19).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"})
    path = write_csv(
        tmp_path / "fw.csv",
        [
            ["统一社会信用代码", "企业名称", "数据日期", "营业收入（上年）（万元）", "纳税信用等级", "欠税金额"],
            [full_width, "自贡（沿滩）甲有限公司", AS_OF, "１２", "—", "-"],
        ],
    )
    row = only(import_table(path))
    assert row["uscc"] == uscc(19)
    assert row["name"] == "自贡（沿滩）甲有限公司"  # names are kept as registered
    assert row["revenue_yuan_y1"] == 120_000
    assert pd.isna(row["tax_credit_grade"]) and pd.isna(row["tax_arrears_yuan"])


def test_gbk_csv_saved_by_chinese_excel_is_read(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "gbk.csv", [["统一社会信用代码", "企业名称", "数据日期"], [uscc(20), "自贡甲有限公司", AS_OF]], "gbk"
    )
    assert only(import_table(path))["name"] == "自贡甲有限公司"


def test_unreadable_sources_raise(tmp_path: Path) -> None:
    with pytest.raises(ProfileImportError, match="no such file"):
        import_table(tmp_path / "absent.csv")
    (tmp_path / "old.xls").write_bytes(b"")  # .xls is read since issue 13 (calamine); an empty one is damaged
    with pytest.raises(ProfileImportError, match="not a readable workbook"):
        import_table(tmp_path / "old.xls")
    (tmp_path / "notes.docx").write_bytes(b"x")
    with pytest.raises(ProfileImportError, match="unsupported file type"):
        import_table(tmp_path / "notes.docx")


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_synthetic_park_round_trips_through_a_file(tmp_path: Path, suffix: str) -> None:
    park = generate(150, 3).drop(columns=DEFAULT_COLUMN)
    write_table(park, tmp_path / f"park{suffix}")
    result = import_table(tmp_path / f"park{suffix}")
    assert result.ok and result.rows_ok == 150
    expected, _ = coerce(park)
    pd.testing.assert_frame_equal(result.frame, expected)


def test_a_frame_of_cells_is_accepted_with_rows_numbered_as_in_a_sheet() -> None:
    cells = pd.DataFrame({"统一社会信用代码": [uscc(21), "bad"], "企业名称": ["甲", "乙"], "数据日期": [AS_OF, AS_OF]})
    result = import_table(cells)
    assert result.rows_ok == 1
    assert [(e.row, e.column) for e in result.errors] == [(3, "统一社会信用代码")]


def test_excel_serial_dates_compact_dates_and_codes_stored_as_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "numbers.xlsx",
        [
            ["统一社会信用代码*", "企业名称", "数据日期", "成立日期", "隐患整改率"],
            [uscc(22), "甲", 20260630, 45322, "85%"],  # 45322 = 2024-01-31 in Excel's calendar
            [915103112074653157, "乙", 20260630, 45322, 0.9],  # an 18-digit code typed as a number
        ],
    )
    result = import_table(path)
    row = result.frame.iloc[0]
    assert (row["as_of"], row["established_on"]) == (pd.Timestamp("2026-06-30"), pd.Timestamp("2024-01-31"))
    assert row["hazard_rectification_rate"] == pytest.approx(0.85)
    [error] = result.errors
    assert (error.row, error.column) == (3, "统一社会信用代码*") and "format the column as text" in error.reason_en
    assert error.message_zh.startswith("第3行，列 统一社会信用代码*：")
