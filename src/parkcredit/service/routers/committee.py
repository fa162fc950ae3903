"""Committee (园区管委会) routes: profiles, imports, decisions, batch jobs, authorizations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from parkcredit.profile import Profile, Uscc
from parkcredit.service import schemas as s
from parkcredit.service import scoring, views
from parkcredit.service.deps import (
    Committee,
    CommitteeOrAuditor,
    IdempotencyDep,
    LazyWriteSession,
    ReadSession,
    ServicesDep,
    WriteSession,
)
from parkcredit.service.errors import NotFound
from parkcredit.service.imports import parse_upload
from parkcredit.service.jobs import run_batch
from parkcredit.store import audit, repo
from parkcredit.store.db import begin_write
from parkcredit.store.tables import Authorization, Decision, Job

router = APIRouter(prefix="/v1", tags=["committee"])


@router.post("/enterprises", status_code=201, response_model=s.SnapshotOut)
def create_snapshot(profile: Profile, session: WriteSession, caller: Committee, idem: IdempotencyDep) -> Any:
    """Store a validated profile as a new snapshot of the enterprise."""
    if (hit := idem.replay(session, caller, profile)) is not None:
        return hit
    data = profile.model_dump(mode="json")
    scoring.check_numbers(data)
    snap = repo.add_snapshot(session, data, caller.key_id)
    return idem.finish(session, 201, views.snapshot(snap))


# 422: a file with bad rows gets ImportOut (rows refused, with reasons); a request that is not an
# upload at all (no file field, wrong query type) gets FastAPI's validation-error body
_IMPORT_422 = {"description": "rows refused, or the request is not a valid upload", "content": {"application/json": {
    "schema": {"anyOf": [{"$ref": "#/components/schemas/ImportOut"}, {"$ref": "#/components/schemas/HTTPValidationError"}]}
}}}  # fmt: skip


@router.post("/imports", response_model=s.ImportOut, responses={422: _IMPORT_422})
def import_profiles(
    file: UploadFile,
    session: WriteSession,
    caller: Committee,
    idem: IdempotencyDep,
    strict: Annotated[bool, Query(description="store nothing if any row is bad")] = False,
) -> Any:
    """Import a CSV/XLSX of profiles: all good rows in one transaction, bad rows reported."""
    data = file.file.read()
    if (hit := idem.replay(session, caller, data + f"\nstrict={strict}".encode())) is not None:
        return hit
    profiles, rejected, rows_read = parse_upload(data, file.filename or "")
    out = s.ImportOut(
        rows_read=rows_read,
        rows_stored=0,
        rows_rejected=len({r.row for r in rejected}),
        strict=strict,
        rejected=rejected,
    )
    if strict and rejected:
        session.rollback()
        return JSONResponse(out.model_dump(mode="json"), status_code=422)
    snaps = [repo.add_snapshot(session, p, caller.key_id, audit_entry=False) for p in profiles]
    out.rows_stored = len(snaps)
    audit.append(
        session,
        caller.key_id,
        "snapshot.import",
        "import",
        file.filename or "upload",
        {"rows_read": rows_read, "snapshot_ids": [x.id for x in snaps], "rejected": len(rejected)},
    )
    return idem.finish(session, 200, out)


@router.get("/enterprises/{uscc}", response_model=s.EnterpriseOut)
def read_enterprise(uscc: Uscc, session: ReadSession, caller: CommitteeOrAuditor) -> Any:
    """The enterprise's latest snapshot and its latest decisions."""
    snap = repo.latest_snapshot(session, uscc)
    if snap is None:
        raise NotFound(f"no snapshot of {uscc}")
    decisions = [views.decision_summary(d) for d in repo.latest_decisions_of(session, uscc)]
    return s.EnterpriseOut(snapshot=views.snapshot_detail(snap), decisions=decisions)


