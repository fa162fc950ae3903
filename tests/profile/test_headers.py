"""The header registry: every spelling of a header that names a field, and what the others are."""

from __future__ import annotations

from decimal import Decimal

import pytest

from parkcredit.profile import FIELDS
from parkcredit.profile.headers import (
    SYNONYMS,
    HeaderMatch,
    HeaderProblem,
    names_field,
    resolve_ambiguous,
    resolve_header,
    suggest,
)
from parkcredit.profile.importer import Upload, import_table


@pytest.mark.parametrize(
    ("header", "field", "factor"),
    [
        ("纳税信用等级", "tax_credit_grade", 1),
        ("纳税信用级别", "tax_credit_grade", 1),  # the common variant
        ("纳税缴费信用等级", "tax_credit_grade", 1),  # the name since 2025-07-01
        ("TAX_CREDIT_GRADE", "tax_credit_grade", 1),
        ("上年营业收入(万元)", "revenue_yuan_y1", 10_000),
        ("上年营业收入（万元）", "revenue_yuan_y1", 10_000),  # full-width brackets
        ("营业收入(上年)(万元)", "revenue_yuan_y1", 10_000),
        ("营业收入(上年)（单位：万元）", "revenue_yuan_y1", 10_000),
        ("注册资本(元)", "registered_capital_yuan", 1),
        ("注册资本（亿元）", "registered_capital_yuan", 100_000_000),
        ("revenue_yuan_y1 (万元)", "revenue_yuan_y1", 10_000),
        ("用地面积（亩）", "land_area_mu", 1),
        ("隐患整改率(%)", "hazard_rectification_rate", Decimal("0.01")),
        ("发明专利数（件）", "invention_patents", 1),
        (" 统一社会信用代码* ", "uscc", 1),  # a template's required mark, stray spaces
        ("社会信用代码", "uscc", 1),
        ("企业（单位）名称", "name", 1),
        ("数据截止日期", "as_of", 1),
    ],
)
def test_spellings_people_write_name_their_field(header: str, field: str, factor: int | Decimal) -> None:
    assert resolve_header(header) == HeaderMatch(field, Decimal(factor))
    assert names_field(header)


def test_every_label_and_synonym_names_its_own_field() -> None:
    for name, info in FIELDS.items():
        assert resolve_header(info.zh) == HeaderMatch(name), info.zh
        for spelling in SYNONYMS.get(name, ()):
            got = resolve_header(spelling)
            assert isinstance(got, HeaderMatch) and got.field == name, spelling


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("序号", "bookkeeping"), ("备注", "bookkeeping"), ("联系人", "bookkeeping"), ("联系电话", "bookkeeping"),
        ("default_12m", "outcome"), ("资产负债率", "derived"), ("纳税信用等级(万元)", "unit"),
        ("营业收入(上年)(千元)", "unit"), ("评价年度", "ambiguous"), ("企业规模", "unknown"),
    ],
)  # fmt: skip
def test_other_columns_are_classified_never_dropped_silently(header: str, kind: str) -> None:
    got = resolve_header(header)
    assert isinstance(got, HeaderProblem) and got.kind == kind
    assert got.reason_en and got.reason_zh


def test_an_unknown_header_gets_the_nearest_known_one_as_a_suggestion() -> None:
    got = resolve_header("纳税信用等极")
    assert isinstance(got, HeaderProblem) and got.suggestion == "纳税信用等级"
    assert "did you mean '纳税信用等级'" in got.reason_en and "是否应为“纳税信用等级”" in got.reason_zh
    assert suggest("tax_credit_grad") == "tax_credit_grade"  # an English header gets the field name
    assert suggest("完全无关的列") is None


def test_an_ambiguous_year_is_resolved_by_the_department_or_the_grade_next_to_it() -> None:
    problem = resolve_header("评价年度")
    assert isinstance(problem, HeaderProblem)
    assert resolve_ambiguous(problem, department_zh="税务", fields_present=set()) == "tax_credit_year"
    assert resolve_ambiguous(problem, department_zh=None, fields_present={"env_credit_level"}) == "env_credit_year"
    assert resolve_ambiguous(problem, department_zh=None, fields_present={"uscc"}) is None


def test_the_header_row_is_found_below_title_rows_and_reported() -> None:
    csv = "园区企业数据报送表\n填报单位：沿滩区税务局,,\n统一社会信用代码,纳税信用等级,评价年度\n91510311MA6000701F,A,2025\n"
    res = import_table(Upload(csv.encode(), "t.csv"), partial=True)
    assert res.header_row == 3 and res.fields == ["uscc", "tax_credit_grade", "tax_credit_year"]
    assert "header found on row 3" in res.warnings[0].reason_en
    bad = res.errors[0] if res.errors else None
    assert bad is None or bad.row == 4  # the data row keeps its spreadsheet number


def test_a_file_without_any_known_header_is_refused() -> None:
    from parkcredit.profile.importer import ProfileImportError

    with pytest.raises(ProfileImportError, match="no header row found"):
        import_table(Upload(b"a,b,c\n1,2,3\n", "x.csv"))
