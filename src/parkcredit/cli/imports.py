"""`parkcredit import FILE`: load a department's or the committee's spreadsheet into the database.

The same use case as `POST /v1/imports` and the import page (`app.imports.import_profiles`), so the
report is the same: `--json` prints exactly the API's response body. Exit codes: 0 stored (or a
repeat of an earlier import), 1 nothing stored because the file or (with --strict) a row was
refused, 2 a file that cannot be read / a bad option, 3 a key that may not send these fields.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from parkcredit.cli.service import KeyOpt, acting, fail, open_context

__all__ = ["import_file", "print_report", "register"]


def print_report(out: Any) -> None:
    """The import report as a person reads it (Rich tables), the same facts as the API's JSON."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    err = Console(stderr=True)
    summary = Table(title=f"{out.file_name} — 导入汇总 / import summary")
    summary.add_column("指标 / measure")
    summary.add_column("value", justify="right")
    summary.add_row("部门 / department", out.department or "committee")
    summary.add_row("数据日期 / as of", str(out.as_of))
    summary.add_row("表头行 / header row", str(out.header_row))
    summary.add_row("字段 / fields", str(len(out.fields)))
    summary.add_row("读取行数 / rows read", f"{out.rows_read:,}")
    summary.add_row("已导入 / stored", f"{out.rows_stored:,}")
    summary.add_row("被拒行 / rows rejected", f"{out.rows_rejected:,}")
    if out.import_id:
        summary.add_row("导入编号 / import id", out.import_id)
    console.print(summary)
    if out.repeat_of:
        console.print(
            f"[yellow]same file as import {out.repeat_of}: nothing stored again / 与已导入文件相同，未重复导入[/]"
        )
    for p in out.file_errors:
        err.print(f"[red]file:[/red] row {p.row}, column {p.column}: {p.reason} / {p.reason_zh}")
    if out.skipped_columns:
        skipped = Table(title="跳过的列 / skipped columns")
        for col in ("column", "why", "did you mean"):
            skipped.add_column(col)
        for c in out.skipped_columns:
            skipped.add_row(f"{c.letter} {c.column}", c.reason, c.suggestion or "")
        console.print(skipped)
    for r in out.rejected[:20]:
        err.print(f"row {r.row}, column {r.column}: {r.reason} / {r.reason_zh}")
    if out.rows_rejected > 20:
        err.print(f"… {out.rows_rejected - 20:,} more rejected rows (--json lists them)")


def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a .csv or .xlsx spreadsheet")],
    department: Annotated[
        str | None, typer.Option(help="sending department: tax environment safety market court tech industry hr park")
    ] = None,
    strict: Annotated[bool, typer.Option(help="store nothing if any row is bad; refuse unknown columns")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="the department's as-of date of the data (YYYY-MM-DD)")
    ] = None,
    key: KeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as the API's JSON")] = False,
) -> None:
    """Import a spreadsheet into the database: each good row a new snapshot with per-field provenance."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from parkcredit.app import imports
    from parkcredit.app.import_schemas import ImportOut
    from parkcredit.errors import ParkcreditError

    try:
        date = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise fail(f"--as-of must be a date YYYY-MM-DD, got {str(as_of)[:30]!r}") from None
    ctx = open_context()
    try:
        actor = acting(ctx, key, "committee", "department")
        data = file.read_bytes()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=True, disable=as_json) as bar:
            tasks: dict[str, Any] = {}

            def progress(phase: str, done: int, total: int) -> None:
                label = {"read": "reading and checking / 读取校验", "store": "storing / 入库"}[phase]
                if phase not in tasks:
                    tasks[phase] = bar.add_task(label, total=max(total, 1))
                bar.update(tasks[phase], completed=done, total=max(total, 1))

            out = imports.import_profiles(ctx, actor, data=data, filename=file.name, strict=strict,
                                          department=department, as_of=date, progress=progress)  # fmt: skip
    except ParkcreditError as exc:
        raise fail(exc.message, exc.exit_code) from None
    finally:
        ctx.close()
    assert isinstance(out, ImportOut)  # no idempotency key: never a replay
    if as_json:
        typer.echo(json.dumps(out.model_dump(mode="json"), ensure_ascii=False, sort_keys=True))
    else:
        print_report(out)
    if out.refused:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `parkcredit import` to the CLI."""
    app.command("import")(import_file)