@router.get("/enterprises/{uscc}/snapshots", response_model=list[s.SnapshotOut])
def read_snapshots(uscc: Uscc, session: ReadSession, caller: CommitteeOrAuditor) -> Any:
    """The enterprise's snapshots, newest first."""
    return [views.snapshot(x) for x in repo.snapshots_of(session, uscc)]


@router.post("/decisions", status_code=201, response_model=s.DecisionRecord)
def create_decision(
    body: s.DecisionRequest, session: LazyWriteSession, caller: Committee, idem: IdempotencyDep, services: ServicesDep
) -> Any:
    """Decide the enterprise on its latest snapshot with the product's rule set in force at its as_of."""
    if (hit := idem.replay(session, caller, body)) is not None:
        return hit
    services.ruleset(body.product, ("body", "product"))
    snap = repo.latest_snapshot(session, body.uscc)
    if snap is None:
        raise NotFound(f"no snapshot of {body.uscc}; POST /v1/enterprises first")
    ruleset = services.ruleset(body.product, ("body", "product"), session=session, as_of=snap.as_of)
    records = scoring.compute(session, [snap], ruleset, services.model, services.model_status)
    session.rollback()
    begin_write(session)
    if (hit := idem.replay(session, caller, body)) is not None:  # a concurrent retry finished first
        return hit
    scoring.store(session, records, ruleset, caller.key_id)
    return idem.finish(session, 201, s.DecisionRecord.model_validate(records[0]))


@router.post("/decisions/batch", status_code=202, response_model=s.JobOut)
def create_batch(
    body: s.BatchRequest,
    request: Request,
    tasks: BackgroundTasks,
    session: WriteSession,
    caller: Committee,
    idem: IdempotencyDep,
    services: ServicesDep,
) -> Any:
    """Score the latest snapshot of every enterprise (of a park) in the background; poll the job."""
    if (hit := idem.replay(session, caller, body)) is not None:
        return hit
    services.ruleset(body.product, ("body", "product"))
    job = repo.add_job(session, "batch_decide", body.model_dump(), caller.key_id)
    out = idem.finish(session, 202, views.job(job))
    tasks.add_task(run_batch, request.app.state, job.id)
    return out


@router.get("/jobs/{job_id}", response_model=s.JobOut)
def read_job(job_id: str, session: ReadSession, caller: CommitteeOrAuditor) -> Any:
    """A background job's status and progress."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return views.job(job)


@router.get("/decisions/{decision_id}", response_model=s.DecisionRecord)
def read_decision(decision_id: str, session: ReadSession, caller: CommitteeOrAuditor) -> Any:
    """The full stored decision, exactly as recorded."""
    d = session.get(Decision, decision_id)
    if d is None:
        raise NotFound(f"no decision {decision_id}")
    return JSONResponse(content=_loads(d.record))


@router.post("/authorizations", status_code=201, response_model=s.AuthorizationOut)
def create_authorization(
    body: s.AuthorizationRequest, session: WriteSession, caller: Committee, idem: IdempotencyDep, services: ServicesDep
) -> Any:
    """Record an enterprise's authorization of a bank for some products until a date."""
    if (hit := idem.replay(session, caller, body)) is not None:
        return hit
    for i, product in enumerate(body.products):
        services.ruleset(product, ("body", "products", i))
    row = repo.add_authorization(session, caller.key_id, **body.model_dump())
    return idem.finish(session, 201, views.authorization(row))


@router.delete("/authorizations/{authorization_id}", response_model=s.AuthorizationOut)
def revoke_authorization(authorization_id: str, session: WriteSession, caller: Committee) -> Any:
    """Revoke an authorization (it is kept, with revoked_at set)."""
    row = session.get(Authorization, authorization_id)
    if row is None:
        raise NotFound(f"no authorization {authorization_id}")
    repo.revoke_authorization(session, row, caller.key_id)
    session.commit()
    return views.authorization(row)


def _loads(text: str) -> dict[str, Any]:
    import json

    return json.loads(text)  # type: ignore[no-any-return]
