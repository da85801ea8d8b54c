"""Live updates for every open console: one watcher, many server-sent-event streams.

One task per app watches ``app.state.alarm_wakeup`` (set by ingest when alarms arrive)
and, at most every ``poll_s`` otherwise, a cheap fingerprint of open alarms and tasks
(which also moves when dispatch changes a task). When either moves it builds the live
snapshot once and hands it to every subscriber; a slow subscriber only ever holds the
latest snapshot. With no console open it does no database work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud import background
from cloud.alarms.models import OPEN, Alarm
from cloud.console.live import Targets, snapshot
from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.models import OPEN_STATES, Task

log = logging.getLogger(__name__)

KEEPALIVE_S = 15.0
STREAM_MAX_S = 1800.0  # the client reconnects, and its token is checked again


def dispatch_config(app: FastAPI) -> DispatchConfig:
    """The running dispatcher's policy, or the console's own reading of the environment."""
    config = getattr(getattr(app.state, "dispatcher", None), "config", None)
    if isinstance(config, DispatchConfig):
        return config
    fallback: DispatchConfig = app.state.console_dispatch_config
    return fallback


async def fingerprint(session: AsyncSession) -> tuple[Any, ...]:
    """Changes whenever an alarm opens, changes or closes, or an open task moves."""
    alarms = (
        await session.execute(
            select(func.count(), func.max(Alarm.updated_at), func.max(Alarm.id)).where(
                Alarm.status == OPEN
            )
        )
    ).one()
    tasks = (
        await session.execute(
            select(
                func.count(), func.coalesce(func.sum(Task.last_seq), 0), func.max(Task.id)
            ).where(Task.state.in_([str(s) for s in OPEN_STATES]))
        )
    ).one()
    return (*alarms, *tasks)


class LiveHub:
    """Fan-out of live snapshots (JSON text) to subscriber queues."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        wakeup: asyncio.Event,
        targets: Targets,
        *,
        poll_s: float = 2.0,
        debounce_s: float = 0.25,
    ) -> None:
        self._sessions = sessionmaker
        self._wakeup = wakeup
        self._targets = targets
        self.poll_s = poll_s
        self.debounce_s = debounce_s
        self._subscribers: set[asyncio.Queue[str]] = set()
        self.latest: str | None = None
        self._last: tuple[Any, ...] | None = None

    def subscribe(self) -> asyncio.Queue[str]:
        """A queue that receives every new snapshot (only the newest is kept)."""
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        """Stop delivering to ``queue``."""
        self._subscribers.discard(queue)

    def _publish(self, text: str) -> None:
        self.latest = text
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(text)

    async def refresh(self, *, force: bool = False) -> None:
        """Publish a new snapshot if anything changed (or when forced)."""
        async with self._sessions() as session:
            mark = await fingerprint(session)
            if not force and mark == self._last:
                return
            live = await snapshot(session, self._targets)
        self._last = mark
        self._publish(live.model_dump_json())

    async def run(self) -> None:
        """Watch for changes until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_s)
            if not self._subscribers:  # nobody watching: forget, the next stream starts fresh
                self.latest, self._last = None, None
                await asyncio.sleep(self.debounce_s)
                continue
            try:
                await self.refresh()
            except Exception:  # one failed round must not end live updates
                log.exception("live snapshot failed; retrying")
            await asyncio.sleep(self.debounce_s)

    @contextlib.asynccontextmanager
    async def running(self, app: FastAPI) -> AsyncIterator[None]:
        """Lifespan hook (after dispatch's): the watcher runs while the app does."""
        self._targets = Targets.from_config(dispatch_config(app))
        async with background.running(self.run(), name="console-live-hub"):
            yield


def sse(event: str, data: str) -> str:
    """One server-sent event (``data`` must be a single line, as JSON is)."""
    return f"event: {event}\ndata: {data}\n\n"


async def stream(hub: LiveHub) -> AsyncIterator[str]:
    """The event stream of one console: the current snapshot, then every change."""
    queue = hub.subscribe()
    loop = asyncio.get_running_loop()
    until = loop.time() + STREAM_MAX_S
    try:
        yield "retry: 3000\n\n"
        if hub.latest is None:
            try:
                await hub.refresh(force=True)
            except Exception:  # the watcher retries; this stream waits for it
                log.exception("first live snapshot failed")
        if hub.latest is not None:
            yield sse("live", hub.latest)
        while loop.time() < until:
            try:
                text = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            yield sse("live", text)
    finally:
        hub.unsubscribe(queue)
