"""Saved models: the MLflow model directory, loading with fallback, MLflow runs and registry.

A saved model is an MLflow pyfunc directory (`MLmodel` manifest) whose artifacts are plain
files: `booster.txt` (LightGBM text model), `spec.yaml` (the resolved model spec, categories
included), `calibrator.json`, `ruleset.yaml` (the rule set the pyfunc decides with),
`meta.json` (version, metrics) and `MODEL_CARD.md`. The service loads those files directly
(`load_model_dir`: no mlflow import, ~1 s); `mlflow.pyfunc.load_model` on the same directory
runs the whole decision (rules + booster + calibrator + explanations) through
`parkcredit.model.pyfunc.DecisionModel` — the same code as the API.

`load_default_model(settings)` never raises: a missing or corrupt directory, or a spec whose
features no longer match the profile schema, gives `(None, {"status": "unavailable: …"})`, a
logged warning, and decisions run on rules alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
import yaml

from parkcredit.decision import ModelOutput
from parkcredit.model.calibrate import Calibrator
from parkcredit.model.explain import TreeShapTables
from parkcredit.model.features import encode, encode_columns
from parkcredit.model.spec import ModelSpec

if TYPE_CHECKING:
    import lightgbm as lgb
    from mlflow.models.signature import ModelSignature

    from parkcredit.model.train import TrainResult
    from parkcredit.profile.frame import Columns
    from parkcredit.rules.compile import RuleSet

__all__ = ["ModelSettings", "ParkModel", "load_default_model", "load_model_dir", "log_run", "save_model_dir"]

logger = logging.getLogger(__name__)
ARTIFACTS = ("booster", "spec", "calibrator", "ruleset", "meta")
_FILES = {"booster": "booster.txt", "spec": "spec.yaml", "calibrator": "calibrator.json",
          "ruleset": "ruleset.yaml", "meta": "meta.json"}  # fmt: skip


class ModelSettings(Protocol):
    """What `load_default_model` reads of the settings (`parkcredit.settings.Settings` has it;
    an optional `model_enabled: bool` switches the model off)."""

    @property
    def model_dir(self) -> Path | str: ...


class ParkModel:
    """The PD model as the decision sees it (`decision.ScoringModel`): frame in, ModelOutput out."""

    def __init__(
        self, spec: ModelSpec, booster: lgb.Booster, calibrator: Calibrator, *, version: str, status: str = "ok"
    ):
        self.spec = spec
        self.booster = booster
        self.calibrator = calibrator
        self.version = version
        self.status = status
        self.features = spec.feature_names
        self.groups = [f.reason_code for f in spec.features]
        self.group_text = spec.group_text()
        self.tables = TreeShapTables.from_booster(booster)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return encode(frame, self.spec)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """(n, n_features + 1) exact log-odds contributions, last column the base value."""
        if self.tables.supported:
            return self.tables.contributions(X)
        return np.asarray(self.booster.predict(X, pred_contrib=True, num_threads=1 if len(X) == 1 else 0))

    def explain(self, frame: pd.DataFrame) -> ModelOutput:
        return self._explain(self.matrix(frame))

    def explain_columns(self, columns: Columns) -> ModelOutput | None:
        """`explain` of the derived canonical frame of the profiles in `columns` (`decision.decide_profiles`),
        without the frame; None when the spec reads a column only the frame path encodes."""
        X = encode_columns(columns, self.spec)
        return None if X is None else self._explain(X)

    def _explain(self, X: np.ndarray) -> ModelOutput:
        contrib = self.contributions(X)
        raw = contrib.sum(axis=1)
        return ModelOutput(
            pd=self.calibrator.predict(raw), raw=raw, base_value=float(self.tables.expected_value),
            contributions=contrib[:, :-1], features=self.features, groups=self.groups,
            group_text=self.group_text, version=self.version, status=self.status,
        )  # fmt: skip

    def predict_pd(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated PD without explanations (the booster's own predict, numpy input)."""
        X = self.matrix(frame)
        raw = self.booster.predict(X, raw_score=True, num_threads=1 if len(X) == 1 else 0)
        return self.calibrator.predict(np.asarray(raw))


