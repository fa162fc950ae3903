"""A small park model, trained once per session (3,000 synthetic enterprises, 60 shallow trees)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def small_spec():
    from parkcredit.model.spec import load_spec

    spec = load_spec(ROOT / "models" / "spec.yaml")
    return spec.model_copy(update={"params": {**spec.params, "n_estimators": 60, "learning_rate": 0.1}})


@pytest.fixture(scope="session")
def park_table():
    from parkcredit.synth import generate

    return generate(3000, 5)


@pytest.fixture(scope="session")
def trained(small_spec, park_table):
    from parkcredit.catalog import load_product
    from parkcredit.model.train import train

    return train(park_table, spec=small_spec, folds=3, seed=1, ruleset=load_product("chengxindai"))


@pytest.fixture(scope="session")
def model_dir(trained, tmp_path_factory) -> Path:
    from parkcredit.model.card import model_card
    from parkcredit.model.runtime import save_model_dir
    from parkcredit.settings import get_settings

    out = tmp_path_factory.mktemp("model") / "default"
    card = model_card(trained, data="synthetic park (test)", command="pytest", version="test")
    save_model_dir(trained, out, ruleset_path=Path(get_settings().rules_dir) / "chengxindai.yaml", card=card)
    return out


@pytest.fixture(scope="session")
def park_model(model_dir):
    from parkcredit.model.runtime import load_model_dir

    model, _, _ = load_model_dir(model_dir)
    return model


@pytest.fixture(scope="session")
def park_frame(park_table):
    from parkcredit.profile import COLUMNS, coerce, derive

    frame, errors = coerce(park_table[COLUMNS].head(400))
    assert not errors
    return derive(frame)
