"""Explaining routes (issue 17): the path to eligibility and 政策找企业."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from parkcredit.api.auth import require
from parkcredit.api.deps import CommitteeOrAuditor, Ctx
from parkcredit.app import Actor, paths, policies
from parkcredit.app import explain_schemas as x
from parkcredit.profile import Uscc

router = APIRouter(prefix="/v1", tags=["committee"])

# the use case admits an enterprise key for its own enterprise only (app.paths.ensure_may_read_path)
ReaderOrEnterprise = Annotated[Actor, Depends(require("committee", "auditor", "enterprise"))]


@router.get("/enterprises/{uscc}/path", response_model=x.PathOut)
def read_path(
    uscc: Uscc, ctx: Ctx, caller: ReaderOrEnterprise,
    product: Annotated[str, Query(max_length=50, description="product code, e.g. chengxindai")] = "chengxindai",
) -> Any:  # fmt: skip
    """The path to eligibility: each reason with what would change it, what time alone brings, minimal changes."""
    return paths.eligibility_path(ctx, caller, uscc, product)


@router.get("/enterprises/{uscc}/policies", response_model=x.PoliciesOut)
def read_enterprise_policies(uscc: Uscc, ctx: Ctx, caller: ReaderOrEnterprise) -> Any:
    """政策找企业: the policies and products the enterprise matches, criterion by criterion."""
    return policies.enterprise_policies(ctx, caller, uscc)


@router.get("/policies", response_model=list[x.PolicyOut])
def read_policies(ctx: Ctx, caller: CommitteeOrAuditor) -> Any:
    """The policies the park runs (scoring_rules/policies)."""
    return policies.list_policies(ctx)


@router.get("/policies/{policy_id}/push-list", response_model=x.PushListOut)
def read_push_list(
    policy_id: Annotated[str, Path(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")],
    ctx: Ctx, caller: CommitteeOrAuditor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:  # fmt: skip
    """The enterprises a policy finds (latest snapshots), for the committee to push the policy to."""
    return policies.policy_push_list(ctx, caller, policy_id, limit=limit)
