"""`to_frame` (validated profiles, fast path) and `coerce` (raw tables) give the same canonical frame."""

from __future__ import annotations

import pandas as pd

from factories import E1, profile
from parkcredit.profile import COLUMNS, Profile, coerce, to_frame
from parkcredit.synth import generate


def test_to_frame_equals_coerce_on_synthetic_rows_and_the_reference_enterprise() -> None:
    table = generate(200, seed=9)[COLUMNS]
    coerced, errors = coerce(table)
    assert not errors
    records = table.to_dict("records")
    profiles = [Profile.model_validate({k: v for k, v in r.items() if not pd.isna(v)}) for r in records]
    fast = to_frame(profiles)
    pd.testing.assert_frame_equal(fast, coerced, check_dtype=True)
    ref, _ = coerce(pd.DataFrame([profile(hnte_valid_until=None)], columns=COLUMNS))
    pd.testing.assert_frame_equal(to_frame([{**E1, "hnte_valid_until": None}]), ref)


def test_coerce_cleans_text_once_per_distinct_value_and_keeps_row_order() -> None:
    """Enums are trimmed and upper-cased, flags read from words, USCCs normalised (full-width,
    spaces, hyphens, lower case) — and every row keeps its own value (values are mapped per
    distinct value, then gathered back)."""
    raw = generate(6, seed=3)[COLUMNS].astype(object)
    codes = raw["uscc"].tolist()
    raw["uscc"] = [codes[0], f" {codes[1][:6]}-{codes[1][6:]} ", codes[2].lower(),
                   "".join(chr(ord(c) + 0xFEE0) for c in codes[3]), codes[4], codes[5]]  # fmt: skip
    raw["tax_credit_grade"] = [" a", "B", "b ", None, "m", "A"]
    raw["abnormal_taxpayer"] = ["是", "否", "true", None, "0", True]
    frame, errors = coerce(raw)
    assert errors == []
    assert frame["uscc"].tolist() == codes
    assert frame["tax_credit_grade"].astype(object).where(frame["tax_credit_grade"].notna(), None).tolist() == [
        "A", "B", "B", None, "M", "A"]  # fmt: skip
    assert isinstance(frame["tax_credit_grade"].dtype, pd.CategoricalDtype)
    assert frame["abnormal_taxpayer"].tolist()[:3] + frame["abnormal_taxpayer"].tolist()[4:] == [
        1.0,
        0.0,
        1.0,
        0.0,
        1.0,
    ]
    assert pd.isna(frame["abnormal_taxpayer"].iloc[3])


def test_enum_column_codes_a_few_values_like_many() -> None:
    """`enum_column` has a dict path for the one-row API call and a pandas path for batches."""
    from parkcredit.profile.frame import enum_column

    values = ["A", None, "X", "D", float("nan"), "M"]  # X: not a choice -> missing
    few = enum_column(values, ("A", "B", "M", "C", "D"))
    many = enum_column(values * 100, ("A", "B", "M", "C", "D"))
    assert few.dtype == many.dtype and list(few.cat.categories) == ["A", "B", "M", "C", "D"]
    assert few.cat.codes.tolist() * 100 == many.cat.codes.tolist()
    assert few.cat.codes.tolist() == [0, -1, -1, 4, -1, 2]
