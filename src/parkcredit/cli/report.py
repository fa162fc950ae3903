"""`parkcredit report DECISION_ID --out FILE`: the explanation report of a stored decision (HTML or PDF)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def report(
    decision_id: Annotated[str, typer.Argument(help="the decision's id (decision_id)")],
    out: Annotated[Path, typer.Option(help="output file; .pdf prints a PDF, anything else writes HTML")],
    lang: Annotated[str, typer.Option(help="zh (default) or en")] = "zh",
    model: Annotated[bool, typer.Option(help="load the configured model (labels, replay of model decisions)")] = True,
) -> None:
    """Write the explanation report of a decision: inputs, rule trace, contributions, hashes, audit entry, replay."""
    from parkcredit.app.reports import DecisionNotFound, render_report
    from parkcredit.cli.service import open_context
    from parkcredit.reports import PdfUnavailable

    if lang not in ("zh", "en"):
        typer.echo(f"error: --lang must be zh or en, got {lang!r}", err=True)
        raise typer.Exit(2)
    started = time.perf_counter()
    ctx = open_context(with_model=model)
    try:
        rendered = render_report(ctx, decision_id, fmt="pdf" if out.suffix.lower() == ".pdf" else "html", lang=lang)
    except DecisionNotFound:
        typer.echo(f"error: no decision {decision_id} in {ctx.settings.database_url}", err=True)
        raise typer.Exit(1) from None
    except PdfUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from None
    finally:
        ctx.close()
    if isinstance(rendered.content, bytes):
        out.write_bytes(rendered.content)
    else:
        out.write_text(rendered.content, encoding="utf-8")
    typer.echo(f"wrote {out} ({out.stat().st_size:,} bytes) in {time.perf_counter() - started:.2f} s; "
               f"replay {rendered.replay}")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add `report` to the `parkcredit` CLI."""
    app.command()(report)
