"""CLI of rule governance: `parkcredit rulesets …` (lifecycle, diff, backtest) and `parkcredit governance …`
(monitoring, performance, overrides report, erasure of personal data, seeding the bundled rule sets),
each calling the same use case (`parkcredit.app`) as the API.

Writes act as an API key (`--key`, or PARKCREDIT_API_KEY): the same roles and the same maker-checker
rule as over HTTP, and every write is in the audit chain under that key's id.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]

rulesets_app = typer.Typer(help="Rule-set versions in the store: list, show, draft, validate, approve, publish, "
                                "retire, diff, backtest.", no_args_is_help=True)  # fmt: skip
governance_app = typer.Typer(help="Monitoring (PSI), performance on outcomes, overrides report, erasure of "
                                  "personal data.", no_args_is_help=True)  # fmt: skip

KeyOpt = Annotated[
    str | None, typer.Option("--key", envvar="PARKCREDIT_API_KEY", help="API key acting (its role counts)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _row_dict(row: Any) -> dict[str, Any]:
    cols = ("id", "product", "version", "effective_from", "status", "content_hash", "source", "note", "created_by",
            "created_at", "approved_by", "approved_at", "published_by", "published_at", "retired_by", "retired_at",
            "retire_reason")  # fmt: skip
    d = row.model_dump(mode="json")
    d["id"] = d.pop("ruleset_id")
    return {c: d.get(c) for c in cols}


def _call(fn: Any, *args: Any, **kw: Any) -> Any:
    """Run a use case; its refusals become the CLI's exit codes (2 bad input, 3 forbidden, 4 conflict, 1 not found)."""
    from parkcredit.errors import ParkcreditError

    try:
        return fn(*args, **kw)
    except ParkcreditError as exc:
        raise _fail(exc.message, exc.exit_code) from None


def _context() -> Any:
    from parkcredit.cli.service import open_context

    return open_context()


def _load(ctx: Any, ref: str) -> Any:
    """The compiled rule set of a stored version id or a YAML file path."""
    from parkcredit.rules import RuleSetError, load_ruleset
    from parkcredit.store import rulesets

    try:
        if ref.isdigit():
            with ctx.read() as session:
                row = rulesets.get(session, int(ref))
                if row is None:
                    raise _fail(f"no rule set {ref}", 1)
                return ctx.compiled(row)
        return load_ruleset(ref)
    except RuleSetError as exc:
        raise _fail(str(exc), 1) from None


