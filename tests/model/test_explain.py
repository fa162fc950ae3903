"""Fast TreeSHAP tables equal LightGBM's own pred_contrib (random data, NaN, zeros, categoricals)."""

from __future__ import annotations

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")

from parkcredit.model.explain import TreeShapTables  # noqa: E402


def _data(rng: np.random.Generator, n: int, f: int = 10) -> np.ndarray:
    X = rng.normal(size=(n, f))
    X[rng.random((n, f)) < 0.12] = np.nan
    X[:, 3] = rng.integers(-1, 9, n)  # a categorical column, with -1 and unseen codes
    X[rng.random(n) < 0.1, 3] = np.nan
    X[:, 5] = np.where(rng.random(n) < 0.3, 0.0, X[:, 5])
    return X


@pytest.mark.parametrize(
    ("depth", "extra"),
    [(1, {}), (2, {}), (3, {"zero_as_missing": True}), (4, {}), (4, {"use_missing": False}), (5, {})],
)
def test_tables_equal_pred_contrib_within_1e_9(depth: int, extra: dict) -> None:
    rng = np.random.default_rng(depth)
    X = _data(rng, 3000)
    y = (np.nan_to_num(X[:, 0]) + (np.nan_to_num(X[:, 3]) % 3 == 0) + rng.normal(size=len(X)) > 0.5).astype(int)
    ds = lgb.Dataset(X, y, categorical_feature=[3], params={"verbose": -1})
    params = {"objective": "binary", "max_depth": depth, "num_leaves": 2**depth, "verbose": -1,
              "min_data_in_leaf": 5, "learning_rate": 0.1, "num_threads": 1, **extra}  # fmt: skip
    booster = lgb.train(params, ds, num_boost_round=60)
    tables = TreeShapTables.from_booster(booster)
    Xt = _data(rng, 2000)
    Xt[:5, 3] = -0.5  # truncates to category 0, as LightGBM's static_cast<int>
    Xt[5:10, 3] = 1e6
    ref = booster.predict(Xt, pred_contrib=True)
    for force_numpy in (False, True):
        got = tables.contributions(Xt, force_numpy=force_numpy)
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() < 1e-9
    raw = booster.predict(Xt, raw_score=True)
    assert np.abs(got.sum(axis=1) - raw).max() < 1e-9


def test_one_row_equals_batch() -> None:
    rng = np.random.default_rng(1)
    X = _data(rng, 500)
    y = (np.nan_to_num(X[:, 0]) > 0).astype(int)
    booster = lgb.train({"objective": "binary", "max_depth": 3, "verbose": -1}, lgb.Dataset(X, y), 20)
    tables = TreeShapTables.from_booster(booster)
    batch = tables.contributions(X[:50])
    for i in (0, 17, 49):
        assert np.array_equal(tables.contributions(X[i : i + 1])[0], batch[i])


def test_constant_model_has_only_the_expected_value() -> None:
    X = np.zeros((50, 3))
    y = np.r_[np.zeros(25), np.ones(25)].astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 3)
    tables = TreeShapTables.from_booster(booster)
    got = tables.contributions(X[:4])
    assert np.abs(got - booster.predict(X[:4], pred_contrib=True)).max() < 1e-12


def test_a_row_alone_gets_the_bits_it_gets_in_a_batch() -> None:
    """A batch of one block runs the serial kernel (issue 18: no parallel launch for one enterprise), a
    larger batch the parallel one: every row's contributions are the same bits either way."""
    rng = np.random.default_rng(11)
    X = _data(rng, 3000)
    y = (np.nan_to_num(X[:, 0]) + rng.normal(size=len(X)) > 0.3).astype(int)
    ds = lgb.Dataset(X, y, categorical_feature=[3], params={"verbose": -1})
    booster = lgb.train({"objective": "binary", "max_depth": 4, "num_leaves": 16, "verbose": -1, "num_threads": 1},
                        ds, num_boost_round=40)  # fmt: skip
    tables = TreeShapTables.from_booster(booster)
    Xt = _data(rng, 1000)
    batch = tables.contributions(Xt)
    alone = np.vstack([tables.contributions(Xt[i : i + 1]) for i in range(300)])
    small = np.vstack([tables.contributions(Xt[i : i + 100]) for i in range(0, 1000, 100)])
    assert np.array_equal(alone, batch[:300])
    assert np.array_equal(small, batch)
