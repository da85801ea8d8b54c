"""Prometheus metrics of the service (process-wide, registered once) and ``/metrics``."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

INGESTED = Counter(
    "carewatch_ingested_total", "Gateway items by kind and outcome", ["kind", "outcome"]
)
TELEMETRY_POINTS = Counter("carewatch_telemetry_points_total", "Telemetry points accepted")
HEARTBEATS = Counter("carewatch_heartbeats_total", "Gateway heartbeats received")
GATEWAY_AUTH_FAILURES = Counter("carewatch_gateway_auth_failures_total", "Refused gateway calls")
OFFLINE_TRANSITIONS = Counter(
    "carewatch_gateway_offline_transitions_total", "Gateways going offline or back", ["to"]
)
REQUEST_SECONDS = Histogram(
    "carewatch_http_request_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def render() -> tuple[bytes, str]:
    """The exposition body and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware timing every HTTP request by its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            REQUEST_SECONDS.labels(scope["method"], path, str(status[0])).observe(
                time.perf_counter() - start
            )
