"""Exceptions mapped to HTTP responses — in this one place.

ParkcreditError (parkcredit.errors)   status + {"detail": message}
├── NotFound            404
├── Forbidden           403
├── Conflict            409
└── InvalidInput        422, FastAPI's validation-error shape with `loc` naming the field
UsccError, RuleSetError -> 422, the same shape
sqlalchemy DataError    -> 422 (a value the database cannot store, e.g. a NUL character)
concurrent retry        -> 409 + Retry-After: the same Idempotency-Key committed by another request
                           (worker) while this one ran; this one rolled back whole, a retry replays
database unreachable    -> 503 + Retry-After (OperationalError, InterfaceError: refused or lost
                           connection; pool exhausted); no connection state outlives a request,
                           so the first request after the database is back works (pool pre-ping)
database not migrated   -> 503 + Retry-After (a missing table: `parkcredit db upgrade`)
RequestValidationError  -> 422, FastAPI's shape with every echoed input cut to 200 characters
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from parkcredit.errors import InvalidInput, ParkcreditError
from parkcredit.profile import UsccError
from parkcredit.rules import RuleSetError
from parkcredit.store.errors import UNAVAILABLE, DataError, IntegrityError, ProgrammingError, not_migrated

__all__ = ["RETRY_AFTER_SECONDS", "app_error_response", "database_unavailable", "install", "validation_error_response"]

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


def _unprocessable(loc: tuple[Any, ...], msg: str, type_: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": [{"loc": list(loc), "msg": msg, "type": type_}]})


def database_unavailable(exc: Exception) -> JSONResponse:
    """503 with `Retry-After`: the database cannot be reached, or has no schema yet (a POST may be retried
    with its Idempotency-Key)."""
    logger.warning("database unavailable: %s", str(exc).splitlines()[0][:300])
    body = {
        "detail": "database unavailable: the request could not be completed; retry later",
        "error": "database_unavailable",
        "retry_after_seconds": RETRY_AFTER_SECONDS,
    }
    if not_migrated(exc):
        body["detail"] = "the database has no parkcredit schema yet: run `parkcredit db upgrade`"
        body["error"] = "database_not_migrated"
    return JSONResponse(status_code=503, content=body, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


ECHO_CHARS = 200  # the most of a caller's own input a 422 echoes back


def _clip(value: Any) -> Any:
    """A bad input as the 422 echoes it: text and containers cut to `ECHO_CHARS`."""
    if isinstance(value, str):
        return value if len(value) <= ECHO_CHARS else value[:ECHO_CHARS] + f"… ({len(value):,} characters)"
    if isinstance(value, int | float | bool) or value is None:
        return value
    text = repr(value)
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…"


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 body (`detail`: loc, msg, type, input), each echoed input cut to `ECHO_CHARS`, at most
    50 errors: a 10 MB field does not come back as a 10 MB error."""
    errors = []
    for e in exc.errors()[:50]:
        item = {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:500], "type": e.get("type", "")}
        if "input" in e:
            item["input"] = _clip(e["input"])
        if isinstance(e.get("ctx"), dict):
            item["ctx"] = {k: _clip(v) for k, v in e["ctx"].items()}
        errors.append(item)
    return JSONResponse(status_code=422, content={"detail": errors})


def app_error_response(exc: ParkcreditError) -> JSONResponse:
    """A use case's error as the API answers it: 422 with `loc` for bad input, else {"detail": message}."""
    if isinstance(exc, InvalidInput):
        return _unprocessable(exc.loc, str(exc), exc.kind)
    return JSONResponse(status_code=exc.status, content={"detail": exc.message})


def install(app: FastAPI) -> None:
    """Register every exception mapping on `app`."""

    @app.exception_handler(UsccError)
    async def _uscc(_: Request, exc: UsccError) -> JSONResponse:
        return _unprocessable(("path", "uscc"), str(exc), f"uscc_{exc.rule}")

    @app.exception_handler(RuleSetError)
    async def _ruleset(_: Request, exc: RuleSetError) -> JSONResponse:
        return _unprocessable(("body", "ruleset"), str(exc), "ruleset")

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return _unprocessable(("body",), f"a value cannot be stored: {exc.orig}", "data_error")

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # the unique (key_id, idem_key) index is what makes idempotency hold across worker processes
        if "uq_idempotency_key" not in str(exc.orig) and "idempotency_keys." not in str(exc.orig):
            raise exc  # any other constraint failing is a bug: a 500 with its traceback in the log
        body = {
            "detail": "a request with this Idempotency-Key was completed concurrently; retry to get its response",
            "error": "idempotency_key_in_use",
        }
        return JSONResponse(status_code=409, content=body, headers={"Retry-After": "1"})

    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        return database_unavailable(exc)

    for cls in UNAVAILABLE:
        app.add_exception_handler(cls, _unavailable)

    @app.exception_handler(ProgrammingError)
    async def _programming(_: Request, exc: ProgrammingError) -> JSONResponse:
        if not not_migrated(exc):
            raise exc  # a bad statement is a bug: a 500 with its traceback in the log
        return database_unavailable(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_response(exc)
