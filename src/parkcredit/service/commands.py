"""CLI commands of the service: `serve`, `keys create`, `audit verify`, `db upgrade`, `api openapi`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log's hash chain.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
api_app = typer.Typer(help="The HTTP contract.", no_args_is_help=True)

DEMO_BANK = "自贡银行"
DEMO_ROLES = ("committee", "approver", "bank", "auditor", "admin")


def _sessions():  # type: ignore[no-untyped-def]
    from parkcredit.settings import get_settings
    from parkcredit.store.db import make_engine, make_sessionmaker

    settings = get_settings()
    engine = make_engine(settings.database_url)
    return settings, engine, make_sessionmaker(engine)


def _prepare_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (PARKCREDIT_DATABASE_URL) to the latest schema."""
    from parkcredit.settings import get_settings
    from parkcredit.store.migrate import upgrade

    _prepare_sqlite_dir(get_settings().database_url)
    _, engine, _ = _sessions()
    upgrade(engine)
    typer.echo("database at the latest schema")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="committee | approver | bank | auditor | admin")],
    bank: Annotated[str | None, typer.Option(help="the bank a bank key is bound to")] = None,
    label: Annotated[str, typer.Option(help="who holds the key")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from parkcredit.store import keys
    from parkcredit.store.db import write_session

    settings, _, sessions = _sessions()
    try:
        with write_session(sessions) as session:
            row, token = keys.create_key(session, role, settings.api_key_pepper, bank=bank, label=label)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"key_id": row.id, "role": role, "bank": bank, "token": token}, ensure_ascii=False))
    else:
        typer.echo(f"key {row.id} ({role}{', ' + bank if bank else ''}) — shown once, store it now:\n{token}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit chain; exit 1 naming the first edited, deleted or re-ordered entry."""
    from parkcredit.store import audit

    _, _, sessions = _sessions()
    with sessions() as session:
        r = audit.verify(session)
    if r.ok:
        typer.echo(f"audit chain OK: {r.entries} entries, head {r.head_hash}")
        return
    typer.echo(f"audit chain BROKEN at seq {r.first_bad_seq}: {r.reason}", err=True)
    raise typer.Exit(1)


@api_app.command("openapi")
def api_openapi(out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None) -> None:
    """Print the OpenAPI document (api/openapi.json is this output)."""
    from parkcredit.service.openapi import openapi_text

    text = openapi_text()
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


def seed_demo(sessions, pepper: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Seed an empty database with a synthetic park, authorizations and demo keys; return the keys."""
    import datetime as dt

    from sqlalchemy import select

    from parkcredit.store import keys, repo
    from parkcredit.store.db import write_session
    from parkcredit.store.tables import ApiKey, Snapshot

    tokens = {role: keys.demo_token(role) for role in DEMO_ROLES}
    with write_session(sessions) as session:
        if session.scalar(select(Snapshot.id).limit(1)) is not None:
            known = {r.key_hash for r in session.scalars(select(ApiKey))}
            return {r: t for r, t in tokens.items() if keys.hash_token(t, pepper) in known}
        profiles = _demo_profiles()
        snaps = [repo.add_snapshot(session, p, "demo", audit_entry=False) for p in profiles]
        repo.audit.append(session, "demo", "snapshot.import", "import", "demo", {"snapshots": len(snaps)})
        today = dt.date.today()
        for p in _demo_authorizing(profiles):
            repo.add_authorization(
                session,
                "demo",
                uscc=p["uscc"],
                bank=DEMO_BANK,
                products=["chengxindai"],
                valid_from=today,
                valid_to=today + dt.timedelta(days=365),
                scope="eligibility summary",
                purpose="企业诚信贷 demo",
                evidence_ref="demo://authorization",
                evidence_sha256=None,
            )
        for role in DEMO_ROLES:
            keys.create_key(
                session,
                role,
                pepper,
                bank=DEMO_BANK if role == "bank" else None,
                label="demo",
                actor="demo",
                token=tokens[role],
            )
    return tokens


def _demo_authorizing(profiles: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    """The demo enterprises that authorize the demo bank: 10 eligible ones first, then 5 refused ones."""
    from parkcredit.catalog import load_product
    from parkcredit.decision import decide
    from parkcredit.profile import to_frame

    eligible = decide(to_frame(profiles), load_product("chengxindai")).summary["eligible"].tolist()
    yes = [p for p, ok in zip(profiles, eligible, strict=True) if ok]
    no = [p for p, ok in zip(profiles, eligible, strict=True) if not ok]
    return yes[:10] + no[:5]


def _demo_authorized(sessions) -> list[str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from parkcredit.store.tables import Authorization

    with sessions() as session:
        q = select(Authorization.uscc).where(Authorization.bank == DEMO_BANK).order_by(Authorization.created_at)
        return list(session.scalars(q))


def _demo_unauthorized(sessions) -> str | None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from parkcredit.store.tables import Authorization, Snapshot

    with sessions() as session:
        q = select(Snapshot.uscc).where(Snapshot.uscc.not_in(select(Authorization.uscc))).order_by(Snapshot.id)
        return session.scalars(q.limit(1)).first()


def _demo_profiles() -> list[dict]:  # type: ignore[type-arg]
    from parkcredit.profile import Profile

    try:
        from parkcredit.synth import generate

        frame = generate(300, seed=7).drop(columns=["default_12m"])
    except ImportError:
        return [Profile.model_validate(p).model_dump(mode="json") for p in _hand_profiles()]
    import pandas as pd

    out = []
    for rec in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        clean = {k: (v.date() if isinstance(v, pd.Timestamp) else v) for k, v in rec.items()}
        out.append(Profile.model_validate(clean).model_dump(mode="json"))
    return out


def _hand_profiles() -> list[dict]:  # type: ignore[type-arg]
    from parkcredit.profile.uscc import check_char

    out = []
    for i in range(20):
        body = f"91510311MA6{i:06d}"[:17]
        out.append({
            "uscc": body + check_char(body), "name": f"演示企业{i:02d}有限公司", "as_of": "2025-06-30",
            "established_on": "2015-03-01", "in_park_since": "2016-01-01", "park_id": "yantan",
            "revenue_yuan_y1": 10_000_000 + 1_000_000 * i, "revenue_yuan_y2": 9_000_000 + 900_000 * i,
            "tax_paid_yuan_y1": 400_000 + 50_000 * i, "tax_credit_grade": "ABMCD"[i % 5],
        })  # fmt: skip
    return out


def serve(
    demo: Annotated[bool, typer.Option(help="migrate, seed a synthetic park and print demo keys")] = False,
    host: Annotated[str | None, typer.Option(help="bind address (default: settings.host)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: settings.port)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="worker processes (PostgreSQL for more than one)")] = 1,
    access_log: Annotated[bool, typer.Option(help="log every request (costs 10-30 % throughput)")] = False,
) -> None:
    """Run the HTTP API (uvicorn); the database is migrated first."""
    import uvicorn

    from parkcredit.store.migrate import upgrade

    settings, engine, sessions = _sessions()
    if workers > 1 and settings.database_url.startswith("sqlite"):
        typer.echo(f"warning: {workers} workers on SQLite serialise every write on one file lock; "
                   "use PostgreSQL (PARKCREDIT_DATABASE_URL) for several workers", err=True)  # fmt: skip
    _prepare_sqlite_dir(settings.database_url)
    upgrade(engine)
    if demo:
        tokens = seed_demo(sessions, settings.api_key_pepper)
        typer.echo("demo keys (DEMO ONLY — deterministic, never use in production):")
        for role, token in tokens.items():
            typer.echo(f"  {role:<10} {token}" + (f"   (bank: {DEMO_BANK})" if role == "bank" else ""))
        authorized = _demo_authorized(sessions)
        if authorized:
            typer.echo(f"enterprises that authorized {DEMO_BANK} for chengxindai: {', '.join(authorized[:3])} …")
            typer.echo(f"one that did not: {_demo_unauthorized(sessions)}")
        typer.echo(f"API on http://{host or settings.host}:{port or settings.port}  (docs: /docs)")
    engine.dispose()
    uvicorn.run(
        "parkcredit.service.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
        workers=workers, access_log=access_log, log_level="warning",
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the service's commands to the `parkcredit` CLI."""
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")
    app.add_typer(api_app, name="api")
