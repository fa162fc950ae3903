"""`decide_profiles` (one enterprise's path, issue 18: no frames) decides exactly as `decide(to_frame(...))`.

The API decides one enterprise with `decide_profiles`; the batch paths, replay and the golden files go
through frames. Both must give the same records byte for byte, and the same summary and inputs frames —
on thousands of synthetic profiles (half with a third of their values missing) of every product, with and
without the model, in every model mode, one profile at a time and many at once.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from golden.regenerate import PRODUCTS, RULES, load_cases, model_for, ruleset
from parkcredit import synth
from parkcredit.decision import canonical_json, decide, decide_profiles
from parkcredit.profile import COLUMNS, FIELDS, Profile, to_frame
from parkcredit.profile.derive import DERIVED, derive_columns
from parkcredit.profile.frame import FrameColumns, ProfileColumns
from parkcredit.rules import RuleSet, parse_ruleset

N = 2000
ALONE = 400  # of them also decided one at a time (the API's case)
REQUIRED = ("uscc", "name", "as_of")


@cache
def profiles() -> list[Profile]:
    """N synthetic profiles, every other one with ~30 % of its values missing, then the golden cases."""
    rng = np.random.default_rng(18)
    out = []
    for i, row in enumerate(synth.generate(N, 18)[COLUMNS].to_dict("records")):
        values = {k: v for k, v in row.items() if not pd.isna(v)}
        if i % 2:
            values = {k: v for k, v in values.items() if k in REQUIRED or rng.random() > 0.3}
        out.append(Profile.model_validate(values))
    return out + [Profile.model_validate(p) for _, p in load_cases()]


def _modes(product: str) -> RuleSet:
    """The product's rule set with the model deciding (pd_ceiling), for the model's reasons and gate."""
    text = (RULES / f"{product}.yaml").read_text(encoding="utf-8")
    head, _, _ = text.partition("\nmodel:")
    return parse_ruleset(head + "\nmodel:\n  mode: pd_ceiling\n  pd_ceiling: 0.03\n")


def _limit_scaling(product: str) -> RuleSet:
    text = (RULES / f"{product}.yaml").read_text(encoding="utf-8")
    head, _, _ = text.partition("\nmodel:")
    return parse_ruleset(
        head + "\nmodel:\n  mode: limit_scaling\n  limit_scaling: [[0.01, 1.0], [0.03, 0.6], [1.0, 0.0]]\n"
    )


CASES = [(p, "rules") for p in PRODUCTS] + [(p, "model") for p in PRODUCTS] + [
    ("chengxindai", "pd_ceiling"), ("xiaoweikuaidai", "limit_scaling")]  # fmt: skip


def _setup(product: str, mode: str) -> tuple[RuleSet, object]:
    if mode == "pd_ceiling":
        return _modes(product), model_for("model")
    if mode == "limit_scaling":
        return _limit_scaling(product), model_for("model")
    return ruleset(product), model_for(mode)


@pytest.mark.parametrize(("product", "mode"), CASES)
def test_decide_profiles_gives_the_frame_paths_records_byte_for_byte(product: str, mode: str) -> None:
    rs, model = _setup(product, mode)
    ps = profiles()
    ref = decide(to_frame(ps), rs, model)
    want = [canonical_json(ref.record(i)) for i in range(len(ref))]
    batch = decide_profiles(ps, rs, model)
    got = [canonical_json(batch.record(i)) for i in range(len(batch))]
    assert [i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b] == []
    alone = [canonical_json(decide_profiles([p], rs, model).record(0)) for p in ps[:ALONE]]
    assert [i for i, (a, b) in enumerate(zip(alone, want, strict=False)) if a != b] == []
    pd.testing.assert_frame_equal(batch.summary, ref.summary, check_exact=True)
    pd.testing.assert_frame_equal(batch.inputs, ref.inputs, check_exact=True)
    for name in ("bins", "points", "gate_hits", "reason_slots", "reason_values"):
        assert np.array_equal(getattr(batch, name), getattr(ref, name)), name
    statuses = set(ref.summary["status"])
    assert statuses == {"ELIGIBLE", "INELIGIBLE", "NOT_APPLICABLE"}  # the profiles reach every outcome


def test_profile_columns_are_the_frame_columns_of_the_same_profiles() -> None:
    """Every field and derived field, in each form the decision reads, equal on both sources."""
    ps = profiles()[:500]
    a, b = ProfileColumns.of(ps), FrameColumns(to_frame(ps))
    derive_columns(a)
    derive_columns(b)
    for name, info in {**FIELDS, **DERIVED}.items():
        if info.kind in ("int", "float", "bool"):
            assert np.array_equal(a.num(name), b.num(name), equal_nan=True), name
        elif info.kind == "date":
            assert np.array_equal(a.dates(name), b.dates(name), equal_nan=True), name
            assert np.array_equal(a.days(name), b.days(name), equal_nan=True), name
        else:
            choices = info.choices or None
            (ca, va), (cb, vb) = a.codes(name, choices), b.codes(name, choices)
            assert va == vb and np.array_equal(ca, cb), name
            if info.kind == "str":
                assert a.objects(name).tolist() == b.objects(name).tolist(), name


def test_profile_columns_refuse_what_to_frame_refuses() -> None:
    bad = {**load_cases()[0][1], "uscc": "not a code"}
    with pytest.raises(ValueError) as frame_error:
        to_frame([bad])
    with pytest.raises(ValueError) as columns_error:
        ProfileColumns.of([bad])
    assert str(columns_error.value) == str(frame_error.value)


def test_a_large_batch_decides_as_its_chunks() -> None:
    """Batches of 512 rows and more take their matrix products in one BLAS thread (`decision._product`):
    the same bits as the smaller chunks, which do not."""
    frame = to_frame(profiles()[:1500])
    rs, model = ruleset("chengxindai"), model_for("model")
    whole = decide(frame, rs, model)
    parts = [decide(frame.iloc[s : s + 300], rs, model) for s in range(0, 1500, 300)]
    got = [canonical_json(whole.record(i)) for i in range(len(whole))]
    want = [canonical_json(d.record(i)) for d in parts for i in range(len(d))]
    assert got == want