# -- rulesets -------------------------------------------------------------------------------------
@rulesets_app.command("list")
def list_cmd(
    product: Annotated[str | None, typer.Option(help="one product")] = None,
    status: Annotated[str | None, typer.Option(help="draft | approved | published | retired")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rule-set versions with their lifecycle."""
    from rich.console import Console
    from rich.table import Table

    from parkcredit.app import rulesets

    ctx = _context()
    rows = [_row_dict(r) for r in rulesets.list_versions(ctx, product=product, status=status)]
    if as_json:
        _echo_json(rows)
        return
    t = Table(title="规则版本 / rule-set versions")
    for col in ("id", "product", "version", "effective", "status", "author", "approver", "publisher", "hash"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r["id"]), r["product"], r["version"], str(r["effective_from"]), r["status"], r["created_by"],
                  r["approved_by"] or "", r["published_by"] or "", r["content_hash"][7:19] + "…")  # fmt: skip
    Console().print(t)


@rulesets_app.command("show")
def show_cmd(ruleset_id: int, text: Annotated[bool, typer.Option(help="print the YAML text")] = False) -> None:
    """One version: lifecycle as JSON, or its exact YAML text."""
    from parkcredit.app import rulesets

    row = _call(rulesets.read_version, _context(), ruleset_id)
    if text:
        typer.echo(row.text, nl=False)
    else:
        _echo_json(_row_dict(row))


@rulesets_app.command("draft")
def draft_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="rule-set YAML")],
    key: KeyOpt = None,
    note: Annotated[str, typer.Option(help="change note (what and why)")] = "",
) -> None:
    """Store a checked rule-set file as a draft (a bad file is refused: exit 1 naming file, line, rule, reason)."""
    from parkcredit.app import rulesets
    from parkcredit.cli.service import acting
    from parkcredit.rules import RuleSetError, load_ruleset

    try:
        load_ruleset(file)
    except RuleSetError as exc:
        raise _fail(str(exc), 1) from None
    ctx = _context()
    who = acting(ctx, key, "committee", "approver")
    row = _call(rulesets.create_draft, ctx, who, text=file.read_text(encoding="utf-8"), filename=file.name, note=note)
    typer.echo(f"draft {row.ruleset_id}: {row.product} v{row.version}, effective {row.effective_from} "
               f"({row.content_hash})")  # fmt: skip


@rulesets_app.command("validate")
def validate_cmd(refs: Annotated[list[str], typer.Argument(help="stored version ids or YAML files")]) -> None:
    """Check stored versions or files with today's checks; exit 1 if any fails."""
    from parkcredit.app import rulesets
    from parkcredit.errors import InvalidInput

    ctx = _context()
    failed = False
    for ref in refs:
        try:
            if ref.isdigit():
                out = _call(rulesets.validate_stored, ctx, int(ref))
            else:
                out = rulesets.validate_text(Path(ref).read_text(encoding="utf-8"), ref)
        except (InvalidInput, OSError) as exc:
            typer.echo(f"✗ {exc}", err=True)
            failed = True
            continue
        typer.echo(f"✓ {ref}: {out.product} v{out.version}, effective {out.effective_from} ({out.content_hash})")
    if failed:
        raise typer.Exit(1)


def _transition(ruleset_id: int, key: str | None, roles: tuple[str, ...], action: str, **kw: Any) -> None:
    from parkcredit.app import rulesets
    from parkcredit.cli.service import acting

    ctx = _context()
    who = acting(ctx, key, *roles)
    transitions: dict[str, Any] = {"approve": rulesets.approve, "publish": rulesets.publish, "retire": rulesets.retire}
    fn = transitions[action]
    row = _call(fn, ctx, who, ruleset_id, **kw)
    typer.echo(f"rule set {row.ruleset_id} ({row.product} v{row.version}) is now {row.status}")


HashOpt = Annotated[
    str, typer.Option("--content-hash", help="the content hash of the text you reviewed (`rulesets show ID`)")
]


@rulesets_app.command("approve")
def approve_cmd(
    ruleset_id: int, content_hash: HashOpt, key: KeyOpt = None, note: Annotated[str, typer.Option()] = ""
) -> None:
    """Approve the draft you reviewed (an approver other than its author; exit 4 if its text changed since)."""
    _transition(ruleset_id, key, ("approver",), "approve", note=note, content_hash=content_hash)


@rulesets_app.command("publish")
def publish_cmd(ruleset_id: int, content_hash: HashOpt, key: KeyOpt = None) -> None:
    """Publish an approved version: it decides snapshots whose as_of is on or after its effective_from."""
    _transition(ruleset_id, key, ("approver",), "publish", content_hash=content_hash)


@rulesets_app.command("retire")
def retire_cmd(
    ruleset_id: int, reason: Annotated[str, typer.Option(help="why (kept with the version)")], key: KeyOpt = None
) -> None:
    """Retire a version (kept for replay); the last published version of a product cannot be retired."""
    _transition(ruleset_id, key, ("approver", "committee"), "retire", reason=reason)


@rulesets_app.command("diff")
def diff_cmd(
    old: Annotated[str, typer.Argument(help="version id or YAML file")],
    new: Annotated[str, typer.Argument(help="version id or YAML file")],
    lang: Annotated[str, typer.Option(help="zh | en")] = "zh",
    as_json: JsonOpt = False,
) -> None:
    """What changed from OLD to NEW: thresholds, weights, bins, knock-outs added, removed or changed."""
    from parkcredit.governance.diff import diff_rulesets, render

    ctx = _context()
    changes = diff_rulesets(_load(ctx, old), _load(ctx, new))
    if as_json:
        _echo_json([c.to_dict() for c in changes])
    else:
        typer.echo(render(changes, "en" if lang == "en" else "zh"))


@rulesets_app.command("backtest")
def backtest_cmd(
    candidate: Annotated[str, typer.Argument(help="version id or YAML file")],
    against: Annotated[
        str | None, typer.Option(help="baseline: version id or file (default: latest published)")
    ] = None,
    profiles: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="a profile file instead of the store's portfolio")
    ] = None,
    outcome_column: Annotated[str, typer.Option(help="0/1 outcome column of --profiles")] = "default_12m",
    park_id: Annotated[str | None, typer.Option(help="one park of the store's portfolio")] = None,
    out: Annotated[Path | None, typer.Option(help="write the JSON report here")] = None,
) -> None:
    """What-if: CANDIDATE against the baseline on the latest snapshots (or --profiles) and recorded outcomes."""
    import time

    import numpy as np

    from parkcredit.app import rulesets
    from parkcredit.governance.backtest import backtest

    started = time.perf_counter()
    ctx = _context()
    cand = _load(ctx, candidate)
    base = _load(ctx, against) if against is not None else _call(rulesets.latest_other, ctx, cand)
    if profiles is not None:
        from parkcredit.profile import COLUMNS, coerce
        from parkcredit.tableio import read_table

        raw = read_table(profiles)
        bad = raw[outcome_column].to_numpy("float64") if outcome_column in raw else None
        frame, errors = coerce(raw[[c for c in raw.columns if c in COLUMNS]])
        if errors:
            raise _fail(f"{profiles}: {len(errors)} rows refused, first: row {errors[0].row + 2}, "
                        f"{errors[0].column}: {errors[0].reason}")  # fmt: skip
    else:
        frame, bad = rulesets.portfolio_with_outcomes(ctx, cand.product, park_id=park_id)
    report = backtest(frame, base, cand, bad=bad if bad is None else np.asarray(bad))
    text = json.dumps(report, ensure_ascii=False, indent=2, default=str)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    b, a, d = report["before"], report["after"], report["discrimination"]
    typer.echo(f"{report['n']:,} enterprises · {base.product} v{base.version} → {cand.product} v{cand.version}")
    typer.echo(f"approved 通过: {b['approved']:,} → {a['approved']:,} ({report['change']['approved']:+,})")
    typer.echo(f"total limit 授信总额 (yuan): {b['total_limit_yuan']:,} → {a['total_limit_yuan']:,} "
               f"({report['change']['total_limit_yuan']:+,})")  # fmt: skip
    sw = report["swap"]
    typer.echo(f"swap-in 新增: {sw['swap_in']:,} ({sw['swap_in_limit_yuan']:,} yuan) · swap-out 移出: "
               f"{sw['swap_out']:,} ({sw['swap_out_limit_yuan']:,} yuan)")  # fmt: skip
    typer.echo(f"with outcome 有结果: {d['with_outcome']:,} ({d['bad']:,} bad) · AUC {d['before']['auc']} → "
               f"{d['after']['auc']} · KS {d['before']['ks']} → {d['after']['ks']}")  # fmt: skip
    typer.echo(f"backtest {report['elapsed_s']:.2f} s, total {time.perf_counter() - started:.2f} s"
               + (f"; report written to {out}" if out else ""))  # fmt: skip


