"""Gateway liveness: silence raises a cloud-side ``gateway_offline`` alarm, return clears it.

Safe with several service instances on one database: each transition is a conditional
UPDATE of the gateway row, and only the instance whose UPDATE changed the row acts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud import background
from cloud.alarms.models import CLEARED, OPEN, Alarm, AlarmEvent, open_cloud_alarm
from cloud.db import utcnow
from cloud.gateways.models import Gateway
from cloud.metrics import OFFLINE_TRANSITIONS
from protocol import AlarmKind, Severity

log = logging.getLogger(__name__)

OFFLINE = str(AlarmKind.GATEWAY_OFFLINE)


def offline_alarm_id(gateway_id: str, since: datetime) -> str:
    """Deterministic id of the alarm for one offline period."""
    return f"cloud.offline.{gateway_id}.{int(since.timestamp())}"


async def check_gateways(
    sessionmaker: async_sessionmaker[AsyncSession], timeout_s: float, now: datetime | None = None
) -> tuple[list[str], list[str]]:
    """One pass: (gateways that went offline, gateways that came back)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=timeout_s)
    went, back = [], []
    async with sessionmaker() as session:
        silent = (
            await session.execute(
                select(Gateway.id, Gateway.household_id, Gateway.last_seen_at).where(
                    Gateway.revoked_at.is_(None),
                    Gateway.offline_since.is_(None),
                    Gateway.last_seen_at < cutoff,
                )
            )
        ).all()
        returned = (
            await session.execute(
                select(Gateway.id, Gateway.offline_since).where(
                    Gateway.offline_since.is_not(None), Gateway.last_seen_at > Gateway.offline_since
                )
            )
        ).all()
        await session.rollback()
        for gateway_id, household_id, last_seen in silent:
            assert last_seen is not None  # selected by last_seen_at < cutoff
            if await _go_offline(session, gateway_id, household_id, last_seen, cutoff, now):
                went.append(gateway_id)
        for gateway_id, since in returned:
            assert since is not None  # selected by offline_since IS NOT NULL
            if await _come_back(session, gateway_id, since, now):
                back.append(gateway_id)
    return went, back


async def _go_offline(
    session: AsyncSession,
    gateway_id: str,
    household_id: str | None,
    last_seen: datetime,
    cutoff: datetime,
    now: datetime,
) -> bool:
    claimed = await session.execute(
        update(Gateway)
        .where(
            Gateway.id == gateway_id,
            Gateway.offline_since.is_(None),
            Gateway.last_seen_at < cutoff,
        )
        .values(offline_since=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return False
    minutes = int((now - last_seen).total_seconds() // 60)
    alarm = Alarm(
        alarm_id=offline_alarm_id(gateway_id, now),
        gateway_id=gateway_id,
        home_id=household_id or "",
        household_id=household_id,
        kind=OFFLINE,
        severity=str(Severity.WARNING),
        status=OPEN,
        source="cloud",
        detector="cloud.heartbeat",
        message=f"no heartbeat for {minutes} min",
        raised_at=last_seen,
        received_at=now,
        updated_at=now,
        evidence=[],
        details={"last_seen_at": last_seen.isoformat()},
    )
    session.add(alarm)
    await session.flush()
    session.add(
        AlarmEvent(
            alarm_pk=alarm.id,
            action="raised",
            ts=now,
            received_at=now,
            severity=alarm.severity,
            reason=alarm.message,
            evidence=[],
        )
    )
    await session.commit()
    OFFLINE_TRANSITIONS.labels("offline").inc()
    log.warning("gateway %s is offline (last heartbeat %s)", gateway_id, last_seen.isoformat())
    return True


async def _come_back(
    session: AsyncSession, gateway_id: str, since: datetime, now: datetime
) -> bool:
    claimed = await session.execute(
        update(Gateway)
        .where(Gateway.id == gateway_id, Gateway.offline_since == since)
        .values(offline_since=None)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return False
    cleared = (
        await session.scalars(
            update(Alarm)
            .where(open_cloud_alarm(gateway_id, OFFLINE))
            .values(status=CLEARED, closed_at=now, updated_at=now)
            .returning(Alarm.id)
        )
    ).all()
    for pk in cleared:
        session.add(
            AlarmEvent(
                alarm_pk=pk,
                action="clear",
                ts=now,
                received_at=now,
                reason="heartbeat received",
                evidence=[],
            )
        )
    await session.commit()
    OFFLINE_TRANSITIONS.labels("online").inc()
    log.info("gateway %s is back online", gateway_id)
    return True


@contextlib.asynccontextmanager
async def offline_monitor(app: FastAPI) -> AsyncIterator[None]:
    """Run ``check_gateways`` every ``monitor_interval_s`` while inside."""
    settings = app.state.settings

    async def loop() -> None:
        while True:
            await asyncio.sleep(settings.monitor_interval_s)
            try:
                went, back = await check_gateways(
                    app.state.sessionmaker, settings.heartbeat_timeout_s
                )
            except SQLAlchemyError:
                log.exception("gateway liveness check failed; retrying next interval")
                continue
            if went or back:
                app.state.alarm_wakeup.set()

    async with background.running(loop(), name="gateway-offline-monitor"):
        yield
