"""Dispatch: alarms become tasks offered to the nearest on-duty worker, with timers in the DB."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Plug the dispatch routes, the SMS webhook and the dispatcher loop into the app."""
    from cloud.dispatch.routes import router
    from cloud.dispatch.service import running
    from cloud.dispatch.sms_webhook import router as sms_router

    app.include_router(router)
    app.include_router(sms_router)
    app.state.lifespan_hooks.append(running)

    async def worker_written(_session: Any, worker: Any) -> None:
        """A worker registered or changed through the registry: index, retry waiting tasks."""
        dispatcher = getattr(app.state, "dispatcher", None)
        if dispatcher is not None:
            await dispatcher.worker_changed(worker)

    app.state.worker_hooks = [*getattr(app.state, "worker_hooks", []), worker_written]
