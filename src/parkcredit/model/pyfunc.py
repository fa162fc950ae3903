"""The whole decision as one MLflow pyfunc model (rule set + booster + calibrator + explainer).

`mlflow models serve -m models/default` and `mlflow.pyfunc.spark_udf` call `predict` with a
frame of profile rows (strings, as a CSV import would give); it coerces them like the importer
and runs `decision.decide` with the bundled rule set and the model — the same code as the API.
Imports mlflow at module level: import this module only when saving or loading through MLflow.
"""

from __future__ import annotations

import pandas as pd
from mlflow.pyfunc.model import PythonModel, PythonModelContext

__all__ = ["DecisionModel", "pip_requirements"]


def pip_requirements() -> list[str]:
    import lightgbm
    import numpy
    import sklearn

    return [
        f"scikit-learn=={sklearn.__version__}",
        f"lightgbm=={lightgbm.__version__}",
        f"numpy=={numpy.__version__}",
        f"pandas=={pd.__version__}",
    ]


class DecisionModel(PythonModel):
    """Decide (or, without a rule set, score) profile rows: PD, raw score, eligibility, limit, reasons."""

    def load_context(self, context: PythonModelContext) -> None:
        import pathlib

        from parkcredit.model.runtime import load_model_dir

        # the artifacts sit in <model>/artifacts/; load_model_dir reads them through the manifest
        root = pathlib.Path(context.artifacts["booster"]).parent.parent
        self.model, self.ruleset, self.meta = load_model_dir(root)

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]  # no hints: MLflow infers schemas from them
        if not self.model.spec.profile:
            contrib = self.model.contributions(self.model.matrix(model_input))
            raw = contrib.sum(axis=1)
            return pd.DataFrame({"pd": self.model.calibrator.predict(raw), "raw_score": raw})
        from parkcredit.decision import decide
        from parkcredit.profile import COLUMNS, coerce, derive

        frame, errors = coerce(model_input[[c for c in model_input.columns if c in COLUMNS]])
        if errors:
            raise ValueError("; ".join(f"row {e.row}, {e.column}: {e.reason}" for e in errors[:5]))
        frame = derive(frame)
        if self.ruleset is None:
            out = self.model.explain(frame)
            return pd.DataFrame({"pd": out.pd, "raw_score": out.raw})
        d = decide(frame, self.ruleset, self.model)
        s = d.summary
        return pd.DataFrame({"pd": s["pd"].astype("float64"), "raw_score": d.model.raw if d.model else float("nan"),
                             "eligible": s["eligible"].astype(bool), "limit_yuan": s["limit_yuan"].astype("int64"),
                             "band": s["band"].astype(str), "status": s["status"].astype(str),
                             "reason_1": s["reason_1"].map(lambda v: v or "").astype(str)})  # fmt: skip
