"""The rule expression language: what it computes, what it refuses (never eval)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkcredit.rules.compile import field_types
from parkcredit.rules.expr import Context, ExprError, compile_expr

TYPES = field_types()


def run(source: str, **columns: list[object]) -> np.ndarray:
    frame = pd.DataFrame(columns)
    for name in frame.columns:
        if TYPES[name].kind == "date":
            frame[name] = pd.to_datetime(frame[name])
        elif TYPES[name].kind in ("num", "bool"):
            frame[name] = frame[name].astype("float64")
    return np.asarray(compile_expr(source, TYPES)(Context(frame, TYPES)))


def test_arithmetic_and_comparison_are_vectorised() -> None:
    out = run("revenue_yuan_y1 * 0.3 >= 3000000", revenue_yuan_y1=[1e7, 9e6, None])
    assert out.tolist() == [True, False, False]


def test_chained_comparison_is_a_range() -> None:
    out = run("0.05 <= net_margin < 0.10", net_margin=[0.05, 0.0999, 0.10, None])
    assert out.tolist() == [True, True, False, False]


def test_missing_bool_field_is_false_and_is_missing_tells() -> None:
    assert run("abnormal_taxpayer", abnormal_taxpayer=[1.0, 0.0, None]).tolist() == [True, False, False]
    assert run("not abnormal_taxpayer", abnormal_taxpayer=[1.0, 0.0, None]).tolist() == [False, True, True]
    assert run("is_missing(abnormal_taxpayer)", abnormal_taxpayer=[1.0, 0.0, None]).tolist() == [False, False, True]


def test_enum_membership_and_missing_text() -> None:
    out = run('tax_credit_grade in ["C", "D"]', tax_credit_grade=["C", "A", None])
    assert out.tolist() == [True, False, False]
    assert run('tax_credit_grade != "A"', tax_credit_grade=["B", "A", None]).tolist() == [True, False, False]


@pytest.mark.parametrize("dtype", [object, "str", "category"])
def test_text_is_compared_as_codes_whatever_the_column_dtype(dtype: object) -> None:
    """Text columns become integer codes inside `Context`; the answers must not depend on how
    the frame holds them (object, pandas str, categorical), nor on missing values."""
    grades = pd.Series(["C", "A", None, "M", "D"], dtype=dtype)
    frame = pd.DataFrame(
        {"tax_credit_grade": grades, "entity_type": pd.Series(["91", "92", "91", None, "93"], dtype=dtype)}
    )
    ctx = Context(frame, TYPES)
    out = {src: compile_expr(src, TYPES)(ctx).tolist() for src in (
        'tax_credit_grade == "C"', 'tax_credit_grade != "C"', 'tax_credit_grade in ["C", "D"]',
        'tax_credit_grade not in ["C", "D"]', 'entity_type == "91"', 'entity_type in ["92", "93"]',
        'entity_type != "99"', 'lookup(tax_credit_grade, {"A": 8, "M": 4}, -1)')}  # fmt: skip
    assert out == {
        'tax_credit_grade == "C"': [True, False, False, False, False],
        'tax_credit_grade != "C"': [False, True, False, True, True],
        'tax_credit_grade in ["C", "D"]': [True, False, False, False, True],
        'tax_credit_grade not in ["C", "D"]': [False, True, False, True, False],
        'entity_type == "91"': [True, False, True, False, False],
        'entity_type in ["92", "93"]': [False, True, False, False, True],
        'entity_type != "99"': [True, True, True, False, True],  # a value no row has: codes never match
        'lookup(tax_credit_grade, {"A": 8, "M": 4}, -1)': [-1, 8, -1, 4, -1],
    }
    # the public view of a text column stays values, None where missing
    assert ctx["tax_credit_grade"].tolist() == ["C", "A", None, "M", "D"]


def test_a_value_outside_an_enums_choices_matches_no_literal() -> None:
    """Never after `coerce`, but `decide` may be handed a raw frame: an unknown grade must not
    be taken for a known one (it gets a code of its own) and is not missing either."""
    assert run('tax_credit_grade == "A"', tax_credit_grade=["X", "A"]).tolist() == [False, True]
    assert run('tax_credit_grade != "A"', tax_credit_grade=["X", "A"]).tolist() == [True, False]
    assert run("is_missing(tax_credit_grade)", tax_credit_grade=["X", None]).tolist() == [False, True]


def test_text_literals_and_two_text_fields() -> None:
    assert run('"A" == "A"', tax_credit_grade=["B", None]).tolist() == [True, True]
    out = run("safety_std_grade == safety_grade_in_force",
              safety_std_grade=["L1", "L2", None], safety_grade_in_force=["L1", "L3", None])  # fmt: skip
    assert out.tolist() == [True, False, False]
    out = run("safety_std_grade != safety_grade_in_force",
              safety_std_grade=["L1", "L2", None], safety_grade_in_force=["L1", "L3", None])  # fmt: skip
    assert out.tolist() == [False, True, False]


def test_numeric_not_equal_with_a_missing_value_is_false() -> None:
    out = run("major_hazards_open != 0", major_hazards_open=[1.0, 0.0, None])
    assert out.tolist() == [True, False, False]
    assert run("not (major_hazards_open == 0)", major_hazards_open=[None]).tolist() == [True]


def test_division_by_zero_is_missing_not_infinite() -> None:
    out = run("revenue_yuan_y1 / revenue_yuan_y2", revenue_yuan_y1=[10.0, 10.0], revenue_yuan_y2=[0.0, 5.0])
    assert np.isnan(out[0]) and out[1] == 2.0


def test_functions() -> None:
    out = run("min(coalesce(tax_paid_yuan_y2, 5), 3) + max(1, 2) + abs(-1) + floor(1.5)", tax_paid_yuan_y2=[None, 1.0])
    assert out.tolist() == [3 + 2 + 1 + 1, 1 + 2 + 1 + 1]
    out = run('lookup(tax_credit_grade, {"A": 8, "B": 6}, 0)', tax_credit_grade=["A", "B", "M", None])
    assert out.tolist() == [8, 6, 0, 0]
    out = run("where(revenue_yuan_y1 > 5, 1, 2)", revenue_yuan_y1=[6.0, 4.0, None])
    assert out.tolist() == [1, 2, 2]


def test_months_since_counts_from_as_of_not_the_clock() -> None:
    out = run(
        "months_since(accident_serious_last_on) < 36",
        as_of=["2026-06-30", "2030-06-30", "2026-06-30"],
        accident_serious_last_on=["2024-01-01", "2024-01-01", None],
    )
    assert out.tolist() == [True, False, False]
    assert run('as_of >= date("2026-01-01")', as_of=["2026-06-30", "2025-12-31"]).tolist() == [True, False]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("__import__('os').system('true')", "not allowed.*calling anything"),
        ("revenue_yuan_y1.__class__", "not allowed.*attribute access"),
        ("tax_credit_grade[0]", "not allowed.*subscripts"),
        ("(lambda: 1)()", "not allowed.*calling anything"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("[x for x in tax_credit_grade]", "not allowed.*comprehensions"),
        ("(x := 1)", "not allowed.*assignment"),
        ("import os", "syntax error"),
        ("1 if abnormal_taxpayer else 2", "inline if"),
        ("f'{revenue_yuan_y1}'", "not allowed.*f-strings"),
        ("min(revenue_yuan_y1, key=abs)", "keyword arguments are not allowed"),
    ],
)
def test_code_injection_is_refused(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        compile_expr(source, TYPES)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("revenu_yuan_y1 > 0", "unknown field 'revenu_yuan_y1'; did you mean 'revenue_yuan_y1'"),
        ('env_credit_level == "GREN"', "'GREN' is not one of the allowed values"),
        ('tax_credit_grade in ["A", "E"]', "'E' is not one of the allowed values"),
        ('revenue_yuan_y1 > "big"', "cannot compare num with str"),
        ("tax_credit_grade + 1", "expected num, got str"),
        ("revenue_yuan_y1 and abnormal_taxpayer", "expected a condition"),
        ("legal_rep_name == 'x'", "unknown field"),  # personal data never reaches rules
    ],
)
def test_type_errors_and_typos_fail_at_compile_time(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        compile_expr(source, TYPES)
