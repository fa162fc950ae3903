"""The HTTP API (`/v1/…`): routers by audience, each route parsing input, calling one use case
(`parkcredit.app`) and returning its result. Mounted by the composition root, `parkcredit.server`."""

from parkcredit.api.main import install

__all__ = ["install"]
