"""The OpenAPI document as committed in api/openapi.json (generated, checked for drift by a test)."""

from __future__ import annotations

import json

from parkcredit.service.app import create_app
from parkcredit.settings import Settings

__all__ = ["openapi_text"]


def openapi_text() -> str:
    """The OpenAPI JSON of the app, stable: sorted keys, 2-space indent, trailing newline."""
    app = create_app(Settings(database_url="sqlite://", model_enabled=False))
    return json.dumps(app.openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
