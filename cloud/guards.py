"""``RequestGuard``: what no route should ever see — NUL bytes in a URL, an oversize body.

A pure ASGI middleware around the whole service (``GatewayFront`` included):

- a NUL byte in the path or in a query parameter is a 422 naming the parameter (the
  path parameter found by matching ``routes``; a database would refuse it deep inside a
  query, as a 500);
- a body over ``max_body_bytes`` is a 413: at once when ``Content-Length`` says so, before
  anything is read; otherwise the stream is counted as it is received and the request
  ends with 413 the moment it passes the limit (no ``Content-Length``, chunked, or one
  that lies), so nothing ever holds more than the limit in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the body passes the limit (FastAPI answers it as 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body: larger than {limit} bytes (CAREWATCH_MAX_BODY_BYTES)")


class RequestGuard:
    """See the module docstring."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, routes: Sequence[BaseRoute] = ()
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.routes = routes  # the app's (a live list: routes added later count too)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad = _nul_parameter(scope, self.routes)
        if bad is not None:
            await _answer(send, 422, {"detail": [_nul_problem(*bad)]})
            return
        limit = self.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(send, 413, {"detail": BodyTooLarge(limit).detail})
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:
            if started:
                raise
            await _answer(send, 413, {"detail": exc.detail})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _nul_parameter(scope: Scope, routes: Sequence[BaseRoute]) -> tuple[str, str] | None:
    """(location, name) of the first NUL in the path or a query parameter, or None."""
    if "\x00" in scope.get("path", ""):
        for route in _leaves(routes):
            match, child = route.matches(scope)
            if match != Match.NONE:
                for name, value in child.get("path_params", {}).items():
                    if "\x00" in str(value):
                        return "path", name
        return "path", "path"
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query and "\x00" not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return "query", name.replace("\x00", "")
    return None


def _leaves(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes of ``routes``, those of included routers included."""
    for route in routes:
        inner = getattr(getattr(route, "original_router", None), "routes", None)
        if inner is not None:
            yield from _leaves(inner)
        else:
            yield route


def _nul_problem(where: str, name: str) -> dict[str, Any]:
    return {
        "field": name,
        "loc": [where, name],
        "msg": "must not contain NUL characters",
        "type": "value_error",
    }


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    content = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
