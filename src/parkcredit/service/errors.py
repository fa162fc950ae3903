"""Domain and service exceptions mapped to HTTP responses — in this one place.

ServiceError            status + message
├── NotFound            404
├── Conflict            409
└── Forbidden           403
UsccError, RuleSetError, UnknownProduct  -> 422, FastAPI's validation-error shape
sqlalchemy DataError    -> 422 (a value the database cannot store, e.g. a NUL character)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from parkcredit.profile import UsccError
from parkcredit.rules import RuleSetError

__all__ = ["Conflict", "Forbidden", "NotFound", "ServiceError", "UnknownProduct", "install"]


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
