"""`GET /v1/eligibility/{uscc}` answered before the framework when it can be (issue 18, the banks' hot path).

`EligibilityFastPath` sits inside `RequestGuard` (so every answer still gets the security headers) and in front of
FastAPI's routing. For a bank's GET of one enterprise with a plain `Authorization: Bearer <key>` and at most a
`product=` query, it asks `app.eligibility.FastLookup` — one statement read in a thread of its own pool, the
bank-query record committed by the group-commit writer — and sends the answer only after that commit. Whatever
the fast lookup does not answer (a bad or missing key, another role, no authorization, a decision to make, a
dispute, an odd query string, a database error before anything was written) goes on to the route in
`api/routers/bank.py` unchanged, which answers, refuses and logs exactly as before; the route stays the OpenAPI
contract. The answer is the route's own bytes (the response model's JSON); `tests/service/test_fast_eligibility.py`
compares the two.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from parkcredit.api.errors import database_unavailable
from parkcredit.profile.uscc import UsccError, parse_uscc
from parkcredit.store.errors import UNAVAILABLE

__all__ = ["EligibilityFastPath"]

PREFIX = "/v1/eligibility/"
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{1,200}")
_PRODUCT = re.compile(rb"product=([a-z0-9_]{1,50})")
_HEADERS = [(b"content-type", b"application/json")]


def _bearer(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            return token if scheme.lower() == "bearer" and _TOKEN.fullmatch(token) else None
    return None


class EligibilityFastPath:
    """The fast path in front of `app` (see the module docstring); `state.fast_eligibility` is the `FastLookup`
    of the running app (set in the lifespan; None: everything goes to the route)."""

    def __init__(self, app: ASGIApp, *, state: Any) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIX):
            fast = getattr(self.state, "fast_eligibility", None)
            if fast is not None and not scope.get("root_path") and await self._answer(fast, scope, receive, send):
                return
        await self.app(scope, receive, send)

    async def _answer(self, fast: Any, scope: Scope, receive: Receive, send: Send) -> bool:
        raw = scope["path"][len(PREFIX) :]
        query: bytes = scope.get("query_string", b"")
        if query:
            m = _PRODUCT.fullmatch(query)
            if m is None:
                return False
            product = m.group(1).decode()
        else:
            product = "chengxindai"  # the route's default
        token = _bearer(scope)
        if token is None or "/" in raw:
            return False
        try:
            if str(parse_uscc(raw)) != raw:
                return False  # the route normalises it; let it
        except UsccError:
            return False
        if fast.async_reader is not None:  # PostgreSQL: the probe awaited on this loop
            found = await fast.answer_async(token, raw, product)
        else:
            found = await asyncio.get_running_loop().run_in_executor(fast.executor, fast.answer, token, raw, product)
        if found is None:
            return False
        body, written = found
        try:
            await asyncio.wrap_future(written)  # the bank-query row and its audit entry are committed
        except UNAVAILABLE as exc:
            await database_unavailable(exc)(scope, receive, send)
            return True
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode()), *_HEADERS]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
        return True