def model_version(spec: ModelSpec, booster_text: str) -> str:
    digest = hashlib.sha256(booster_text.encode()).hexdigest()[:12]
    return f"{spec.name}-{digest}"


def _artifact_paths(path: Path) -> dict[str, Path]:
    """Artifact files of an MLflow pyfunc model directory, from its MLmodel manifest."""
    manifest = yaml.safe_load((path / "MLmodel").read_text(encoding="utf-8"))
    arts = manifest["flavors"]["python_function"]["artifacts"]
    return {k: path / v["path"] for k, v in arts.items()}


def load_model_dir(path: str | Path) -> tuple[ParkModel, RuleSet | None, dict[str, Any]]:
    """(model, rule set or None, meta) from a saved model directory; raises on any problem."""
    import lightgbm as lgb

    from parkcredit.rules import load_ruleset

    path = Path(path)
    files = _artifact_paths(path)
    spec = ModelSpec.model_validate(yaml.safe_load(files["spec"].read_text(encoding="utf-8")))
    spec.check_profile_schema()
    booster_text = files["booster"].read_text(encoding="utf-8")
    meta = json.loads(files["meta"].read_text(encoding="utf-8"))
    # hash first: LightGBM aborts the whole process (std::terminate) on some damaged model texts
    if meta.get("version") != model_version(spec, booster_text):
        raise ValueError("booster or spec changed since the model was saved (version hash mismatch)")
    booster = lgb.Booster(model_str=booster_text)
    if booster.feature_name() != spec.feature_names:
        raise ValueError("booster features differ from the spec's")
    calibrator = Calibrator.from_dict(json.loads(files["calibrator"].read_text(encoding="utf-8")))
    ruleset = load_ruleset(files["ruleset"]) if "ruleset" in files and files["ruleset"].exists() else None
    return ParkModel(spec, booster, calibrator, version=meta["version"]), ruleset, meta


def load_default_model(settings: ModelSettings | None = None) -> tuple[ParkModel | None, dict[str, Any]]:
    """(model, status) for the configured model dir; (None, {"status": "unavailable: why"}) on failure."""
    if settings is None:
        from parkcredit.settings import get_settings

        settings = get_settings()
    if not getattr(settings, "model_enabled", True):
        return None, {"status": "disabled", "version": None}
    path = Path(settings.model_dir)
    try:
        if not (path / "MLmodel").is_file():
            raise FileNotFoundError(f"no MLflow model at {path}")
        model, _, meta = load_model_dir(path)
    except Exception as exc:  # any failure degrades to rules alone, loudly
        why = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        logger.warning("model unavailable, deciding on rules alone: %s", why)
        return None, {"status": f"unavailable: {why}", "version": None, "path": str(path)}
    return model, {"status": "ok", "version": model.version, "path": str(path), "metrics": meta.get("metrics", {})}


def _write_artifacts(result: TrainResult, folder: Path, ruleset_path: Path | None, card: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    booster_text = result.booster.model_to_string()
    version = model_version(result.spec, booster_text)
    paths = {k: folder / v for k, v in _FILES.items()}
    paths["booster"].write_text(booster_text, encoding="utf-8")
    paths["spec"].write_text(result.spec.dump(), encoding="utf-8")
    paths["calibrator"].write_text(json.dumps(result.calibrator.to_dict()), encoding="utf-8")
    metrics = {k: v for k, v in result.metrics.items() if k != "tables"}
    meta = {"version": version, "metrics": metrics, "features": result.spec.feature_names}
    paths["meta"].write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=float), encoding="utf-8")
    if ruleset_path is not None:
        shutil.copyfile(ruleset_path, paths["ruleset"])
    else:
        del paths["ruleset"]
    return {k: str(p) for k, p in paths.items()}


