"""Committee (园区管委会) routes: profiles, imports, decisions, batch jobs, authorizations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from parkcredit.api.deps import Committee, CommitteeOrAuditor, Ctx, Feeder, IdemDep, ReaderOrEnterprise, respond
from parkcredit.app import access, decisions, enterprises, imports
from parkcredit.app import schemas as s
from parkcredit.app.import_schemas import ImportOut
from parkcredit.profile import Profile, Uscc

router = APIRouter(prefix="/v1", tags=["committee"])


@router.post("/enterprises", status_code=201, response_model=s.SnapshotOut)
def create_snapshot(profile: Profile, ctx: Ctx, caller: Committee, idem: IdemDep) -> Any:
    """Store a validated profile as a new snapshot of the enterprise."""
    return respond(enterprises.create_snapshot(ctx, caller, profile.model_dump(mode="json"), idem=idem))


# 422: a file refused (a header that cannot be used, a missing column; with strict any bad row) gets ImportOut
# with the file-level problems apart from the rows; a file that cannot be read at all, or a request that is not
# an upload, gets the validation-error body naming the problem
_IMPORT_BODIES = [{"$ref": "#/components/schemas/ImportOut"}, {"$ref": "#/components/schemas/HTTPValidationError"}]
_IMPORT_422 = {"description": "file refused, or the request is not a valid upload",
               "content": {"application/json": {"schema": {"anyOf": _IMPORT_BODIES}}}}  # fmt: skip


@router.post("/imports", response_model=ImportOut, responses={403: {"description": "fields of another department"},
                                                                413: {"description": "upload too large"},
                                                                422: _IMPORT_422})  # fmt: skip
def import_profiles(
    file: UploadFile,
    ctx: Ctx,
    caller: Feeder,
    idem: IdemDep,
    strict: Annotated[bool, Query(description="store nothing if any row is bad; refuse unknown columns")] = False,
    department: Annotated[str | None, Query(max_length=40, description="sending department (tax …)")] = None,
    as_of: Annotated[dt.date | None, Query(description="the department's as-of date of the data")] = None,
) -> Any:
    """Import a CSV/XLSX feed: each good row a new snapshot (its previous profile with the file's fields), with
    per-field provenance; bad rows reported. A department key sends only its own department's fields."""
    data = file.file.read(ctx.settings.max_upload_bytes + 1)  # bounded: never more than the limit + 1 byte
    out = imports.import_profiles(ctx, caller, data=data, filename=file.filename or "", strict=strict,
                                  department=department, as_of=as_of, idem=idem)  # fmt: skip
    if isinstance(out, ImportOut) and out.refused:
        return JSONResponse(out.model_dump(mode="json"), status_code=422)
    return respond(out)


@router.get("/enterprises/{uscc}", response_model=s.EnterpriseOut)
def read_enterprise(uscc: Uscc, ctx: Ctx, caller: ReaderOrEnterprise) -> Any:
    """The enterprise's latest snapshot and its latest decisions (an enterprise key: its own only)."""
    return enterprises.read_enterprise(ctx, uscc, actor=caller)


@router.get("/enterprises/{uscc}/snapshots", response_model=list[s.SnapshotOut])
def read_snapshots(uscc: Uscc, ctx: Ctx, caller: ReaderOrEnterprise) -> Any:
    """The enterprise's snapshots, newest first (an enterprise key: its own only)."""
    return enterprises.read_snapshots(ctx, uscc, actor=caller)


@router.post("/decisions", status_code=201, response_model=s.DecisionRecord)
def create_decision(body: s.DecisionRequest, ctx: Ctx, caller: Committee, idem: IdemDep) -> Any:
    """Decide the enterprise on its latest snapshot with the product's rule set in force at its as_of."""
    out = decisions.decide_enterprise(ctx, caller, uscc=body.uscc, product=body.product, idem=idem)
    if isinstance(out, s.DecisionRecord):
        # the bytes FastAPI writes for a returned model (its `dump_json` path: the response model's serialiser,
        # `Response(media_type="application/json")`), without checking the record built just now a second time
        # in another thread hop (issue 18; tests/service/test_decision_body.py compares the two)
        return Response(out.model_dump_json(by_alias=True), status_code=201, media_type="application/json")
    return respond(out)


@router.post("/decisions/batch", status_code=202, response_model=s.JobOut)
def create_batch(body: s.BatchRequest, ctx: Ctx, caller: Committee, idem: IdemDep) -> Any:
    """Score the latest snapshot of every enterprise (of a park) in the background; poll the job."""
    return respond(decisions.start_batch(ctx, caller, product=body.product, park_id=body.park_id, idem=idem))


@router.post("/jobs/{job_id}/resume", status_code=202, response_model=s.JobOut)
def resume_job(job_id: str, ctx: Ctx, caller: Committee, idem: IdemDep) -> Any:
    """Resume a failed batch job after its last stored chunk (no decision is stored twice); 409 unless failed."""
    return respond(decisions.resume_batch(ctx, caller, job_id=job_id, idem=idem))


@router.get("/jobs/{job_id}", response_model=s.JobOut)
def read_job(job_id: str, ctx: Ctx, caller: CommitteeOrAuditor) -> Any:
    """A background job's status and progress."""
    return decisions.read_job(ctx, job_id)


@router.get("/decisions/{decision_id}", response_model=s.DecisionRecord)
def read_decision(decision_id: str, ctx: Ctx, caller: ReaderOrEnterprise) -> Any:
    """The full stored decision, exactly as recorded; while a field of the enterprise is under dispute (异议),
    `disputed_fields` lists it beside the record. An enterprise key reads its own decisions only."""
    return JSONResponse(content=decisions.read_decision(ctx, decision_id, actor=caller))


@router.post("/authorizations", status_code=201, response_model=s.AuthorizationOut)
def create_authorization(body: s.AuthorizationRequest, ctx: Ctx, caller: Committee, idem: IdemDep) -> Any:
    """Record an enterprise's authorization of a bank for some products until a date."""
    return respond(access.authorize(ctx, caller, body, idem=idem))


@router.delete("/authorizations/{authorization_id}", response_model=s.AuthorizationOut)
def revoke_authorization(authorization_id: str, ctx: Ctx, caller: Committee) -> Any:
    """Revoke an authorization (it is kept, with revoked_at set)."""
    return access.revoke(ctx, caller, authorization_id)
