"""Notifications: the outbox, SMS (Twilio), Web Push, and local stand-ins of both providers."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Plug the delivery-status webhook into the app."""
    from cloud.notify.webhooks import router

    app.include_router(router)
