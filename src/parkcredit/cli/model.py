"""CLI commands of the model package: `parkcredit train`, `parkcredit model-path`, `parkcredit explain`.

Registered through `cli._PLUGINS`; lightgbm, mlflow and shap are imported inside the commands.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register", "run_training"]


def run_training(
    *,
    data: Path | None,
    synthetic: int | None,
    target: str,
    spec_path: Path | None,
    out: Path | None,
    metrics_out: Path | None,
    register_model: bool,
    folds: int,
    seed: int,
    repeats: int = 1,
    product: str = "chengxindai",
    plots: bool = True,
    command: str | None = None,
    echo: Any = print,
) -> dict[str, Any]:
    """The `train` command as a function (tests and notebooks call it): returns metrics + paths."""
    from parkcredit.model.spec import load_spec
    from parkcredit.model.train import load_table, train

    if (data is None) == (synthetic is None):
        raise ValueError("give exactly one of --data FILE or --synthetic N")
    if synthetic is not None:
        from parkcredit.synth import generate

        table = generate(synthetic, seed)
        source = f"synthetic park: parkcredit.synth.generate({synthetic}, seed={seed})"
    else:
        assert data is not None
        table = load_table(data)
        source = f"{data.name}"
    is_profile = "uscc" in table.columns
    spec = None
    ruleset, ruleset_path = None, None
    if is_profile:
        from parkcredit.catalog import load_product
        from parkcredit.settings import BUNDLED, get_settings

        spec = load_spec(spec_path or BUNDLED / "models" / "spec.yaml")
        ruleset = load_product(product)
        ruleset_path = Path(get_settings().rules_dir) / f"{product}.yaml"
    elif spec_path is not None:
        spec = load_spec(spec_path)
    started = time.perf_counter()
    result = train(table, target=target, spec=spec, folds=folds, seed=seed, repeats=repeats, ruleset=ruleset)
    m = result.metrics
    echo(f"{source}: {m['n_rows']:,} rows, {m['n_defaults']:,} defaults; {folds}-fold CV AUC "
         f"{m['cv_auc']:.4f} ± {m['cv_auc_std']:.4f}, KS {m['ks']:.3f}, Brier {m['brier']:.5f}; "
         f"calibration {m['calibration']} won {m['calibration_brier']} "
         f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    report: dict[str, Any] = {**m}
    if out is not None or register_model:
        import tempfile

        from parkcredit.model.card import model_card
        from parkcredit.model.card import plots as draw
        from parkcredit.model.runtime import log_run, model_version, save_model_dir

        version = model_version(result.spec, result.booster.model_to_string())
        cmd = command or "parkcredit " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        card = model_card(result, data=source, command=cmd, version=version)
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = out or Path(tmp) / "model"
            # resolved: the checkout's models/default is a symlink into the package, rmtree refuses symlinks
            save_model_dir(result, model_dir.resolve(), ruleset_path=ruleset_path, card=card)
            report["model_dir"] = str(model_dir) if out else None
            report["version"] = version
            echo(f"model {version} written to {model_dir}" if out else f"model {version} built")
            if register_model:
                from parkcredit.settings import get_settings

                drawn = draw(result, Path(tmp) / "plots") if plots else {}
                params = {**result.spec.lgb_params(), "folds": folds, "seed": seed, "data": source,
                          "calibration": m["calibration"], "n_features": len(result.spec.features)}  # fmt: skip
                run = log_run(result, Path(model_dir), tracking_uri=get_settings().mlflow_tracking_uri,
                              register=True, spec_path=spec_path, plots=drawn, params=params)  # fmt: skip
                report["mlflow"] = run
                echo(f"MLflow run {run['run_id']} logged; registered as parkcredit-pd ({run['model_uri']})")
    if metrics_out is not None:
        metrics_out.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=float), encoding="utf-8")
        echo(f"metrics written to {metrics_out}")
    report["_result"] = result
    return report


def register(app: typer.Typer) -> None:
    """Add the model commands to the parkcredit CLI."""

    @app.command()
    def train(
        data: Annotated[Path | None, typer.Option(help="labelled table: .csv .parquet .jsonl .xlsx .arff")] = None,
        synthetic: Annotated[
            int | None, typer.Option(help="train on synth.generate(N, seed) instead of --data")
        ] = None,
        target: Annotated[str, typer.Option(help="label column (0/1)")] = "default_12m",
        spec: Annotated[Path | None, typer.Option(help="model spec (profile tables; default models/spec.yaml)")] = None,
        out: Annotated[Path | None, typer.Option(help="write the MLflow model directory here")] = None,
        metrics_out: Annotated[Path | None, typer.Option(help="write metrics JSON here")] = None,
        no_register: Annotated[
            bool, typer.Option("--no-register", help="do not touch MLflow tracking or registry")
        ] = False,
        folds: Annotated[int, typer.Option(min=2, help="stratified CV folds")] = 5,
        repeats: Annotated[int, typer.Option(min=1, help="repeat CV with seeds seed, seed+1, …")] = 1,
        seed: Annotated[int, typer.Option(help="random seed (data generation, folds, LightGBM)")] = 7,
        product: Annotated[str, typer.Option(help="rule set bundled with a profile model")] = "chengxindai",
    ) -> None:
        """Train a PD model (LightGBM, CV, calibration), write the model + card, log to MLflow."""
        try:
            run_training(data=data, synthetic=synthetic, target=target, spec_path=spec, out=out,
                         metrics_out=metrics_out, register_model=not no_register, folds=folds, seed=seed,
                         repeats=repeats, product=product, echo=typer.echo)  # fmt: skip
        except (ValueError, KeyError, FileNotFoundError, FileExistsError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from None

    @app.command("model-path")
    def model_path() -> None:
        """Print the configured model directory and whether it loads (status, version)."""
        from parkcredit.model.runtime import load_default_model
        from parkcredit.settings import get_settings

        settings = get_settings()
        _, status = load_default_model(settings)
        typer.echo(f"{settings.model_dir}\t{status['status']}\t{status.get('version')}")

    @app.command()
    def explain(
        input: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="profiles file")],
        row: Annotated[int, typer.Option(help="0-based row to explain")] = 0,
        product: Annotated[str, typer.Option(help="product code")] = "chengxindai",
    ) -> None:
        """Explain one enterprise's decision: PD, principal reasons, model contributions by feature."""
        from parkcredit.catalog import load_product
        from parkcredit.cli import read_profiles
        from parkcredit.decision import decide
        from parkcredit.model.runtime import load_default_model

        frame, _, _ = read_profiles(input)
        model, status = load_default_model()
        d = decide(frame.iloc[[row]], load_product(product), model)  # type: ignore[attr-defined]
        rec = d.record(0)
        shown = ("uscc", "status", "eligible", "limit_yuan", "band", "pd", "model", "reasons", "contributions")
        typer.echo(json.dumps({k: rec[k] for k in shown}, ensure_ascii=False, indent=2))
        if model is None:
            typer.echo(f"model {status['status']}", err=True)
