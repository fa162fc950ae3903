"""The park model in the decision: contributions, monotonicity, fallback, MLflow round trip."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parkcredit.decision import decide
from parkcredit.model.runtime import load_default_model
from parkcredit.settings import Settings


def test_training_reports_cv_auc_ks_brier_and_a_calibration_choice(trained) -> None:
    m = trained.metrics
    for key in ("cv_auc", "cv_auc_std", "ks", "brier", "calibration", "calibration_brier"):
        assert key in m
    assert m["calibration"] in ("isotonic", "platt")
    assert 0.7 < m["cv_auc"] <= 1.0
    assert {"calibration", "pd_decile", "rule_band"} <= set(trained.tables)


def test_contributions_sum_with_base_value_to_raw_score(park_model, park_frame) -> None:
    out = park_model.explain(park_frame)
    X = park_model.matrix(park_frame)
    raw = park_model.booster.predict(X, raw_score=True)
    assert np.abs(out.base_value + out.contributions.sum(axis=1) - raw).max() < 1e-9
    assert np.abs(out.raw - raw).max() < 1e-9
    ref = park_model.booster.predict(X, pred_contrib=True)
    assert np.abs(out.contributions - ref[:, :-1]).max() < 1e-9
    assert out.contributions.shape == (len(park_frame), len(out.features)) == (len(park_frame), len(out.groups))
    assert "MODEL_TAX_GRADE" in out.group_text and out.group_text["MODEL_TAX_GRADE"][0] == "纳税信用等级"


def test_monotone_features_never_move_pd_the_wrong_way(park_model, park_frame) -> None:
    X = park_model.matrix(park_frame)[:100]
    for j, f in enumerate(park_model.spec.features):
        if not f.monotone:
            continue
        grid = np.unique(X[:, j][~np.isnan(X[:, j])])
        if len(grid) < 2:
            continue
        grid = np.quantile(grid, np.linspace(0, 1, min(len(grid), 12)))
        pds = []
        for v in grid:
            Xv = X.copy()
            Xv[:, j] = v
            pds.append(park_model.calibrator.predict(park_model.booster.predict(Xv, raw_score=True)))
        steps = np.diff(np.array(pds), axis=0) * f.monotone  # (grid-1, rows): must be >= 0
        assert steps.min() >= -1e-12, f"{f.name} moves PD against its monotone direction"


def test_better_tax_grade_never_raises_pd(park_model, park_frame) -> None:
    pds = [park_model.predict_pd(park_frame.assign(tax_credit_grade=g)) for g in ["D", "C", "M", "B", "A"]]
    assert (np.diff(np.array(pds), axis=0) <= 1e-12).all()


def test_decision_records_model_version_status_and_model_reasons(park_model, park_frame, chengxindai) -> None:
    d = decide(park_frame, chengxindai, park_model)
    rec = d.record(0)
    assert rec["model"] == {"version": park_model.version, "status": "ok", "mode": "advisory"}
    assert rec["pd"] is not None
    c = rec["contributions"]
    assert abs(c["base_value"] + sum(c["features"].values()) - c["raw_score"]) < 1e-6
    kinds = {r["kind"] for i in range(len(d)) for r in d.record(i)["reasons"]}
    assert "model" not in kinds  # advisory: the model decides nothing, so it gives no reason (issue 17)
    views = [d.record(i)["model_view"] for i in range(len(d))]
    assert any(views) and all(v["kind"] == "model" and v["logodds"] > 0 for view in views for v in view)


def test_load_default_model_loads_the_saved_directory(model_dir, park_model) -> None:
    model, status = load_default_model(Settings(model_dir=model_dir))
    assert model is not None and status["status"] == "ok" and status["version"] == park_model.version


def _status_after(model_dir: Path, tmp_path: Path, damage, caplog) -> dict:
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    damage(broken)
    with caplog.at_level(logging.WARNING, logger="parkcredit.model.runtime"):
        model, status = load_default_model(Settings(model_dir=broken))
    assert model is None
    assert status["status"].startswith("unavailable: ")
    assert any("rules alone" in r.message for r in caplog.records)
    return status


def test_corrupt_booster_falls_back_to_rules(tmp_path, caplog) -> None:
    """A copy of the bundled model decides the golden model records; the same copy with a booster
    that is not a model is refused by the version hash, the status says so, and deciding with
    what the loader returned gives exactly the golden rules-only records (tests/golden/)."""
    from golden.regenerate import MODEL, decide_lines, golden_path, load_cases, render, ruleset

    profiles, rs = [p for _, p in load_cases()], ruleset("chengxindai")
    copy = tmp_path / "default"
    shutil.copytree(MODEL, copy)
    model, status = load_default_model(Settings(model_dir=copy))
    assert model is not None and status["status"] == "ok"  # the control: the copy itself is fine
    assert render(decide_lines(profiles, rs, model)) == golden_path("chengxindai", "model").read_bytes()

    (copy / "artifacts" / "booster.txt").write_text("tree\nnot a model\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="parkcredit.model.runtime"):
        model, status = load_default_model(Settings(model_dir=copy))
    assert model is None and status["version"] is None
    assert status["status"] == (
        "unavailable: ValueError: booster or spec changed since the model was saved (version hash mismatch)"
    )
    assert any("rules alone" in r.message and "version hash mismatch" in r.message for r in caplog.records)
    assert render(decide_lines(profiles, rs, model)) == golden_path("chengxindai", "rules").read_bytes()


def test_missing_model_dir_falls_back(tmp_path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        model, status = load_default_model(Settings(model_dir=tmp_path / "nowhere"))
    assert model is None and "unavailable" in status["status"]


def test_spec_not_matching_profile_schema_falls_back(model_dir, tmp_path, caplog) -> None:
    def rename(p: Path) -> None:
        spec = p / "artifacts" / "spec.yaml"
        spec.write_text(spec.read_text(encoding="utf-8").replace("field: tax_credit_grade", "field: tax_grade_v2"))

    status = _status_after(model_dir, tmp_path, rename, caplog)
    assert "tax_grade_v2" in status["status"]


def test_edited_booster_is_detected_by_the_version_hash(model_dir, tmp_path, caplog) -> None:
    def edit(p: Path) -> None:
        b = p / "artifacts" / "booster.txt"
        b.write_text(b.read_text(encoding="utf-8").replace("learning_rate: 0.1", "learning_rate: 0.2"))

    _status_after(model_dir, tmp_path, edit, caplog)


def test_mlflow_pyfunc_runs_the_whole_decision(model_dir, park_table) -> None:
    import mlflow.pyfunc

    from parkcredit.model.runtime import _as_strings
    from parkcredit.profile import COLUMNS

    pyfunc = mlflow.pyfunc.load_model(str(model_dir))
    out = pyfunc.predict(_as_strings(park_table[COLUMNS].head(5)))
    assert list(out.columns) == ["pd", "raw_score", "eligible", "limit_yuan", "band", "status", "reason_1"]
    assert out["pd"].between(0, 1).all()
    meta = json.loads((model_dir / "artifacts" / "meta.json").read_text(encoding="utf-8"))
    assert meta["features"] == json.loads(json.dumps(meta["features"]))
    assert (model_dir / "MODEL_CARD.md").read_text(encoding="utf-8").startswith("# Model card")


def test_model_dir_is_small(model_dir) -> None:
    size = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
    assert size < 3_000_000


def test_generic_table_mode_on_real_polish_data() -> None:
    from parkcredit.model.spec import generic_spec
    from parkcredit.model.train import GENERIC_PARAMS, load_table, train

    path = Path("/work/shared/data/polish-bankruptcy/5year.arff")
    if not path.exists():
        pytest.skip("Polish bankruptcy data not available")
    table = load_table(path)
    assert set(table["class"].unique()) == {"0", "1"}
    sub = pd.concat([table[table["class"] == "1"], table[table["class"] == "0"].sample(1500, random_state=0)])
    spec = generic_spec(list(sub.columns), "class", {**GENERIC_PARAMS, "n_estimators": 150, "learning_rate": 0.08})
    result = train(sub, target="class", spec=spec, folds=3, seed=0)
    assert result.spec.profile is False and len(result.spec.features) == 64
    assert result.metrics["cv_auc"] > 0.85
