"""CLI commands of the service and the store: `serve`, `decide`, `keys create`, `audit verify`, `db upgrade`,
`api openapi`. Commands that write act as an API key (`--key`, or PARKCREDIT_API_KEY): the same roles as
over HTTP, and every write is in the audit chain under that key's id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["KeyOpt", "acting", "fail", "open_context", "register"]

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log's hash chain.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
api_app = typer.Typer(help="The HTTP contract.", no_args_is_help=True)

KeyOpt = Annotated[
    str | None, typer.Option("--key", envvar="PARKCREDIT_API_KEY", help="API key acting (its role counts)")
]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def open_context(*, with_model: bool = False, seed: bool = False) -> Any:
    """The `AppContext` of the configured database (no model unless asked: most commands need none)."""
    from parkcredit.app import AppContext

    return AppContext.open(with_model=with_model, seed=seed)


def acting(ctx: Any, token: str | None, *roles: str) -> Any:
    """The `Actor` of `--key`, checked for `roles` (exit 2 without a valid key, 3 for another role)."""
    from parkcredit.app.keys import actor_of

    if not token:
        raise fail("this command writes: pass --key (or set PARKCREDIT_API_KEY)")
    actor = actor_of(ctx, token)
    if actor is None:
        raise fail("invalid or revoked API key")
    if roles and actor.role not in roles:
        raise fail(f"role {actor.role!r} may not do this (needs {' or '.join(roles)})", 3)
    return actor


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (PARKCREDIT_DATABASE_URL) to the latest schema."""
    from parkcredit.store.migrate import upgrade

    ctx = open_context()
    upgrade(ctx.engine)
    ctx.close()
    typer.echo("database at the latest schema")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="committee | approver | bank | auditor | admin | department | enterprise")],
    bank: Annotated[str | None, typer.Option(help="the bank a bank key is bound to")] = None,
    label: Annotated[str, typer.Option(help="what the key is for")] = "",
    holder: Annotated[str, typer.Option(help="the person holding the key (maker-checker compares holders)")] = "",
    department: Annotated[str | None, typer.Option(help="the department a department key is bound to")] = None,
    uscc: Annotated[str | None, typer.Option(help="the enterprise an enterprise key is bound to")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from parkcredit.app import Actor, keys
    from parkcredit.app.schemas import KeyOut
    from parkcredit.errors import ParkcreditError

    ctx = open_context()
    try:
        out = keys.create_key(ctx, Actor("cli", "admin"), role=role, bank=bank, label=label, holder=holder,
                              department=department, uscc=uscc)  # fmt: skip
    except ParkcreditError as exc:
        raise fail(exc.message) from None
    finally:
        ctx.close()
    assert isinstance(out, KeyOut) and out.token is not None  # no idempotency key: never a replay
    if as_json:
        typer.echo(json.dumps({"key_id": out.key_id, "role": role, "bank": bank, "token": out.token},
                              ensure_ascii=False))  # fmt: skip
    else:
        typer.echo(f"key {out.key_id} ({role}{', ' + bank if bank else ''}) — shown once, store it now:\n{out.token}")


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[Path | None, typer.Option(help="signed checkpoints you kept (JSON lines)")] = None,
    public_key: Annotated[Path | None, typer.Option(help="PEM of the signing key's public half")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole result as JSON")] = False,
) -> None:
    """Check the audit chain, every bound row and signed checkpoints; exit 1 naming each problem found."""
    from parkcredit.app import audit
    from parkcredit.errors import ParkcreditError

    ctx = open_context()
    try:
        r = audit.verify(ctx, checkpoints_text=checkpoints.read_text(encoding="utf-8") if checkpoints else None,
                         public_key_pem=public_key.read_text(encoding="utf-8") if public_key else None)  # fmt: skip
    except (ParkcreditError, OSError) as exc:
        raise fail(getattr(exc, "message", str(exc))) from None
    finally:
        ctx.close()
    if as_json:
        typer.echo(r.model_dump_json(indent=2))
    elif r.ok:
        typer.echo(f"audit chain OK: {r.entries} entries, head {r.head_hash}; {r.rows_checked} rows match their "
                   f"entries; {r.checkpoints_checked} checkpoint(s) agree")  # fmt: skip
    else:
        if r.first_bad_seq is not None:
            typer.echo(f"audit chain BROKEN at seq {r.first_bad_seq}: {r.reason}", err=True)
        for p in r.row_problems:
            typer.echo(f"row {p.table} {p.id}: {p.problem} — {p.detail}", err=True)
        if r.row_problems_total > len(r.row_problems):
            typer.echo(f"… {r.row_problems_total - len(r.row_problems)} more row problems", err=True)
        for c in r.checkpoint_problems:
            typer.echo(c.detail, err=True)
    if not r.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path | None, typer.Option(help="append the signed checkpoint to this file")] = None,
) -> None:
    """Sign the audit chain head and append it to FILE (default: the service's checkpoint file)."""
    from parkcredit.app import audit
    from parkcredit.errors import ParkcreditError

    ctx = open_context()
    try:
        c = audit.checkpoint(ctx, out=out)
    except ParkcreditError as exc:
        raise fail(exc.message) from None
    finally:
        ctx.close()
    typer.echo(f"checkpoint seq {c.seq} head {c.head_hash} signed by key {c.key_id} -> {c.file}")


