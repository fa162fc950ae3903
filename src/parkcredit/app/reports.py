"""Everything an explanation report shows, gathered from a stored decision (no rendering here).

`report_context(ctx, decision_id)` reads the decision row and its canonical record,
the snapshot it used (every input with label, supplying department, unit and as-of date), the
stored rule-set text (its hash recomputed), the model identity, the decision's audit-chain entry
(re-hashed, linked to its neighbours), a replay (`app.decisions.replay_stored`: byte-for-byte
comparison), who made it and when, and any override. Missing pieces are reported as such, never
invented: a report states "not available" and why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from parkcredit.app.context import AppContext
from parkcredit.errors import NotFound
from parkcredit.profile import DERIVED, FIELDS
from parkcredit.profile.departments import DEPARTMENTS
from parkcredit.reports.context import ReportContext
from parkcredit.store import audit, bulk, decisions, keys, overrides, rulesets, snapshots
from parkcredit.store.tables import Decision, Override

__all__ = ["DecisionNotFound", "RenderedReport", "ReportContext", "render_report", "report_context"]

# a graded field -> the field holding the year of its evaluation (its own "as of")
_YEAR_OF = {"tax_credit_grade": "tax_credit_year", "env_credit_level": "env_credit_year",
            "mu_efficiency_class": "mu_eval_year", "annual_report_filed_year": "annual_report_filed_year"}  # fmt: skip
# a field counted in a window back from as_of
_WINDOW = {"_36m": 36, "_24m": 24}


class DecisionNotFound(NotFound, LookupError):
    """No decision with that id."""


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _row_dict(obj: Any) -> dict[str, Any]:
    return {c.key: _iso(getattr(obj, c.key)) for c in obj.__table__.columns}


def _inputs(profile: dict[str, Any], as_of: str, sources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The profile's fields with department and date: from each field's provenance (issue 13) when recorded."""
    out = []
    for name, info in FIELDS.items():
        if info.pii:  # personal data stays out of the decision report (kept apart, erasable)
            continue
        value = profile.get(name)
        when = as_of
        if name in _YEAR_OF and profile.get(_YEAR_OF[name]) is not None:
            when = f"{profile[_YEAR_OF[name]]}"
        window = next((m for suffix, m in _WINDOW.items() if name.endswith(suffix)), None)
        out.append({"name": name, "zh": info.zh, "en": info.en, "dept": info.dept, "unit": info.unit,
                    "value": value, "as_of": when, "window_months": window})  # fmt: skip
        src = sources.get(name)
        if src is not None:  # who supplied the value, as of when (department feed, API, earlier snapshot)
            dept = DEPARTMENTS.get(src.get("department") or "", "")
            out[-1].update(dept=dept or info.dept, as_of=src.get("as_of") or when, source=src)
    return out


def _derived(record: dict[str, Any]) -> list[dict[str, Any]]:
    seen: dict[str, Any] = {}
    for dim in record.get("trace", []):
        for ch in dim["characteristics"]:
            for name, value in ch["inputs"].items():
                if name in DERIVED:
                    seen.setdefault(name, value)
    return [
        {"name": n, "zh": DERIVED[n].zh, "en": DERIVED[n].en, "dept": DERIVED[n].dept, "unit": DERIVED[n].unit,
         "value": v}
        for n, v in seen.items()
    ]  # fmt: skip


def _feature_labels(model: Any, version: str | None) -> dict[str, tuple[str, str, str]]:
    """feature -> (zh, en, source field), from the loaded model's spec when it is the decision's model."""
    labels: dict[str, tuple[str, str, str]] = {}
    spec = getattr(model, "spec", None)
    if spec is not None and getattr(model, "version", None) == version:
        for f in spec.features:
            info = FIELDS.get(f.source) or DERIVED.get(f.source)
            if info is not None:
                labels[f.name] = (info.zh, info.en, f.source)
    return labels


