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
