"""The worker web app: a mobile-first PWA served at ``/app/`` and its ``/api/v1/worker`` API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serve the app's files at ``/app`` and its API."""
    from cloud.webapp.routes import router

    app.include_router(router)
    app.mount("/app", StaticFiles(directory=STATIC, html=True), name="worker-app")