def _contributions(record: dict[str, Any], model: Any) -> list[dict[str, Any]]:
    contrib = record.get("contributions")
    if not contrib:
        return []
    labels = _feature_labels(model, (record.get("model") or {}).get("version"))
    out = []
    for name, value in contrib["features"].items():
        info = FIELDS.get(name) or DERIVED.get(name)
        zh, en, source = labels.get(name) or ((info.zh, info.en, name) if info else (name, name, name))
        out.append({"feature": name, "source": source, "zh": zh, "en": en, "logodds": float(value)})
    out.sort(key=lambda c: (-abs(c["logodds"]), c["feature"]))
    return out


def _ruleset(ctx: AppContext, session: Session, d: Decision) -> dict[str, Any]:
    row = rulesets.get(session, d.ruleset_id) if d.ruleset_id else None
    out: dict[str, Any] = {"version": d.ruleset_version, "hash": d.ruleset_hash, "stored": row is not None}
    if row is None:
        out["hash_check"] = "the rule-set text is not stored"
        return out
    out.update(
        product=row.product, stored_at=_iso(row.created_at), text_sha256=hashlib.sha256(row.text.encode()).hexdigest()
    )
    try:
        from parkcredit.rules.source import compile_text

        rs = compile_text(row.text, f"ruleset_versions/{row.id}")  # not by stored hash: the hash is what is checked
        out["recomputed_hash"] = rs.content_hash
        out["hash_ok"] = rs.content_hash == d.ruleset_hash
        out["zh"], out["en"] = rs.spec.product.name_zh, rs.spec.product.name_en
        out["bands"] = [{"id": b.id, "min_score": b.min_score, "zh": b.zh} for b in rs.spec.bands]
        out["threshold"] = rs.spec.threshold
    except Exception as exc:  # a stored text that no longer parses is a finding, not a crash
        out["hash_ok"] = False
        out["hash_check"] = f"{type(exc).__name__}: {exc}"
    return out


def _audit(session: Session, d: Decision) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    entry = audit.first_entry(session, action="decision.create", object_id=d.id) or bulk.creating_entry(session, d)
    if entry is None:
        return None, {"found": False}
    named = entry.payload.get("sha256") or (entry.payload.get("decisions") or {}).get(d.id)  # one, or a batch chunk
    prev = audit.at_seq(session, entry.seq - 1)
    nxt = audit.at_seq(session, entry.seq + 1)
    check = {
        "found": True,
        "hash_ok": audit.entry_hash(entry) == entry.hash,
        "payload_ok": entry.payload_sha256 == audit.sha256_hex(audit.canonical(entry.payload)),
        "record_sha_ok": named == d.record_sha256
        and d.record_sha256 == hashlib.sha256(d.record.encode("utf-8")).hexdigest(),
        "prev_ok": (prev.hash if prev else audit.GENESIS) == entry.prev_hash,
        "next_ok": None if nxt is None else nxt.prev_hash == entry.hash,
    }
    check["ok"] = all(v is not False for v in check.values())
    return _row_dict(entry), check


def _replay(ctx: AppContext, session: Session, d: Decision) -> dict[str, Any]:
    from parkcredit.app.decisions import replay_stored

    try:
        r = replay_stored(ctx, session, d)
    except Exception as exc:  # the report says replay failed and why
        return {"ran": False, "error": f"{type(exc).__name__}: {exc}"}
    diffs = []
    if not r.identical:
        stored = json.loads(d.record)
        diffs = sorted(k for k in set(stored) | set(r.replayed) if stored.get(k) != r.replayed.get(k))
    return {"ran": True, "identical": r.identical, "stored_sha256": r.stored_sha256,
            "replayed_sha256": r.replayed_sha256, "note": r.note, "differing_keys": diffs}  # fmt: skip


def report_context(ctx: AppContext, decision_id: str) -> ReportContext:
    """The report data of decision `decision_id`; DecisionNotFound if there is none."""
    with ctx.read() as session:
        return _context(ctx, session, decision_id)