@api_app.command("openapi")
def api_openapi(out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None) -> None:
    """Print the OpenAPI document (api/openapi.json is this output)."""
    from parkcredit.server import openapi_text

    text = openapi_text()
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


def decide(
    uscc: Annotated[str, typer.Argument(help="统一社会信用代码 of a stored enterprise")],
    product: Annotated[str, typer.Option(help="product code")] = "chengxindai",
    key: KeyOpt = None,
    full: Annotated[bool, typer.Option(help="print the whole record (JSON), not the summary")] = False,
) -> None:
    """Decide a stored enterprise on its latest snapshot and store the decision (as `POST /v1/decisions`)."""
    from parkcredit.app import decisions
    from parkcredit.app.schemas import DecisionRecord
    from parkcredit.errors import ParkcreditError
    from parkcredit.profile import UsccError, parse_uscc

    try:
        code = str(parse_uscc(uscc))
    except UsccError as exc:
        raise fail(str(exc)) from None
    ctx = open_context(with_model=True, seed=True)
    try:
        record = decisions.decide_enterprise(ctx, acting(ctx, key, "committee"), uscc=code, product=product)
    except ParkcreditError as exc:
        raise fail(exc.message, exc.exit_code) from None
    finally:
        ctx.close()
    assert isinstance(record, DecisionRecord)  # no idempotency key: never a replay
    body = record.model_dump(mode="json")
    if full:
        typer.echo(json.dumps(body, ensure_ascii=False, sort_keys=True))
        return
    summary = {k: body[k] for k in ("decision_id", "uscc", "product", "status", "eligible", "limit_yuan", "band",
                                    "total_score", "valid_until")}  # fmt: skip
    summary["ruleset"] = body["ruleset"]
    summary["reasons"] = [r["code"] for r in body["reasons"]]
    typer.echo(json.dumps(summary, ensure_ascii=False, sort_keys=True))


def serve(
    demo: Annotated[bool, typer.Option(help="migrate, seed a synthetic park and print demo keys")] = False,
    host: Annotated[str | None, typer.Option(help="bind address (default: settings.host)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: settings.port)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="worker processes (PostgreSQL for more than one)")] = 1,
    access_log: Annotated[bool, typer.Option(help="log every request (costs 10-30 % throughput)")] = False,
) -> None:
    """Run the HTTP API and the web pages (uvicorn); the database is migrated first."""
    import uvicorn

    from parkcredit.app import demo as demo_park
    from parkcredit.store.migrate import upgrade

    ctx = open_context()
    settings = ctx.settings
    if workers > 1 and settings.database_url.startswith("sqlite"):
        typer.echo(f"warning: {workers} workers on SQLite serialise every write on one file lock; "
                   "use PostgreSQL (PARKCREDIT_DATABASE_URL) for several workers", err=True)  # fmt: skip
    upgrade(ctx.engine)
    if demo:
        ctx.refresh(seed_bundled=ctx.source.bundled()[0])
        tokens = demo_park.seed_demo(ctx)
        typer.echo("demo keys (DEMO ONLY — deterministic, never use in production):")
        for role, token in tokens.items():
            typer.echo(f"  {role:<10} {token}" + (f"   (bank: {demo_park.DEMO_BANK})" if role == "bank" else ""))
        authorized = demo_park.authorized_usccs(ctx)
        if authorized:
            typer.echo(f"enterprises that authorized {demo_park.DEMO_BANK} for chengxindai: "
                       f"{', '.join(authorized[:3])} …")  # fmt: skip
            typer.echo(f"one that did not: {demo_park.unauthorized_uscc(ctx)}")
        typer.echo(f"API on http://{host or settings.host}:{port or settings.port}  (docs: /docs; pages: /web/)")
    ctx.close()
    uvicorn.run(
        "parkcredit.server:create_app", factory=True, host=host or settings.host, port=port or settings.port,
        workers=workers, access_log=access_log, log_level="warning",
        # SIGTERM: open requests get this long; then the lifespan waits as long again for running jobs
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_seconds)),
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the service's commands to the `parkcredit` CLI."""
    app.command()(serve)
    app.command()(decide)
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")
    app.add_typer(api_app, name="api")
