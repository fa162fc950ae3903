"""`profile.frame.Columns` converts a frame's columns exactly as pandas does (issue 18's shortcuts)."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pytest

from parkcredit.profile.frame import FrameColumns

AWKWARD = [True, False, None, np.nan, 1, 2.5, np.True_, np.int64(4), "1.5", "nan", decimal.Decimal("NaN"),
           np.float32("nan"), -9.223372036854776e18]  # fmt: skip


@pytest.mark.parametrize(
    "extra",
    [[], [pd.NA], [pd.NaT], [np.datetime64("NaT")], [np.timedelta64("NaT")], [complex("nan")], [""], [np.array([1.0])]],
)
def test_an_object_column_becomes_what_to_numpy_makes_of_it(extra: list[object]) -> None:
    values = np.empty(len(AWKWARD) + len(extra), dtype=object)
    values[:] = AWKWARD + extra
    col = pd.Series(values, dtype=object)
    try:
        want = col.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            FrameColumns(pd.DataFrame({"x": col})).num("x")
        return
    got = FrameColumns(pd.DataFrame({"x": col})).num("x")
    assert np.array_equal(got, want, equal_nan=True)


def test_prefixes_of_an_arrow_text_column_are_python_slices() -> None:
    values = ["91510311MA6000000Y", "企业诚信", "a", "", None, "😀x😀", "é́x", "\U0010ffffab", "\ud7ff\ue000z"]
    for dtype in ("str", "string[pyarrow]", object):
        cols = FrameColumns(pd.DataFrame({"u": pd.Series(values, dtype=dtype)}))
        for start, stop in ((0, 2), (2, 8)):
            assert cols.prefixes("u", start, stop).tolist() == [
                v[start:stop] if isinstance(v, str) else None for v in values
            ], (dtype, start, stop)
