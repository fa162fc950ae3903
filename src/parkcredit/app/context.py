"""`AppContext`: what every use case needs — settings, sessions, the rule-set source, the optional model.

One is opened per process (the API's lifespan, a CLI command) and shared by all use cases; nothing in
it is state that several workers would disagree on (rule-set versions in force are read from the
store on every decision; the model and the bundled files are read-only).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from parkcredit.errors import InvalidInput
from parkcredit.rules import RuleSet
from parkcredit.rules.source import RuleSource, compile_text
from parkcredit.settings import Settings, get_settings
from parkcredit.store import rulesets as store_rulesets
from parkcredit.store.db import make_engine, make_sessionmaker, write_session
from parkcredit.store.tables import RuleSetVersion

if TYPE_CHECKING:
    from parkcredit.app.jobs import JobRunner

__all__ = ["AppContext", "load_model"]

log = logging.getLogger("parkcredit")


def load_model(settings: Settings) -> tuple[Any, dict[str, Any]]:
    """(model or None, status): parkcredit decides on rules alone when there is no model."""
    if not settings.model_enabled:
        return None, {"status": "disabled", "reason": "PARKCREDIT_MODEL_ENABLED is false"}
    try:
        from parkcredit.model.runtime import load_default_model
    except ImportError as exc:
        return None, {"status": "unavailable", "reason": f"model package not installed: {exc}"}
    try:
        model, status = load_default_model(settings)
    except Exception as exc:  # a broken model must not stop the rules-only service
        return None, {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    return model, dict(status)


@dataclass
class AppContext:
    """Settings, database sessions, rule sets and model of one process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    source: RuleSource
    model: Any = None
    model_status: dict[str, Any] = field(default_factory=lambda: {"status": "none"})
    rule_errors: list[str] = field(default_factory=list)  # bundled files refused (file, line, rule, reason)
    latest: dict[str, RuleSet] = field(default_factory=dict)  # product -> latest published (or bundled) version
    _runner: Any = field(default=None, repr=False)  # the process's JobRunner (app.jobs), made on first use
    _decider: Any = field(default=None, repr=False)  # the batch's decide process (app.batch_decide), if started

    @classmethod
    def open(cls, settings: Settings | None = None, *, with_model: bool = True, seed: bool = True) -> AppContext:
        """Engine, sessions, bundled rule sets and (unless `with_model` is False) the model.

        With `seed`, valid bundled files of products the store does not know yet are stored as their
        first published versions; a bad bundled file is refused (logged, shown by /readyz) and the
        store's last good published version of its product keeps serving.
        """
        settings = settings or get_settings()
        url = settings.database_url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        store_rulesets.install_guards(sessions)
        source = RuleSource(settings.rules_dir)
        bundled, errors = source.bundled()
        for e in errors:
            log.error("bundled rule set refused: %s", e)
        model, status = load_model(settings) if with_model else (None, {"status": "disabled", "reason": "not loaded"})
        ctx = cls(settings, engine, sessions, source, model, status, errors, dict(bundled))
        if seed:
            ctx.refresh(seed_bundled=bundled)
        return ctx

    @property
    def runner(self) -> JobRunner:
        """The job runner of this process (background jobs, their leases, the shutdown wait)."""
        if self._runner is None:
            from parkcredit.app.jobs import JobRunner

            self._runner = JobRunner(self)
        runner: JobRunner = self._runner
        return runner

    def close(self) -> None:
        """Wait (bounded) for running jobs, stop the batch's decide process, close the database connections."""
        if self._runner is not None:
            self._runner.shutdown()
        if self._decider is not None:
            self._decider.close()
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (deferred BEGIN: readers run concurrently)."""
        with self.sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction (SQLite: BEGIN IMMEDIATE), committed when the block ends without error."""
        with write_session(self.sessions) as session:
            yield session

    def refresh(self, *, seed_bundled: dict[str, RuleSet] | None = None) -> None:
        """Re-read each product's latest published version (and seed bundled ones the store lacks)."""
        try:
            with self.write() as session:
                if seed_bundled:
                    store_rulesets.seed(session, [seed_bundled[c] for c in sorted(seed_bundled)])
                for product, row in store_rulesets.latest_published(session).items():
                    self.latest[product] = self.compiled(row)
        except SQLAlchemyError as exc:  # not migrated or unreachable: /readyz says so; decide with the files
            log.error("rule sets not read from the store: %s", exc)

    def compiled(self, row: RuleSetVersion) -> RuleSet:
        """The compiled rule set of a stored version (one cache, keyed by content hash)."""
        return compile_text(row.text, f"ruleset_versions/{row.id}", content_hash=row.content_hash)

    def products(self) -> list[str]:
        return sorted(self.latest)

    def product(self, product: str, loc: tuple[str | int, ...] = ("query", "product")) -> RuleSet:
        """The latest published version of a known product, or InvalidInput naming `loc`."""
        try:
            return self.latest[product]
        except KeyError:
            known = ", ".join(self.products())
            raise InvalidInput(loc, f"unknown product {product!r}; known: {known}", "unknown_product") from None

    def default_product(self) -> str:
        return "chengxindai" if "chengxindai" in self.latest else self.products()[0]
