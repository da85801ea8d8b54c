"""Heartbeats: kept in memory and written to the gateways table in one batch per interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud import background
from cloud.gateways.models import Gateway

log = logging.getLogger(__name__)


class HeartbeatRecorder:
    """Coalesces heartbeats per gateway; a background task flushes them to the database."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._latest: dict[str, dict[str, Any]] = {}

    def record(
        self, gateway_id: str, received_at: datetime, version: str, health: dict[str, Any]
    ) -> None:
        """Remember the newest heartbeat of a gateway until the next flush."""
        self._latest[gateway_id] = {
            "id": gateway_id,
            "last_seen_at": received_at,
            "version": version,
            "health": health,
        }

    async def flush(self) -> int:
        """Write the remembered heartbeats; the number of gateways written."""
        if not self._latest:
            return 0
        rows, self._latest = list(self._latest.values()), {}
        try:
            async with self._sessionmaker() as session:
                await session.execute(update(Gateway), rows)
                await session.commit()
        except SQLAlchemyError:
            # Dropped: each gateway sends another heartbeat soon.
            log.exception("could not record %s heartbeats", len(rows))
            return 0
        return len(rows)

    @contextlib.asynccontextmanager
    async def running(self, interval: float) -> AsyncIterator[None]:
        """Flush every ``interval`` seconds while inside; flush once more on exit."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                await self.flush()

        try:
            async with background.running(loop(), name="heartbeat-flush"):
                yield
        finally:
            await self.flush()
