"""The application layer: one module per use case, each written once for every surface.

A use case takes an `AppContext` (settings, sessions, rule sets, model), an `Actor` (who acts) and
plain arguments; it opens its own transaction, checks idempotency, writes its audit entries and
returns a result model. The API routers, the web pages and the CLI commands only parse input, call
one use case and render its result — see docs/architecture.md.
"""

from parkcredit.app.actor import Actor
from parkcredit.app.context import AppContext

__all__ = ["Actor", "AppContext"]
