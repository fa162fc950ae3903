"""Plots (ROC, calibration, SHAP summary) and the model card of a training run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from parkcredit.model.train import TrainResult

__all__ = ["model_card", "plots"]


def plots(result: TrainResult, folder: Path, *, shap_rows: int = 2000) -> dict[str, Path]:
    """Write roc.png, calibration.png and shap_summary.png into `folder`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    fpr, tpr, _ = roc_curve(result.y, result.oof_raw)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"out-of-fold AUC {result.metrics['oof_auc']:.3f}")
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (out-of-fold)")
    ax.legend(loc="lower right")
    out["roc"] = folder / "roc.png"
    fig.savefig(out["roc"], dpi=90, bbox_inches="tight")
    plt.close(fig)

    cal = result.tables["calibration"]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    top = float(max(cal["mean_pd"].max(), cal["default_rate"].max()))
    ax.plot([0, top], [0, top], ls=":", c="grey")
    ax.plot(cal["mean_pd"], cal["default_rate"], marker="o")
    ax.set(xlabel="mean predicted PD", ylabel="observed default rate",
           title=f"calibration ({result.calibrator.method}, deciles)")  # fmt: skip
    out["calibration"] = folder / "calibration.png"
    fig.savefig(out["calibration"], dpi=90, bbox_inches="tight")
    plt.close(fig)

    import shap

    from parkcredit.model.explain import TreeShapTables

    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(result.X), size=min(shap_rows, len(result.X)), replace=False))
    X = result.X[idx]
    tables = TreeShapTables.from_booster(result.booster)
    contrib = tables.contributions(X) if tables.supported else np.asarray(result.booster.predict(X, pred_contrib=True))
    expl = shap.Explanation(values=contrib[:, :-1], base_values=contrib[:, -1], data=X,
                            feature_names=result.spec.feature_names)  # fmt: skip
    plt.figure()
    shap.plots.beeswarm(expl, max_display=15, show=False)
    out["shap_summary"] = folder / "shap_summary.png"
    plt.savefig(out["shap_summary"], dpi=80, bbox_inches="tight")
    plt.close("all")
    return out


def _cell(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def model_card(result: TrainResult, *, data: str, command: str, version: str) -> str:
    """The model card (markdown): data, method, metrics, tables, limits."""
    m = result.metrics
    synthetic = "synthetic" in data.lower() or "synth" in data.lower()
    mono = [f"{f.name} ({'+' if f.monotone > 0 else '−'})" for f in result.spec.features if f.monotone]
    lines = [
        f"# Model card — {result.spec.name} `{version}`",
        "",
        "Built (reproducibly: same command, same model) with:",
        "",
        f"```\n{command}\n```",
        "",
        "## Data",
        f"- {data}: {m['n_rows']:,} rows, {m['n_defaults']:,} defaults ({m['default_rate']:.2%}).",
        f"- Target `{result.spec.target}`; {m['n_features']} features"
        + (
            " from the model spec (`spec.yaml` beside this card)."
            if result.spec.profile
            else " (every numeric column)."
        ),
        "",
        "## Method",
        f"- LightGBM binary, {m['n_trees']} trees, max depth {m['max_depth']}; "
        f"{m['folds']}-fold stratified CV" + (f" × {m['repeats']} seeds." if m["repeats"] > 1 else "."),
        f"- Monotone constraints: {', '.join(mono) if mono else 'none'}.",
        f"- Calibration: **{m['calibration']}** (chosen on out-of-fold scores by held-out Brier: "
        + ", ".join(f"{k} {v:.5f}" for k, v in m["calibration_brier"].items())
        + ").",
        "- Explanations: exact path-dependent TreeSHAP in log-odds (equal to LightGBM `pred_contrib`), "
        "grouped by reason code.",
        "",
        "## Metrics (out-of-fold)",
        f"- CV ROC AUC **{m['cv_auc']:.4f} ± {m['cv_auc_std']:.4f}**; KS {m['ks']:.3f}; Brier {m['brier']:.5f}; "
        f"log loss {m['logloss']:.4f}.",
    ]
    if "rules_auc" in m:
        lines.append(f"- For comparison, the rule set's total score alone: AUC {m['rules_auc']:.4f}; "
                     f"{m['rules_eligible_share']:.1%} eligible, default rate among them "
                     f"{(m['rules_eligible_default_rate'] or 0):.2%}.")  # fmt: skip
    lines += ["", "### Calibration (deciles of predicted PD)", "", _table(m["tables"]["calibration"]), ""]
    lines += ["### Default rate by PD decile", "", _table(m["tables"]["pd_decile"]), ""]
    if "rule_band" in m["tables"]:
        lines += ["### Default rate by rule-set score band", "", _table(m["tables"]["rule_band"]), ""]
    lines += [
        "## Limits",
        "- **Synthetic data: not for real lending.** The outcomes were generated by "
        "`parkcredit.synth` from assumptions, not observed; retrain on the park's real loan outcomes "
        "(and re-validate) before the model takes any part in a credit decision."
        if synthetic
        else "- Validated only on the data above; check population stability before use on another population.",
        "- The model is advisory unless the rule file's `model:` section says otherwise; knock-outs and "
        "rules always apply.",
        "- A PD is for a 12-month horizon on the population it was trained on; monitor calibration and PSI.",
        "",
    ]
    return "\n".join(lines)
