"""Department data (issue 13): feed history and data quality; a feed is sent with `POST /v1/imports`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from parkcredit.api.deps import CommitteeOrAuditor, Ctx, FeedReader
from parkcredit.app import data_quality, imports
from parkcredit.app.import_schemas import DataQualityOut, FieldSource, ImportSummary

router = APIRouter(prefix="/v1", tags=["departments"])


@router.get("/imports", response_model=list[ImportSummary])
def read_imports(
    ctx: Ctx,
    caller: FeedReader,
    department: Annotated[
        str | None, Query(max_length=40, description="one department's feed (slug or Chinese name; committee: its own)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Imports, newest first; a department key sees its own department's feed history only."""
    return imports.import_history(ctx, caller, department=department, limit=limit)


@router.get("/imports/{import_id}", response_model=ImportSummary)
def read_import(import_id: Annotated[str, Path(max_length=36)], ctx: Ctx, caller: FeedReader) -> Any:
    """One import: file, department, as-of date, what it stored and refused."""
    return imports.read_import(ctx, caller, import_id)


@router.get("/data-quality/{department}", response_model=DataQualityOut)
def read_data_quality(department: Annotated[str, Path(max_length=40)], ctx: Ctx, caller: FeedReader) -> Any:
    """A department's data: coverage and stale share per field, and values that jumped in its last feed."""
    return data_quality.data_quality(ctx, caller, department)


@router.get("/decisions/{decision_id}/sources", response_model=list[FieldSource])
def read_decision_sources(
    decision_id: Annotated[str, Path(max_length=36)], ctx: Ctx, caller: CommitteeOrAuditor
) -> Any:
    """Where each input of the decision came from: department, file, the department's as-of date."""
    return imports.decision_sources(ctx, caller, decision_id)
