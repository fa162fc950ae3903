"""The ASGI middleware of the composed app: what one request may cost, and the security headers of every response.

`RequestGuard`, outermost around the API and the pages:

- **Body size** (413): a multipart body (an import upload) may be `Settings.max_upload_bytes`, any
  other body `Settings.max_json_bytes`. A `Content-Length` above the limit is refused before a
  byte is read; a body without one (chunked) is counted as it streams and refused at the first
  chunk past the limit — never read whole first.
- **JSON that Python reads but no JSON parser should** (422 naming the field): `NaN`,
  `Infinity`, `-Infinity` (`json.loads` accepts them) and lone UTF-16 surrogates (`"\\ud800"`:
  a `str` that cannot be encoded as UTF-8, so storing or answering it would fail), and nesting
  deeper than `MAX_DEPTH`. A JSON body is at most `max_json_bytes`, so it is read whole here,
  checked, and handed on unchanged.
- **Headers** on every response: Content-Security-Policy (own origin only; a route may set a
  stricter one, as the HTML report does), X-Frame-Options DENY, Referrer-Policy same-origin
  (no other site learns a page's URL, and the site's own forms still post with their `Origin`,
  which the sign-in form checks; under no-referrer Chromium sends `Origin: null`),
  X-Content-Type-Options nosniff.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html import escape
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "MAX_DEPTH", "RequestGuard", "bad_json_values"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")  # fmt: skip
HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
)
MAX_DEPTH = 64  # a profile is 2 levels deep; no request body of the API needs more than a handful
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_NAN = object()  # what NaN / Infinity / -Infinity parse to here


class BodyTooLarge(Exception):
    """Raised from `receive` when a streamed body passes its limit."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _is_json(content_type: str | None) -> bool:
    """The bodies FastAPI parses as JSON: no content type, application/json, application/*+json."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _nan(_: str) -> object:
    return _NAN


def _walk(doc: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(path, value) of every value and every key of a parsed document, iteratively (no recursion limit)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            for k, v in value.items():
                yield (*path, k), k
                stack.append(((*path, k), v))
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))


def _surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _named(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A path as an error names it: keys cut to 100 characters (a hostile key is not echoed whole)."""
    return tuple(p[:100] if isinstance(p, str) else p for p in path)


def bad_json_values(body: bytes) -> tuple[tuple[str | int, ...], str, str] | None:
    """(loc, message, type) of the first value of a JSON body no JSON parser should accept, or None.

    A body that is not JSON at all is left to FastAPI (its 422 `json_invalid`)."""
    try:
        doc = json.loads(body, parse_constant=_nan)
    except RecursionError:
        return ("body",), f"JSON nested deeper than {MAX_DEPTH} levels", "json_too_deep"
    except ValueError:  # JSONDecodeError, UnicodeDecodeError: not JSON, FastAPI says so
        return None
    for path, value in _walk(doc):
        if len(path) > MAX_DEPTH:
            return ("body",), f"JSON nested deeper than {MAX_DEPTH} levels", "json_too_deep"
        if value is _NAN:
            return ("body", *_named(path)), "NaN, Infinity and -Infinity are not JSON numbers", "json_not_finite"
        if isinstance(value, str) and _surrogate(value):
            return ("body", *_named(path)), "text holds a lone UTF-16 surrogate (\\ud800-\\udfff), not a character", \
                "json_surrogate"  # fmt: skip
    return None


def _json(status: int, body: dict[str, Any]) -> tuple[list[tuple[bytes, bytes]], bytes]:
    data = json.dumps(body, ensure_ascii=True).encode("ascii")  # a key holding a surrogate: \\udXXX
    return [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())], data


def _page(status: int, detail: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The refusal as a small page, for a browser posting a form under /web/ (no template: nothing to go wrong)."""
    title = {413: "文件或表单过大 / Too large", 422: "输入有误 / Bad input"}.get(status, "请求被拒绝 / Refused")
    html = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{status} {title}</title>'
            f'<link rel="stylesheet" href="/web/static/style.css"></head><body><main><section class="card narrow">'
            f'<h1 id="error-title">{status} · {title}</h1><p class="muted mono">{escape(detail)}</p>'
            '<p><a href="/web/">返回首页 / Back to the start page</a></p></section></main></body></html>')  # fmt: skip
    data = html.encode("utf-8")
    return [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(data)).encode())], data


class RequestGuard:
    """Body limits, JSON checks and security headers around `app` (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, max_upload_bytes: int, max_json_bytes: int) -> None:
        self.app, self.max_upload, self.max_json = app, max_upload_bytes, max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = CSP.encode()  # a route's own policy wins (the HTML report, /docs and /redoc: api/docs.py)
        started = False
        too_large = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                if too_large:  # the app answered a body cut off at the limit: the answer is 413
                    return
                started = True
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in ((b"content-security-policy", csp), *HEADERS) if k not in names]
                message = {**message, "headers": headers}
            elif too_large:
                return
            await send(message)

        async def refuse(status: int, loc: tuple[str | int, ...], msg: str, kind: str) -> None:
            if status == 413:
                body: dict[str, Any] = {"detail": msg, "error": kind}
            else:
                body = {"detail": [{"loc": list(loc), "msg": msg, "type": kind}]}
            headers, data = _page(status, msg) if path.startswith("/web/") else _json(status, body)
            if status == 413:
                headers.append((b"connection", b"close"))
            await send_with_headers({"type": "http.response.start", "status": status, "headers": headers})
            await send_with_headers({"type": "http.response.body", "body": data})

        method = scope.get("method", "GET")
        content_type = _header(scope, b"content-type")
        multipart = (content_type or "").lower().startswith("multipart/")
        limit = self.max_upload if multipart else self.max_json
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                await refuse(400, ("header", "content-length"), "Content-Length is not a number", "bad_length")
                return
            if int(length) > limit:
                await refuse(413, ("body",), f"the request body is {int(length):,} bytes; at most {limit:,} bytes "
                             "are accepted here", "body_too_large")  # fmt: skip
                return

        if method in _BODY_METHODS and not multipart and _is_json(content_type):
            chunks, size = [], 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    await refuse(413, ("body",), f"the request body is over {limit:,} bytes, the most accepted here",
                                 "body_too_large")  # fmt: skip
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            if body and (bad := bad_json_values(body)) is not None:
                await refuse(422, *bad)
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()  # http.disconnect, when it comes
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send_with_headers)
            return

        counted = 0

        async def counting() -> Message:
            nonlocal counted, too_large
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > limit:
                    too_large = True
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, counting, send_with_headers)
        except Exception:
            if not too_large or started:
                raise
        if too_large and not started:
            too_large = False  # let our own answer through
            await refuse(413, ("body",), f"the request body is over {limit:,} bytes, the most accepted here",
                         "body_too_large")  # fmt: skip
