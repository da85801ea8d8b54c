"""The served app: heartbeats and telemetry answered before FastAPI's layers, the rest by it.

A home sends a heartbeat and a telemetry batch a minute, so these two POSTs are nearly
every request. Through FastAPI each one crosses about a dozen middleware, routing and
dependency layers that cost more CPU than the work itself; ``GatewayFront`` answers them
directly, behind the same ``RequestGuard`` as the app, with the same functions the FastAPI
routes call (``ingest_routes.heartbeat_answer``, ``telemetry_answer``), turns their exceptions into
answers with the app's own exception handlers (401, 422, 503 exactly as through
FastAPI), and records the same request-latency metric. Everything else, the lifespan
included, goes to the FastAPI app unchanged.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from cloud.gateways.ingest_routes import heartbeat_answer, telemetry_answer
from cloud.guards import RequestGuard
from cloud.metrics import REQUEST_SECONDS
from protocol.api import HEARTBEAT_PATH, TELEMETRY_PATH

Answer = Callable[[State, str | None, bytes], Awaitable[bytes]]

_JSON_HEADERS = [(b"content-type", b"application/json")]


class GatewayFront:
    """ASGI app: ``POST`` heartbeat and telemetry answered here, anything else by ``app``."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._answers: dict[str, Answer] = {
            HEARTBEAT_PATH: heartbeat_answer,
            TELEMETRY_PATH: telemetry_answer,
        }
        self._ok_timers = {
            path: REQUEST_SECONDS.labels("POST", path, "200") for path in self._answers
        }
        self._guarded = RequestGuard(self._answer, max_body_bytes=app.state.settings.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self._answers.get(scope["path"]) if scope["type"] == "http" else None
        if answer is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        await self._guarded(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self._answers[scope["path"]]
        start = time.perf_counter()
        body = await _body(receive)
        if body is None:  # the client went away
            return
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        try:
            content = await answer(self.app.state, authorization, body)
        except Exception as exc:
            response = await self._error(scope, exc)
            await response(scope, receive, send)
            REQUEST_SECONDS.labels("POST", scope["path"], str(response.status_code)).observe(
                time.perf_counter() - start
            )
            return
        headers = [*_JSON_HEADERS, (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        self._ok_timers[scope["path"]].observe(time.perf_counter() - start)

    async def _error(self, scope: Scope, exc: Exception) -> Response:
        """The answer the app's exception handlers give; re-raised when none handles it."""
        for cls in type(exc).__mro__:
            handler = self.app.exception_handlers.get(cls)
            if handler is not None:
                response = handler(Request(scope), exc)
                if inspect.isawaitable(response):
                    response = await response
                assert isinstance(response, Response)
                return response
        raise exc


async def _body(receive: Receive) -> bytes | None:
    """The request body; None when the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