# -- governance -----------------------------------------------------------------------------------
@governance_app.command("seed")
def seed_cmd() -> None:
    """Store the bundled scoring_rules/*.yaml as first published versions of products the store lacks."""
    from parkcredit.app import rulesets

    ctx = _context()
    good, errors = ctx.source.bundled()
    for e in errors:
        typer.echo(f"refused: {e}", err=True)
    added = rulesets.seed_bundled(ctx, good)
    typer.echo(f"seeded {len(added)} rule set(s): {', '.join(f'{p} v{v}' for p, v in added) or 'none'}")


@governance_app.command("monitor")
def monitor_cmd(
    product: Annotated[str, typer.Option()] = "chengxindai",
    park_id: Annotated[str | None, typer.Option()] = None,
    ref_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    ref_to: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    cur_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    cur_to: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    as_json: JsonOpt = False,
) -> None:
    """PSI of every input, characteristic and score (current vs reference window, by snapshot as_of)."""
    from parkcredit.app import monitoring

    def day(s: str | None) -> dt.date | None:
        try:
            return dt.date.fromisoformat(s) if s else None
        except ValueError:
            raise _fail(f"not a date (YYYY-MM-DD): {s!r}") from None

    ctx = _context()
    ctx.refresh()
    report = _call(monitoring.monitoring, ctx, product, park_id=park_id, ref_from=day(ref_from), ref_to=day(ref_to),
                   cur_from=day(cur_from), cur_to=day(cur_to))  # fmt: skip
    rf, rt = report["reference"]["from"], report["reference"]["to"]
    cf, ct = report["current"]["from"], report["current"]["to"]
    if as_json:
        _echo_json(report)
        return
    w = report["windows"]
    version = report["ruleset"]["version"]
    typer.echo(f"{product} v{version} · reference {rf}..{rt} ({w['reference_n']:,}) · current {cf}..{ct} "
               f"({w['current_n']:,})")  # fmt: skip
    for warn in report["warnings"]:
        typer.echo(f"! {warn['zh']} / {warn['en']}")
    for part in ("scores", "characteristics", "inputs"):
        for x in report[part]:
            if x["psi"] is not None and x["level"] != "stable":
                typer.echo(f"{x['level']:>6}  PSI {x['psi']:.4f}  {part[:-1]} {x['name']}")
    summary = report.get("summary", {})
    typer.echo(f"alert ≥ 0.25: {len(summary.get('alert', []))}, watch ≥ 0.1: {len(summary.get('watch', []))}, "
               f"stable: {summary.get('stable', 0)}")  # fmt: skip


