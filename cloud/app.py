"""``create_app``: the FastAPI service, its shared state, and how features plug in.

``app.state`` holds: ``settings``, ``engine``, ``sessionmaker``, ``influx`` (InfluxWriter),
``gateway_auth`` (GatewayAuth), ``heartbeats`` (HeartbeatRecorder), ``login_lockouts``
(Lockouts), ``login_gate`` (AttemptGate), ``alarm_wakeup``
(asyncio.Event set after new alarms are committed) and ``lifespan_hooks``.

A feature package (e.g. ``cloud.dispatch``) plugs in by defining ``install(app)``, which
may ``app.include_router(...)`` and append to ``app.state.lifespan_hooks`` a callable
``(app) -> AbstractAsyncContextManager`` entered after the core has started (in order)
and exited before it stops. ``create_app`` calls ``install`` of every module named in
``settings.features`` (or its ``features`` argument) that exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack

from fastapi import FastAPI

from cloud.alarms.routes import router as alarms_router
from cloud.auth.limits import AttemptGate, Lockouts
from cloud.auth.routes import router as auth_router
from cloud.db import make_engine, make_sessionmaker
from cloud.errors import install_error_handlers
from cloud.gateways.auth import GatewayAuth
from cloud.gateways.delivery import DeliveryWatch
from cloud.gateways.heartbeats import HeartbeatRecorder
from cloud.gateways.ingest_routes import router as ingest_router
from cloud.gateways.monitor import offline_monitor
from cloud.gateways.routes import router as gateways_router
from cloud.guards import RequestGuard
from cloud.health import router as health_router
from cloud.metrics import MetricsMiddleware
from cloud.migrate import upgrade
from cloud.privacy.access_log import router as access_log_router
from cloud.registry.routes import routers as registry_routers
from cloud.settings import Settings
from cloud.timeseries.routes import router as timeseries_router
from cloud.timeseries.writer import InfluxWriter

log = logging.getLogger(__name__)

LifespanHook = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    settings: Settings | None = None, *, features: Iterable[str] | None = None
) -> FastAPI:
    """The service; settings come from the environment when not given."""
    settings = settings or Settings()
    app = FastAPI(
        title="carewatch cloud",
        version="1.0",
        openapi_url="/openapi.json",
        lifespan=_lifespan,
    )
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.alarm_wakeup = asyncio.Event()
    app.state.gateway_auth = GatewayAuth(app.state.sessionmaker, settings.gateway_auth_cache_s)
    app.state.heartbeats = HeartbeatRecorder(app.state.sessionmaker)
    app.state.delivery_watch = DeliveryWatch(app.state.sessionmaker)
    app.state.login_lockouts = Lockouts()
    app.state.login_gate = AttemptGate()
    app.state.influx = None
    app.state.lifespan_hooks = []
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(
        RequestGuard, max_body_bytes=settings.max_body_bytes, routes=app.router.routes
    )
    install_error_handlers(app)
    for router in (
        health_router,
        auth_router,
        ingest_router,
        gateways_router,
        alarms_router,
        timeseries_router,
        *registry_routers,
        access_log_router,
    ):
        app.include_router(router)
    for name in settings.features if features is None else features:
        if importlib.util.find_spec(name) is None:
            continue
        install = getattr(importlib.import_module(name), "install", None)
        if install is not None:
            install(app)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.migrate_on_start:
        await upgrade(app.state.engine)
    influx = InfluxWriter(settings)
    app.state.influx = influx
    async with AsyncExitStack() as stack:
        await influx.start()
        stack.push_async_callback(app.state.engine.dispose)
        stack.push_async_callback(influx.stop)
        await stack.enter_async_context(app.state.heartbeats.running(settings.heartbeat_flush_s))
        await stack.enter_async_context(offline_monitor(app))
        hooks: list[LifespanHook] = app.state.lifespan_hooks
        for hook in hooks:
            await stack.enter_async_context(hook(app))
        log.info("carewatch cloud started (database %s)", app.state.engine.url.render_as_string())
        yield
