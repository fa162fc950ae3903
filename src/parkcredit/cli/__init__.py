"""The `parkcredit` command line (Typer + Rich): files in, decisions out (`synth`, `score`, `rules`) here;
the command groups that work on the store are the modules of `_PLUGINS`, each exposing `register(app)`
and calling the same use cases (`parkcredit.app`) as the API and the web pages.

Heavy libraries (lightgbm, mlflow, shap, uvicorn) are imported inside the commands that need
them, so `parkcredit --help` stays instant.
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="parkcredit — 园区企业征信评分 / park enterprise credit scoring.", no_args_is_help=True)
rules_app = typer.Typer(help="Rule sets: validate, show, schema.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
console = Console()
err = Console(stderr=True)

_PLUGINS: list[str] = [
    "parkcredit.cli.service",
    "parkcredit.cli.model",
    "parkcredit.cli.report",
    "parkcredit.cli.governance",
    "parkcredit.cli.imports",
]
CHUNK_ROWS = 100_000


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@app.command()
def synth(
    n: Annotated[int, typer.Option("--n", min=1, help="number of enterprises")] = 1000,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same park")] = 7,
    out: Annotated[Path, typer.Option(help="output file: .csv .parquet .jsonl .xlsx")] = Path("park.csv"),
) -> None:
    """Generate a synthetic park (合成园区) with an outcome column default_12m."""
    from parkcredit.synth import generate
    from parkcredit.tableio import write_table

    started = time.perf_counter()
    with console.status(f"generating {n:,} enterprises…"):
        frame = generate(n, seed)
        write_table(frame, out)
    rate = frame["default_12m"].mean()
    console.print(
        f"wrote {len(frame):,} enterprises to {out} in {time.perf_counter() - started:.1f} s (default rate {rate:.1%})"
    )


def read_profiles(path: Path) -> tuple[object, list[str], list[str]]:
    """(canonical frame, rejected-row messages, ignored columns) from a profile file.

    CSV and XLSX are files people make: they go through the importer (Chinese or English
    headers, 万元 amounts, row numbers as the spreadsheet shows them). Parquet and JSON lines
    are machine files in the canonical columns and are coerced directly (fast for a million rows).
    """
    from parkcredit.profile import COLUMNS, coerce
    from parkcredit.tableio import read_table

    if path.suffix.lower() in (".csv", ".xlsx"):
        from parkcredit.profile.importer import ProfileImportError, import_table

        try:
            result = import_table(path)
        except ProfileImportError as exc:
            raise _fail(f"{path}: {exc}") from None
        if result.file_errors:  # a header that cannot be used affects every row: nothing is scored
            raise _fail("; ".join(f"row {e.row}, column {e.column}: {e.reason_en}" for e in result.file_errors))
        # columns that are not profile fields (an outcome column, notes, a typo) are skipped, and said so
        ignored = [s.column + (f" (did you mean {s.suggestion}?)" if s.suggestion else "") for s in result.skipped]
        messages = [f"row {e.row}, column {e.column}: {e.reason_en} / {e.reason_zh}" for e in result.errors]
        return result.frame, messages, ignored
    raw = read_table(path)
    ignored = [c for c in raw.columns if c not in COLUMNS]
    frame, errors = coerce(raw[[c for c in raw.columns if c in COLUMNS]])
    return frame, [f"row {e.row + 2}, column {e.column}: {e.reason}" for e in errors], ignored


@app.command()
def score(
    input: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="profiles: .csv .parquet .jsonl .xlsx")],
    product: Annotated[str, typer.Option(help="product code, e.g. chengxindai")] = "chengxindai",
    out: Annotated[Path, typer.Option(help="decisions: .csv .parquet .jsonl (full records with --full)")] = Path(
        "decisions.csv"
    ),
    full: Annotated[bool, typer.Option(help="write complete decision records (jsonl only)")] = False,
    model: Annotated[
        bool, typer.Option("--model/--no-model", help="decide with the bundled PD model as the API does (default)")
    ] = True,
) -> None:
    """Score every enterprise of a file with a product's rule set and, as the API does, the bundled model."""
    import pandas as pd

    from parkcredit.app.context import load_model
    from parkcredit.catalog import load_product
    from parkcredit.decision import decide
    from parkcredit.settings import get_settings
    from parkcredit.tableio import write_table

    try:
        ruleset = load_product(product)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if full and out.suffix != ".jsonl":
        raise _fail("--full writes JSON lines: use an --out file ending in .jsonl")
    # the service's own loader (AppContext.open): PARKCREDIT_MODEL_DIR / _ENABLED; rules alone if it fails
    scorer, model_status = load_model(get_settings()) if model else (None, {"status": "disabled", "version": None})
    if model:
        console.print(f"model: {model_status['status']} {model_status.get('version') or ''}".rstrip())
    started = time.perf_counter()
    with console.status(f"reading {input}…"):
        frame, errors, ignored = read_profiles(input)
    if ignored:
        console.print(f"[yellow]ignored columns:[/yellow] {', '.join(map(str, ignored))}")
    parts = []
    n = len(frame)  # type: ignore[arg-type]
    columns = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress, _open_full(out, full) as sink:
        task = progress.add_task("score", total=n)
        for start in range(0, n, CHUNK_ROWS):
            chunk = frame.iloc[start : start + CHUNK_ROWS]  # type: ignore[attr-defined]
            decisions = decide(chunk, ruleset, scorer)
            if sink is not None:
                from parkcredit.decision import canonical_json

                for i in range(len(decisions)):
                    sink.write(canonical_json(decisions.record(i)) + "\n")
            parts.append(decisions.summary)
            progress.advance(task, len(chunk))
    summary = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if not full:
        write_table(summary, out)
    elapsed = time.perf_counter() - started
    _print_summary(summary, errors, product, ruleset.version, out, elapsed)


