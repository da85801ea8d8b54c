"""Gateway liveness: silence raises one gateway_offline alarm (two instances or not)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from cloud.alarms.models import Alarm
from cloud.db import utcnow
from cloud.gateways.monitor import check_gateways
from tests.cloud.conftest import new_gateway

pytestmark = pytest.mark.services


async def test_offline_raised_once_and_cleared_on_return(app: FastAPI) -> None:
    await new_gateway(app, "gw-1")
    await new_gateway(app, "gw-2", "home-2")
    heartbeats = app.state.heartbeats
    start = utcnow()
    heartbeats.record("gw-1", start - timedelta(minutes=10), "1.0", {})
    heartbeats.record("gw-2", start, "1.0", {})
    await heartbeats.flush()
    sm = app.state.sessionmaker
    # two instances checking at once: only one raises the alarm
    results = await asyncio.gather(check_gateways(sm, 300, start), check_gateways(sm, 300, start))
    assert sorted(went for r in results for went in r[0]) == ["gw-1"]
    async with sm() as session:
        alarms = (await session.scalars(select(Alarm))).all()
    assert [(a.gateway_id, a.kind, a.status, a.source) for a in alarms] == [
        ("gw-1", "gateway_offline", "open", "cloud")
    ]
    assert await check_gateways(sm, 300, start) == ([], [])
    heartbeats.record("gw-1", start + timedelta(seconds=1), "1.0", {})
    await heartbeats.flush()
    results = await asyncio.gather(check_gateways(sm, 300, start), check_gateways(sm, 300, start))
    assert sorted(b for r in results for b in r[1]) == ["gw-1"]
    async with sm() as session:
        alarm = await session.scalar(select(Alarm))
    assert alarm is not None and alarm.status == "cleared" and alarm.closed_at is not None
