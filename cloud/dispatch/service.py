"""Wiring: build the senders, the outbox and the dispatcher from settings; run the loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.dispatch.clock import Clock
from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.engine import Dispatcher
from cloud.dispatch.staffing import districts_without_target
from cloud.notify.endpoints import policy_from
from cloud.notify.outbox import OutboxSender
from cloud.notify.push import PushSender
from cloud.notify.sms import SmsSender
from cloud.notify.webhooks import STATUS_PATH
from cloud.settings import Settings

logger = logging.getLogger(__name__)


def build_senders(settings: Settings) -> tuple[SmsSender | None, PushSender | None]:
    """SMS and push senders for the configured providers (None when not configured)."""
    sms = None
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        sms = SmsSender(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            from_number=settings.twilio_from_number,
            base_url=settings.twilio_base_url,
            status_callback=settings.public_url.rstrip("/") + STATUS_PATH,
        )
    push = None
    if settings.vapid_private_key:
        push = PushSender(
            private_key=settings.vapid_private_key.get_secret_value(),
            subject=settings.vapid_subject,
            policy=policy_from(settings),
        )
    return sms, push


def build_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    config: DispatchConfig | None = None,
    clock: Clock | None = None,
) -> Dispatcher:
    """A dispatcher with its outbox and senders (call inside a running event loop)."""
    config = config or DispatchConfig()
    sms, push = build_senders(settings)
    outbox = OutboxSender(
        sessionmaker,
        sms=sms,
        push=push,
        max_attempts=config.sms_max_attempts,
        retry_base_s=config.retry_base_s,
        retry_max_s=config.retry_max_s,
        lease_s=config.lease_s,
    )
    return Dispatcher(sessionmaker, config, outbox, clock=clock)


async def close_dispatcher(dispatcher: Dispatcher) -> None:
    """Close the senders' HTTP sessions."""
    for sender in (dispatcher.outbox.sms, dispatcher.outbox.push):
        close = getattr(sender, "close", None)
        if close is not None:
            await close()


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan hook: ``app.state.dispatcher`` exists and its loop runs while the app does.

    Tests may preset ``app.state.dispatch_config``, ``app.state.dispatch_clock`` and
    ``app.state.dispatch_autorun = False`` (then they call ``dispatcher.step()`` themselves).
    """
    state = app.state
    dispatcher = build_dispatcher(
        state.settings,
        state.sessionmaker,
        config=getattr(state, "dispatch_config", None),
        clock=getattr(state, "dispatch_clock", None),
    )
    state.dispatcher = dispatcher
    if state.settings.production:
        async with state.sessionmaker() as session:
            for district, homes in await districts_without_target(session):
                logger.error(
                    "district %r has no escalation target (no active supervisor) for %d "
                    "households; its tasks are offered on to every on-duty worker (unstaffed)",
                    district,
                    homes,
                )
    stop = asyncio.Event()
    loop_task = None
    if getattr(state, "dispatch_autorun", True):
        loop_task = asyncio.create_task(
            dispatcher.run(stop, state.alarm_wakeup), name="dispatch-loop"
        )
    try:
        yield
    finally:
        stop.set()
        if loop_task is not None:
            await loop_task
        await close_dispatcher(dispatcher)
