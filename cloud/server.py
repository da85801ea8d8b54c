"""Run the service on a real port: in a background thread (tests, demo) or in the foreground."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Self

import uvicorn
from fastapi import FastAPI

from cloud.app import create_app
from cloud.gateways.front import GatewayFront
from cloud.settings import Settings


def uvicorn_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    """Uvicorn settings for the service, which is ``app`` behind a ``GatewayFront``.

    No access log (metrics cover requests). Uvicorn's "auto" loop and HTTP parser are
    uvloop and httptools when installed (``uvicorn[standard]``, in the cloud extra),
    else asyncio and h11. Uvicorn's own proxy-header handling is off: the app takes
    ``X-Forwarded-For`` only from ``CAREWATCH_TRUSTED_PROXIES`` (``cloud.auth.clients``).
    """
    return uvicorn.Config(
        GatewayFront(app),
        host=host,
        port=port,
        proxy_headers=False,
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


def served_app() -> GatewayFront:
    """The app as served, settings from the environment (uvicorn factory of each worker)."""
    return GatewayFront(create_app())


def run_workers(host: str, port: int, workers: int) -> None:
    """Serve with ``workers`` processes sharing the port, each its own ``served_app()``.

    They share the databases; each keeps its own InfluxDB buffer file, credential cache
    and heartbeat coalescing (see docs/cloud.md).
    """
    uvicorn.run(
        "cloud.server:served_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        proxy_headers=False,
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


class ServiceThread:
    """``create_app(settings)`` served by uvicorn in a thread with its own event loop.

    ``with ServiceThread(settings) as svc: httpx.get(svc.url + "/healthz")``; ``svc.app``
    is the running app (its ``state`` is usable only from the service's loop).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        features: Iterable[str] | None = None,
    ) -> None:
        self.app = create_app(settings, features=features)
        self.host = host
        self._config = uvicorn_config(self.app, host, port)
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._run, name="carewatch-cloud", daemon=True)
        self.port = port
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._server.serve())

    def start(self, timeout: float = 30.0) -> Self:
        """Start and wait until the service listens."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("carewatch cloud did not start; see the log above")
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down gracefully (lifespan exit included)."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