def _context(ctx: AppContext, session: Session, decision_id: str) -> ReportContext:
    started = time.perf_counter()
    model = ctx.model
    d = decisions.get(session, decision_id)
    if d is None:
        raise DecisionNotFound(f"no decision {decision_id}")
    record = json.loads(d.record)
    snap = snapshots.get(session, d.snapshot_id)
    assert snap is not None  # a foreign key
    profile = snap.profile
    enterprise = {
        "uscc": d.uscc, "name": snap.name, "park_id": snap.park_id, "industry_code": profile.get("industry_code"),
        "snapshot_id": snap.id, "as_of": snap.as_of.isoformat(), "content_sha256": snap.content_sha256,
        "snapshot_created_by": snap.created_by, "snapshot_created_at": _iso(snap.created_at),
    }  # fmt: skip
    key = keys.get(session, d.created_by)
    actor = {"key_id": d.created_by, "role": key.role if key else None, "label": key.label if key else None,
             "bank": key.bank if key else None, "at": _iso(d.created_at)}  # fmt: skip
    found = [_row_dict(o) for o in overrides.of_decisions(session, [d.id])]
    t0 = time.perf_counter()
    audit_entry, audit_check = _audit(session, d)
    t1 = time.perf_counter()
    replayed = _replay(ctx, session, d)
    t2 = time.perf_counter()
    model_info = dict(record.get("model") or {})
    if getattr(model, "version", None) and model_info.get("version") == model.version:
        model_info["loaded"] = True
    elif model_info.get("version"):
        model_info["loaded"] = False
    report = ReportContext(
        decision=record,
        row={"id": d.id, "created_by": d.created_by, "created_at": _iso(d.created_at), "record_sha256": d.record_sha256,
             "model_status": d.model_status},
        enterprise=enterprise,
        inputs=_inputs(profile, snap.as_of.isoformat(),
                       snapshots.field_sources(snapshots.provenance_of(session, snap.id))),
        derived=_derived(record),
        ruleset=_ruleset(ctx, session, d),
        model=model_info,
        contributions=_contributions(record, model),
        audit_entry=audit_entry,
        audit_check=audit_check,
        replay=replayed,
        actor=actor,
        overrides=found,
        override_columns=[c.key for c in Override.__table__.columns],
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )  # fmt: skip
    from parkcredit.app.credit_events import report_events  # issue 15: disputes and credit repair
    from parkcredit.app.disputes import report_disputes

    report.disputes = report_disputes(session, d.uscc, snap.id)
    report.credit_events = report_events(session, snap.id, snap.as_of)
    report.timings_ms = {
        "audit": (t1 - t0) * 1e3,
        "replay": (t2 - t1) * 1e3,
        "total": (time.perf_counter() - started) * 1e3,
    }
    return report


@dataclass
class RenderedReport:
    """A rendered report: HTML text or PDF bytes, and how long it took."""

    content: str | bytes
    media_type: str
    filename: str
    render_ms: float
    replay: str  # identical | DIFFERS | failed

    def headers(self) -> dict[str, str]:
        """HTTP headers of the report: render time, never cached, a PDF as a download."""
        out = {"X-Report-Render-Ms": f"{self.render_ms:.0f}", "Cache-Control": "no-store"}
        if self.media_type == "application/pdf":
            out["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        else:
            from parkcredit.reports.render import report_csp

            out["Content-Security-Policy"] = report_csp()
        return out


def render_report(ctx: AppContext, decision_id: str, *, fmt: str = "html", lang: str = "zh") -> RenderedReport:
    """The explanation report of a decision as HTML or PDF; DecisionNotFound, or PdfUnavailable for a PDF
    on a machine without Chromium."""
    from parkcredit.reports import render_html, render_pdf

    started = time.perf_counter()
    report = report_context(ctx, decision_id)
    html = render_html(report, lang)
    replay = "identical" if report.replay.get("identical") else ("DIFFERS" if report.replay.get("ran") else "failed")
    if fmt == "pdf":
        pdf = render_pdf(html)
        return RenderedReport(pdf, "application/pdf", f"decision-{decision_id}.pdf",
                              (time.perf_counter() - started) * 1e3, replay)  # fmt: skip
    return RenderedReport(html, "text/html", f"decision-{decision_id}.html", (time.perf_counter() - started) * 1e3,
                          replay)  # fmt: skip
