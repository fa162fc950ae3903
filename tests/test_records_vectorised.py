"""The batch path's records are the per-row path's, byte for byte (issue 18).

`records.canonical_records` builds every record of a batch column by column; replay compares stored
records byte for byte with `canonical_json(Decisions.record(i))`, so the two must never differ — on
thousands of rows of every product, with and without the model, with many missing values, and in
the number formatting corners (exact rounding, exponents, negative zero).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from golden.regenerate import MODES, PRODUCTS, frame, load_cases, model_for, ruleset
from parkcredit import synth
from parkcredit.decision import Decisions, canonical_json, decide
from parkcredit.profile import to_frame
from parkcredit.profile.frame import frame_of_stored
from parkcredit.profile.importer import import_table
from parkcredit.records import canonical_records, float_texts, per_row_records, round_exact
from parkcredit.tableio import write_table

N = 3000


def _blanked(df: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """`df` with `share` of the cells of every profile column (but the identity) made missing."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    for name in out.columns:
        if name in ("uscc", "name", "as_of", synth.DEFAULT_COLUMN):
            continue
        hole = rng.random(len(out)) < share
        col = out[name]
        if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype.kind in "fM":
            out.loc[hole, name] = None
        else:
            out[name] = col.astype(object).where(~hole, None)
    return out


@pytest.fixture(scope="module")
def park() -> pd.DataFrame:
    """Synthetic enterprises: half as generated, half with 30 % of their values missing."""
    full = synth.generate(N // 2, 18).drop(columns=[synth.DEFAULT_COLUMN])
    holes = _blanked(synth.generate(N - N // 2, 19), 0.3, 5).drop(columns=[synth.DEFAULT_COLUMN])
    return pd.concat([full, holes], ignore_index=True)


def _extra(n: int) -> dict[str, list[Any]]:
    return {"decision_id": [f"d-{i:06d}-\u4f01" for i in range(n)], "snapshot_id": list(range(7, 7 + n))}


def _per_row(d: Decisions, **kw: Any) -> list[bytes]:
    return [canonical_json(r).encode() for r in per_row_records(d, **kw)]


def _first_difference(old: list[bytes], new: list[bytes]) -> str:
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if a != b:
            k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
            return f"row {i}: per-row …{a[k - 80 : k + 80]!r}… vectorised …{b[k - 80 : k + 80]!r}…"
    return ""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("product", PRODUCTS)
def test_vectorised_records_are_the_per_row_records_byte_for_byte(park: pd.DataFrame, product: str, mode: str) -> None:
    d = decide(park, ruleset(product), model_for(mode))
    extra = _extra(len(d))
    new = canonical_records(d, extra=extra)
    old = _per_row(d, extra=extra)
    assert len(new) == len(old) == N
    assert new == old, _first_difference(old, new)
    statuses = {json.loads(t)["status"] for t in new}
    assert statuses == {"ELIGIBLE", "INELIGIBLE", "NOT_APPLICABLE"}  # every kind of record was compared
    assert any(json.loads(t)["knockouts"] for t in new)
    assert any(b'"bin":"MISSING"' in t for t in new)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("product", PRODUCTS)
def test_golden_cases_decided_as_a_batch_give_the_per_row_bytes(product: str, mode: str) -> None:
    profiles = [p for _, p in load_cases()]
    d = decide(frame(profiles), ruleset(product), model_for(mode))
    assert canonical_records(d) == _per_row(d)


def test_a_service_model_status_replaces_the_model_of_every_record(park: pd.DataFrame) -> None:
    d = decide(park.head(200), ruleset("chengxindai"), None)
    info = {**d.model_info, "status": "error"}
    new = canonical_records(d, model_info=info)
    assert new == _per_row(d, model_info=info)
    assert json.loads(new[0])["model"]["status"] == "error"


def test_one_row_and_an_empty_batch(park: pd.DataFrame) -> None:
    d = decide(park.head(1), ruleset("yuanbaodai"), model_for("model"))
    assert canonical_records(d, extra=_extra(1)) == _per_row(d, extra=_extra(1))
    assert canonical_records(decide(park.head(0), ruleset("yuanbaodai"), None)) == []


def test_a_record_field_the_builder_does_not_know_falls_back_to_the_per_row_path(
    park: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Should `Decisions.record` gain a field, the batch stores what the per-row path builds."""
    original = Decisions.record
    monkeypatch.setattr(Decisions, "record", lambda self, i: {**original(self, i), "new_field": i})
    d = decide(park.head(50), ruleset("chengxindai"), None)
    with caplog.at_level(logging.WARNING, logger="parkcredit"):
        new = canonical_records(d)
    assert new == _per_row(d)
    assert json.loads(new[3])["new_field"] == 3
    assert "row by row" in caplog.text


def test_round_exact_is_pythons_round_to_the_last_bit() -> None:
    rng = np.random.default_rng(0)
    ties = np.array([k / 10**4 + 0.5 / 10**4 for k in range(-20000, 20000)])  # decimal halves, inexact in binary
    values = np.concatenate([
        rng.normal(0, 1, 200_000), rng.normal(0, 1e-6, 50_000), rng.lognormal(0, 8, 50_000), ties,
        np.arange(-1000, 1000) * 0.005, np.array([0.0, -0.0, 2.675, 1.0005, -1e-9, 5e-324, 1e300, -1e300, 2.0**52 + 0.5]),
        np.array([math.nan, math.inf, -math.inf]),
    ])  # fmt: skip
    for digits in (4, 6, 9):
        got = round_exact(values, digits)
        want = np.array([round(v, digits) for v in values.tolist()])
        same = (got.view(np.int64) == want.view(np.int64)) | (np.isnan(got) & np.isnan(want))
        assert same.all(), values[~same][:5]


def test_float_texts_are_what_json_dumps_writes() -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate([
        rng.normal(0, 1, 50_000), rng.normal(0, 1e-5, 50_000), rng.lognormal(0, 20, 20_000),
        np.array([0.0, -0.0, 1e-4, 9.999e-5, 1e-5, 1e15, 1e16, 123456789012345678.0, 5e-324, math.nan, math.inf,
                  -math.inf, 60.0, -2.5]),
    ])  # fmt: skip
    assert float_texts(values).tolist() == [json.dumps(v).encode() for v in values.tolist()]


def test_stored_profiles_give_the_frame_to_frame_gives(tmp_path: Path) -> None:
    """The batch reads stored (JSON) profiles without validating them again: the same frame."""
    profiles = [p for _, p in load_cases()]
    stored = [json.loads(json.dumps(to_frame_json(p))) for p in profiles]
    pd.testing.assert_frame_equal(frame_of_stored(stored), to_frame(stored))
    partial = [{k: v for k, v in p.items() if k not in ("tax_credit_grade", "headcount")} for p in stored]
    pd.testing.assert_frame_equal(frame_of_stored(partial), to_frame(partial))  # absent keys: the defaults
    assert len(frame_of_stored([])) == 0


def test_imported_profiles_read_back_give_the_frame_to_frame_gives(park: pd.DataFrame, tmp_path: Path) -> None:
    write_table(park, tmp_path / "park.csv")
    stored = [json.loads(json.dumps(p.model_dump(mode="json"))) for p in import_table(tmp_path / "park.csv").profiles]
    assert len(stored) > N * 0.9
    pd.testing.assert_frame_equal(frame_of_stored(stored), to_frame(stored))


def to_frame_json(profile: dict[str, Any]) -> dict[str, Any]:
    from parkcredit.profile import Profile

    return Profile.model_validate(profile).model_dump(mode="json")