def _input_example(result: TrainResult) -> pd.DataFrame:
    from parkcredit.profile import COLUMNS

    if result.frame is None:
        return pd.DataFrame(result.X[:2], columns=[f.source for f in result.spec.features])
    return _as_strings(result.frame[COLUMNS].head(2))


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Profile rows as JSON-friendly strings (None where missing): dates ISO, whole numbers without .0."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            vals = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(s):
            vals = s.map(lambda v: str(int(v)) if float(v).is_integer() else repr(float(v)))
        else:
            vals = s.astype(object).map(str)
        out[col] = vals.astype(object).where(s.notna(), None)
    return pd.DataFrame(out)


def save_model_dir(result: TrainResult, out: str | Path, *, ruleset_path: Path | None, card: str) -> Path:
    """Write `result` as an MLflow pyfunc model directory at `out` (replacing an older model there)."""
    import tempfile

    import mlflow

    from parkcredit.model.pyfunc import DecisionModel, pip_requirements

    out = Path(out)
    if out.exists():
        if not (out / "MLmodel").exists():
            raise FileExistsError(f"{out} exists and is not an MLflow model directory; refusing to overwrite")
        shutil.rmtree(out)
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = _write_artifacts(result, Path(tmp), ruleset_path, card)
        example = _input_example(result)
        mlflow.pyfunc.save_model(
            path=str(out), python_model=DecisionModel(), artifacts=artifacts,
            signature=_signature(example, ruleset_path is not None, result.frame is None), input_example=example,
            pip_requirements=pip_requirements(), code_paths=None,
        )  # fmt: skip
    (out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    return out


def _signature(example: pd.DataFrame, decides: bool, numeric: bool) -> ModelSignature:
    """Inputs: profile columns as optional strings (the pyfunc coerces them like the importer),
    or doubles for a generic table; outputs: PD, raw score and, with a rule set, the decision."""
    from mlflow.models.signature import ModelSignature
    from mlflow.types import ColSpec, Schema

    kind = "double" if numeric else "string"
    inputs = Schema([ColSpec(kind, c, required=False) for c in example.columns])
    cols = [("pd", "double"), ("raw_score", "double")]
    if decides:
        cols += [("eligible", "boolean"), ("limit_yuan", "long"), ("band", "string"), ("status", "string"),
                 ("reason_1", "string")]  # fmt: skip
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec(t, c) for c, t in cols]))


def log_run(
    result: TrainResult,
    model_dir: Path,
    *,
    tracking_uri: str,
    register: bool,
    spec_path: Path | None,
    plots: dict[str, Path],
    params: dict[str, Any],
    registered_name: str = "parkcredit-pd",
) -> dict[str, Any]:
    """Log params, metrics, spec, plots and the model to MLflow; register it unless told not to."""
    import mlflow

    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("parkcredit")
    with mlflow.start_run() as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        flat = {
            k: float(v) for k, v in result.metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)
        }
        mlflow.log_metrics(flat)
        mlflow.log_dict(result.metrics, "metrics.json")
        if spec_path is not None:
            mlflow.log_artifact(str(spec_path))
        for p in plots.values():
            mlflow.log_artifact(str(p), artifact_path="plots")
        mlflow.log_artifact(str(model_dir / "MODEL_CARD.md"))
        info = _log_saved_model(model_dir, registered_name if register else None)
        return {"run_id": run.info.run_id, "model_uri": info, "registered": register}


def _log_saved_model(model_dir: Path, registered_name: str | None) -> str:
    """Log the saved directory as the run's model (same artifacts, signature, example)."""
    import mlflow

    from parkcredit.model.pyfunc import DecisionModel, pip_requirements

    files = _artifact_paths(model_dir)
    from mlflow.models import Model

    m = Model.load(str(model_dir / "MLmodel"))
    example = (
        pd.read_json(model_dir / "input_example.json", orient="split", dtype=False, convert_dates=False)
        if (model_dir / "input_example.json").exists()
        else None
    )
    info = mlflow.pyfunc.log_model(
        name="model", python_model=DecisionModel(), artifacts={k: str(v) for k, v in files.items()},
        signature=m.signature, input_example=example, pip_requirements=pip_requirements(),
        registered_model_name=registered_name,
    )  # fmt: skip
    return str(info.model_uri)
