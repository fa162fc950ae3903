"""Every cross-cutting dependency as an `Annotated` alias: sessions, callers by role, rule sets, idempotency."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from parkcredit.rules import RuleSet, parse_ruleset
from parkcredit.service.auth import Caller, require
from parkcredit.service.errors import Conflict, UnknownProduct
from parkcredit.store import repo
from parkcredit.store.audit import canonical
from parkcredit.store.db import begin_write
from parkcredit.store.tables import IdempotencyKey, RuleSetVersion

__all__ = [
    "AnyReader",
    "Auditor",
    "BankCaller",
    "BankOrAuditor",
    "Committee",
    "CommitteeOrAuditor",
    "Admin",
    "Idempotency",
    "IdempotencyDep",
    "ReadSession",
    "Services",
    "WriteSession",
]


def _read_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def _write_session(request: Request) -> Iterator[Session]:
    """A session whose transaction takes the write lock; routes commit through `Idempotency.finish`."""
    with request.app.state.sessions() as session:
        begin_write(session)
        yield session


ReadSession = Annotated[Session, Depends(_read_session)]
# Routes that compute a decision read and decide first, then call `begin_write` to store: the
# SQLite write lock is not held during the ~70 ms of a decision.
LazyWriteSession = Annotated[Session, Depends(_read_session)]
WriteSession = Annotated[Session, Depends(_write_session)]

Committee = Annotated[Caller, Depends(require("committee"))]
Auditor = Annotated[Caller, Depends(require("auditor"))]
BankCaller = Annotated[Caller, Depends(require("bank"))]
Admin = Annotated[Caller, Depends(require("admin"))]
CommitteeOrAuditor = Annotated[Caller, Depends(require("committee", "auditor"))]
BankOrAuditor = Annotated[Caller, Depends(require("bank", "auditor"))]
AnyReader = CommitteeOrAuditor


class Services:
    """Per-process things loaded at startup: rule sets by product, the optional model.

    `rulesets` holds each product's latest published version (for validating product codes);
    deciding asks for the version in force at the snapshot's as_of, read from the store
    (`ruleset(product, session=..., as_of=...)`), so a version published by another worker counts
    at once. Compiled rule sets are cached by content hash (they never change).
    """

    def __init__(
        self,
        rulesets: dict[str, RuleSet],
        model: Any,
        model_status: dict[str, Any],
        rule_errors: list[str] | None = None,
    ) -> None:
        self.rulesets, self.model, self.model_status = rulesets, model, model_status
        self.rule_errors = list(rule_errors or [])  # bundled files refused at startup (file, line, rule, reason)
        self._compiled: dict[str, RuleSet] = {rs.content_hash: rs for rs in rulesets.values()}

    def ruleset(
        self,
        product: str,
        loc: tuple[str | int, ...] = ("query", "product"),
        *,
        session: Session | None = None,
        as_of: dt.date | None = None,
    ) -> RuleSet:
        """The rule set of `product` — with `session` and `as_of`, the published version in force on
        that date — or a 422 naming the field."""
        if session is not None and as_of is not None:
            row = repo.ruleset_in_force(session, product, as_of)
            if row is not None:
                return self.compiled(row)
        try:
            return self.rulesets[product]
        except KeyError:
            known = ", ".join(sorted(self.rulesets))
            raise UnknownProduct(f"unknown product {product!r}; known: {known}", loc) from None

    def compiled(self, row: RuleSetVersion) -> RuleSet:
        """The compiled rule set of a stored version (cached by content hash)."""
        rs = self._compiled.get(row.content_hash)
        if rs is None:
            rs = compile_text(row.text, f"ruleset_versions/{row.id}")
            self._compiled[row.content_hash] = rs
        return rs


@functools.lru_cache(maxsize=64)
def compile_text(text: str, source: str) -> RuleSet:
    """`parse_ruleset`, cached per process: compiling costs ~0.3 s and a text always compiles the same."""
    return parse_ruleset(text, source=source)


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(_services)]


class Idempotency:
    """`Idempotency-Key` handling: a retry with the same key and body gets the stored response.

    The stored response is written in the same transaction as the request's effects, so either
    both exist or neither does; the key is scoped to the calling API key.
    """

    def __init__(self, key: str | None, caller: Caller | None, route: str) -> None:
        self.key, self.caller, self.route = key, caller, route
        self.request_sha256 = ""

    def replay(self, session: Session, caller: Caller, body: BaseModel | dict[str, Any] | bytes) -> JSONResponse | None:
        """The stored response of an earlier identical request, None if new; 409 if the body differs."""
        self.caller = caller
        if isinstance(body, BaseModel):
            body = body.model_dump(mode="json")
        raw = body if isinstance(body, bytes) else canonical(body).encode()
        self.request_sha256 = hashlib.sha256(self.route.encode() + b"\n" + raw).hexdigest()
        if self.key is None or self.caller is None:
            return None
        row = session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.key_id == self.caller.key_id, IdempotencyKey.idem_key == self.key
            )
        )
        if row is None:
            return None
        if row.request_sha256 != self.request_sha256:
            raise Conflict(f"Idempotency-Key {self.key!r} was used with a different request")
        return JSONResponse(row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})

    def finish(self, session: Session, status: int, response: BaseModel) -> Any:
        """Store the response under the key (if any) and commit the request's transaction."""
        if self.key is not None and self.caller is not None:
            session.add(
                IdempotencyKey(
                    key_id=self.caller.key_id,
                    idem_key=self.key,
                    route=self.route,
                    request_sha256=self.request_sha256,
                    status_code=status,
                    response=response.model_dump(mode="json"),
                )
            )
        session.commit()
        return response


def _idempotency(
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="retry-safe key: same key + same body = same response")
    ] = None,
) -> Idempotency:
    route = request.scope.get("route")
    return Idempotency(idempotency_key, None, getattr(route, "path", request.url.path))


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
