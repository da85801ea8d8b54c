"""A gateway's outbox and uplink (edge/) delivering to the service on a real port."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cloud.alarms.models import Alarm
from cloud.db import make_engine, make_sessionmaker
from cloud.gateways.service import add_gateway
from cloud.registry.models import Device, Household
from cloud.server import ServiceThread
from edge.outbox import Outbox
from edge.uplink import Uplink, make_client
from protocol import Alarm as AlarmIn
from protocol import AlarmAction, AlarmKind, AlarmUpdate, Severity, TelemetryBatch, TelemetryPoint
from testbed import InfluxServer
from tests.cloud.conftest import make_settings

pytestmark = pytest.mark.services

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


async def _register(db_url: str) -> str:
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as session:
        session.add(Household(id="home-e", lat=31.2, lon=121.4))
        await session.flush()
        _, credential = await add_gateway(session, "gw-e", "home-e")
        session.add(Device(household_id="home-e", gateway_id="gw-e", device_id="band", profile="p"))
        await session.commit()
    await engine.dispose()
    return credential


async def test_gateway_delivers_everything_once(
    db_url: str, tmp_path: Path, influx: InfluxServer
) -> None:
    credential = await _register(db_url)
    outbox = Outbox(tmp_path / "edge")
    alarm = AlarmIn(
        alarm_id="e-1",
        gateway_id="gw-e",
        home_id="home-e",
        kind=AlarmKind.SOS,
        severity=Severity.CRITICAL,
        raised_at=NOW,
        detector="sos",
    )
    clear = AlarmUpdate(
        update_id="e-1-c", alarm_id="e-1", gateway_id="gw-e", action=AlarmAction.CANCEL, ts=NOW
    )
    point = TelemetryPoint(minute=NOW, device_id="band", metric="heart_rate", count=1, mean=70.0)
    batch = TelemetryBatch(batch_id="t-1", gateway_id="gw-e", home_id="home-e", points=[point])
    outbox.write([alarm, clear, batch])
    settings = make_settings(db_url, tmp_path, influx.url)
    with ServiceThread(settings, features=()) as svc:
        async with make_client(svc.url, credential, timeout_s=10) as client:
            uplink = Uplink(
                outbox,
                client,
                batch_size=50,
                backoff_min_s=0.1,
                backoff_max_s=1,
                auth_retry_s=1,
                wake=asyncio.Event(),
            )
            for _ in range(10):
                if not await uplink.drain_once():
                    break
            outbox.write([alarm])  # a redelivery after a crash is harmless
            async with httpx.AsyncClient(base_url=svc.url) as plain:
                assert (await plain.get("/readyz")).status_code == 200
    assert sum(outbox.backlog().values()) == 0
    outbox.close()
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as session:
        rows = (await session.scalars(select(Alarm))).all()
    await engine.dispose()
    assert [(a.alarm_id, a.status, a.household_id) for a in rows] == [
        ("e-1", "cancelled", "home-e")
    ]


async def test_gateway_batches_stay_within_the_cloud_body_limit(
    db_url: str, tmp_path: Path, influx: InfluxServer
) -> None:
    """Finding 11: a backlog of alarms goes out in batches the cloud takes, never as a 413."""
    credential = await _register(db_url)
    outbox = Outbox(tmp_path / "edge")
    alarms = [
        AlarmIn(
            alarm_id=f"big-{i}",
            gateway_id="gw-e",
            home_id="home-e",
            kind=AlarmKind.SOS,
            severity=Severity.CRITICAL,
            raised_at=NOW,
            detector="sos",
            message="x" * 400,
        )
        for i in range(40)
    ]
    outbox.write(alarms)  # about 24 KB as one batch of 40
    limit = 4096
    settings = make_settings(db_url, tmp_path, influx.url, max_body_bytes=limit)
    statuses: list[int] = []

    async def seen(resp: httpx.Response) -> None:
        statuses.append(resp.status_code)

    with ServiceThread(settings, features=()) as svc:
        async with make_client(svc.url, credential, timeout_s=10) as client:
            client.event_hooks["response"].append(seen)
            uplink = Uplink(
                outbox,
                client,
                batch_size=50,
                max_body_bytes=limit,
                backoff_min_s=0.1,
                backoff_max_s=1,
                auth_retry_s=1,
                wake=asyncio.Event(),
            )
            for _ in range(40):
                if not await uplink.drain_once():
                    break
    assert sum(outbox.backlog().values()) == 0
    outbox.close()
    assert set(statuses) == {200} and 6 <= len(statuses) < 40  # batched, each under 4 KiB
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as session:
        assert len((await session.scalars(select(Alarm))).all()) == 40
    await engine.dispose()
