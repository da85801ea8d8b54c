"""The operator console for dispatchers and supervisors (see docs/console.md)."""

from __future__ import annotations

from fastapi import FastAPI

from cloud.console.events import LiveHub
from cloud.console.live import Targets
from cloud.console.routes import router
from cloud.dispatch.config import DispatchConfig

__all__ = ["install", "router"]


def install(app: FastAPI) -> None:
    """Plug the console into ``create_app``: routes, targets, and the live-update watcher."""
    config = DispatchConfig()
    hub = LiveHub(app.state.sessionmaker, app.state.alarm_wakeup, Targets.from_config(config))
    app.state.console_dispatch_config = config
    app.state.console_hub = hub
    app.state.lifespan_hooks.append(hub.running)
    app.include_router(router)
