"""Every cross-cutting dependency as an `Annotated` alias: the app context, callers by role, idempotency."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from parkcredit.api.auth import require
from parkcredit.app import Actor, AppContext
from parkcredit.app.idempotency import Idem, Replayed

__all__ = [
    "Admin", "AnyReader", "Auditor", "BankCaller", "BankOrAuditor", "Committee", "CommitteeOrAuditor",
    "CommitteeOrEnterprise", "Ctx", "Enterprise", "FeedReader", "Feeder", "IdemDep", "ReaderOrEnterprise", "respond",
]  # fmt: skip


# the dependencies that only read the request are `async def`: FastAPI runs a plain `def` dependency in its
# thread pool, a hop per dependency per request (~0.1–0.2 ms of a one-decision request's p50 together)
async def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


Ctx = Annotated[AppContext, Depends(_ctx)]

Committee = Annotated[Actor, Depends(require("committee"))]
Auditor = Annotated[Actor, Depends(require("auditor"))]
BankCaller = Annotated[Actor, Depends(require("bank"))]
Admin = Annotated[Actor, Depends(require("admin"))]
CommitteeOrAuditor = Annotated[Actor, Depends(require("committee", "auditor"))]
BankOrAuditor = Annotated[Actor, Depends(require("bank", "auditor"))]
# issue 15: an enterprise key reads its own records (the use case refuses another USCC: app.scope)
ReaderOrEnterprise = Annotated[Actor, Depends(require("committee", "auditor", "enterprise"))]
Enterprise = Annotated[Actor, Depends(require("enterprise"))]
CommitteeOrEnterprise = Annotated[Actor, Depends(require("committee", "enterprise"))]
AnyReader = CommitteeOrAuditor
# issue 13: a department key sends its own department's data and reads its own feed (app.imports checks the fields)
Feeder = Annotated[Actor, Depends(require("committee", "department"))]
FeedReader = Annotated[Actor, Depends(require("committee", "auditor", "department"))]


async def _idempotency(
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="retry-safe key: same key + same body = same response")
    ] = None,
) -> Idem:
    route = request.scope.get("route")
    return Idem(idempotency_key, getattr(route, "path", request.url.path))


IdemDep = Annotated[Idem, Depends(_idempotency)]


def respond(result: Any) -> Any:
    """A use case's result as the response: a replayed one with its stored status and body."""
    if isinstance(result, Replayed):
        return JSONResponse(result.body, status_code=result.status, headers={"Idempotent-Replayed": "true"})
    return result
