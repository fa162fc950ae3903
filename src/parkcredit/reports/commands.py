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
    from parkcredit.reports import DecisionNotFound, PdfUnavailable, render_html, render_pdf, report_context
    from parkcredit.settings import get_settings
    from parkcredit.store.db import make_engine, make_sessionmaker

    if lang not in ("zh", "en"):
        typer.echo(f"error: --lang must be zh or en, got {lang!r}", err=True)
        raise typer.Exit(2)
    started = time.perf_counter()
    settings = get_settings()
    loaded = None
    if model:
        from parkcredit.service.app import load_model

        loaded, _ = load_model(settings)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            ctx = report_context(session, decision_id, loaded)
    except DecisionNotFound:
        typer.echo(f"error: no decision {decision_id} in {settings.database_url}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    html = render_html(ctx, lang)
    if out.suffix.lower() == ".pdf":
        try:
            out.write_bytes(render_pdf(html))
        except PdfUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(3) from None
    else:
        out.write_text(html, encoding="utf-8")
    replay = "identical" if ctx.replay.get("identical") else ("DIFFERS" if ctx.replay.get("ran") else "failed")
    typer.echo(f"wrote {out} ({out.stat().st_size:,} bytes) in {time.perf_counter() - started:.2f} s; replay {replay}")


def register(app: typer.Typer) -> None:
    """Add `report` to the `parkcredit` CLI."""
    app.command()(report)