class _NoSink:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _open_full(out: Path, full: bool):  # type: ignore[no-untyped-def]
    return out.open("w", encoding="utf-8") if full else _NoSink()


def _print_summary(summary, errors, product, version, out, elapsed) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"{product} v{version} — 评分汇总 / scoring summary")
    table.add_column("指标 / measure")
    table.add_column("value", justify="right")
    n = len(summary)
    knocked = int((summary["knockouts"] != "").sum()) if n else 0
    eligible = int(summary["eligible"].sum()) if n else 0
    table.add_row("评分企业 / scored", f"{n:,}")
    table.add_row("拒收行 / rejected rows", f"{len(errors):,}")
    table.add_row("不适用 / not applicable", f"{int((summary['status'] == 'NOT_APPLICABLE').sum()) if n else 0:,}")
    table.add_row("一票否决 / knocked out", f"{knocked:,}")
    table.add_row("符合条件 / eligible", f"{eligible:,}")
    table.add_row("授信总额 / total limit (yuan)", f"{int(summary['limit_yuan'].sum()) if n else 0:,}")
    table.add_row("耗时 / elapsed", f"{elapsed:.1f} s ({n / max(elapsed, 1e-9):,.0f} rows/s)")
    console.print(table)
    for e in errors[:10]:
        err.print(e)
    if len(errors) > 10:
        err.print(f"… and {len(errors) - 10} more rejected rows")
    console.print(f"decisions written to {out}")


@rules_app.command("validate")
def rules_validate(files: Annotated[list[Path], typer.Argument(help="rule-set YAML files")]) -> None:
    """Check rule-set files; exit 1 naming file, line, rule and reason on the first error of each."""
    from parkcredit.rules import RuleSetError, load_ruleset

    failed = False
    for path in files:
        try:
            rs = load_ruleset(path)
        except RuleSetError as exc:
            err.print(f"[red]✗[/red] {exc}")
            failed = True
            continue
        console.print(f"[green]✓[/green] {path}: {rs.product} v{rs.version} ({rs.content_hash[:19]}…)")
    if failed:
        raise typer.Exit(code=1)


@rules_app.command("show")
def rules_show(product: Annotated[str, typer.Argument(help="product code")]) -> None:
    """Print a product's rule set as the committee reads it: knock-outs, scorecards, bands, limit."""
    from parkcredit.catalog import load_product
    from parkcredit.rules.compile import bin_label

    try:
        rs = load_product(product)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    s = rs.spec
    console.print(f"[bold]{s.product.name_zh} {s.product.name_en}[/bold] v{s.version}, effective {s.effective_from}")
    console.print(f"cap {s.product.max_amount_yuan:,} yuan · threshold {s.threshold:g} · {rs.content_hash}")
    gates = Table(title="前置条件与一票否决 / preconditions and knock-outs")
    for col in ("id", "条件 / condition", "说明"):
        gates.add_column(col)
    for p in s.preconditions:
        gates.add_row(p.id, p.require, p.zh)
    for k in s.knockouts:
        gates.add_row(k.id, k.when, k.zh)
    console.print(gates)
    for d, dim in enumerate(s.dimensions):
        t = Table(title=f"{dim.zh} {dim.en} — weight {dim.weight:g}, floor {dim.floor:g}")
        for col in ("characteristic", "bin", "points"):
            t.add_column(col)
        for c in rs.characteristics:
            if c.dimension != d:
                continue
            for i, b in enumerate(c.spec.outcomes()):
                t.add_row(c.spec.id if i == 0 else "", f"{b.id}: {bin_label(b, c.ratio)[0]}", f"{b.points:g}")
            t.add_row("", "MISSING", f"{c.spec.missing.points:g}")
        console.print(t)
    console.print(
        "bands: " + " · ".join(f"{b.id} ≥ {b.min_score:g}" if b.min_score is not None else b.id for b in s.bands)
    )
    for var, expr in s.limit.let.items():
        console.print(f"limit: {var} = {expr}")
    console.print(f"limit = min({s.product.max_amount_yuan:,}, ⌊{s.limit.formula}⌋ to {s.limit.round_down_to_yuan:,})")


@rules_app.command("schema")
def rules_schema(out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None) -> None:
    """Print the JSON Schema of the rule-set format (scoring_rules/schema.json is this output)."""
    from parkcredit.rules.spec import RuleSetSpec

    text = json.dumps(RuleSetSpec.model_json_schema(), ensure_ascii=False, indent=2) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


for _module in _PLUGINS:
    importlib.import_module(_module).register(app)
