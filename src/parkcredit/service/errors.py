"""Domain and service exceptions mapped to HTTP responses — in this one place.

ServiceError            status + message
├── NotFound            404
├── Conflict            409
└── Forbidden           403
UsccError, RuleSetError, UnknownProduct  -> 422, FastAPI's validation-error shape
sqlalchemy DataError    -> 422 (a value the database cannot store, e.g. a NUL character)
concurrent retry        -> 409 + Retry-After: the same Idempotency-Key committed by another request
                           (worker) while this one ran; this one rolled back whole, a retry replays
database unreachable    -> 503 + Retry-After (OperationalError, InterfaceError: refused or lost
                           connection; pool exhausted); no connection state outlives a request,
                           so the first request after the database is back works (pool pre-ping)
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from parkcredit.profile import UsccError
from parkcredit.rules import RuleSetError

__all__ = ["RETRY_AFTER_SECONDS", "Conflict", "Forbidden", "NotFound", "ServiceError", "UnknownProduct", "install"]

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Forbidden(ServiceError):
    status = 403


class UnknownProduct(ValueError):
    """A product code with no bundled rule set (the catalog's ValueError, given a field path)."""

    def __init__(self, message: str, loc: tuple[str | int, ...] = ("query", "product")) -> None:
        super().__init__(message)
        self.loc = loc


class FieldError(ValueError):
    """A bad value found after request parsing, with its field path."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _unprocessable(loc: tuple[Any, ...], msg: str, type_: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": [{"loc": list(loc), "msg": msg, "type": type_}]})


def database_unavailable(exc: Exception) -> JSONResponse:
    """503 with `Retry-After`: the database cannot be reached (a POST may be retried with its Idempotency-Key)."""
    logger.warning("database unavailable: %s", str(exc).splitlines()[0][:300])
    body = {
        "detail": "database unavailable: the request could not be completed; retry later",
        "error": "database_unavailable",
        "retry_after_seconds": RETRY_AFTER_SECONDS,
    }
    return JSONResponse(status_code=503, content=body, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def install(app: FastAPI) -> None:
    """Register every exception mapping on `app`."""

    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": exc.message})

    @app.exception_handler(UsccError)
    async def _uscc(_: Request, exc: UsccError) -> JSONResponse:
        return _unprocessable(("path", "uscc"), str(exc), f"uscc_{exc.rule}")

    @app.exception_handler(RuleSetError)
    async def _ruleset(_: Request, exc: RuleSetError) -> JSONResponse:
        return _unprocessable(("body", "ruleset"), str(exc), "ruleset")

    @app.exception_handler(UnknownProduct)
    async def _product(_: Request, exc: UnknownProduct) -> JSONResponse:
        return _unprocessable(exc.loc, str(exc), "unknown_product")

    @app.exception_handler(FieldError)
    async def _field(_: Request, exc: FieldError) -> JSONResponse:
        return _unprocessable(exc.loc, str(exc), "value_error")

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

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        return database_unavailable(exc)