@governance_app.command("performance")
def performance_cmd(
    product: Annotated[str | None, typer.Option()] = None,
    freq: Annotated[str, typer.Option(help="month | quarter | year")] = "quarter",
) -> None:
    """Realised default rates by band and product over time; AUC/KS of rules, model and blend (JSON)."""
    from parkcredit.app import monitoring

    ctx = _context()
    ctx.refresh()
    report = _call(monitoring.performance, ctx, product=product, freq=freq)
    report.pop("product")
    _echo_json(report)


@governance_app.command("overrides")
def overrides_cmd() -> None:
    """Overrides counted by officer, direction, reason and product (JSON)."""
    from parkcredit.app import overrides

    _echo_json(overrides.report(_context()))


@governance_app.command("erase-pii")
def erase_cmd(
    uscc: Annotated[str, typer.Argument(help="统一社会信用代码")],
    legal_basis: Annotated[str, typer.Option(help="e.g. 个人信息保护法第四十七条")],
    key: KeyOpt = None,
) -> None:
    """Erase the legal representative's personal data of every snapshot of USCC (committee key)."""
    from parkcredit.app import enterprises
    from parkcredit.cli.service import acting
    from parkcredit.profile import UsccError, parse_uscc

    try:
        code = str(parse_uscc(uscc))
    except UsccError as exc:
        raise _fail(str(exc)) from None
    ctx = _context()
    who = acting(ctx, key, "committee")
    out = _call(enterprises.erase_personal_data, ctx, who, code, legal_basis=legal_basis)
    typer.echo(f"erased personal data of {len(out.erased_snapshot_ids)} snapshot(s) of {code}; decisions and the "
               "audit chain are kept")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add `rulesets` and `governance` to the `parkcredit` CLI."""
    app.add_typer(rulesets_app, name="rulesets")
    app.add_typer(governance_app, name="governance")
