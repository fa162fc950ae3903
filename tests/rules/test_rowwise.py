"""Differential test: the vectorised `decide` and a plain per-row evaluation reach the same decisions.

The per-row evaluator (`rules.rowwise`) reinterprets every expression's source independently, so
agreement checks the numpy compilation of the language, missing values included: a tenth of the
input cells are blanked at random.
"""

from __future__ import annotations

import numpy as np
import pytest

from parkcredit.catalog import load_product
from parkcredit.decision import decide
from parkcredit.profile import COLUMNS, coerce, derive
from parkcredit.rules.rowwise import decide_rows, rows_of
from parkcredit.synth import generate

KEEP = {"uscc", "as_of", "park_id", "name"}


@pytest.fixture(scope="module")
def frames():
    table = generate(1500, seed=13)[COLUMNS]
    rng = np.random.default_rng(13)
    holed = table.copy()
    for col in holed.columns:
        if col not in KEEP:
            holed.loc[rng.random(len(holed)) < 0.1, col] = None
    return {"complete": derive(coerce(table)[0]), "holed": derive(coerce(holed)[0])}


@pytest.mark.parametrize("product", ["chengxindai", "xiaoweikuaidai", "yuanbaodai"])
@pytest.mark.parametrize("which", ["complete", "holed"])
def test_vectorised_equals_per_row(frames, product: str, which: str) -> None:
    rs, frame = load_product(product), frames[which]
    summary = decide(frame, rs).summary
    ref = decide_rows(rows_of(frame, rs), rs)
    assert [r["status"] for r in ref] == summary["status"].tolist()
    assert [r["limit_yuan"] for r in ref] == summary["limit_yuan"].tolist()
    assert [r["band"] for r in ref] == summary["band"].tolist()
    assert np.allclose([r["total_score"] for r in ref], summary["total_score"].to_numpy(), atol=1e-3)
    assert len(set(summary["status"])) >= 2  # the rows exercise more than one outcome
