"""InfluxDB: telemetry written, queried downsampled; buffered durably while InfluxDB is down."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cloud.app import create_app
from cloud.auth.deps import Role
from cloud.gateways.front import GatewayFront
from cloud.settings import Settings
from cloud.timeseries.writer import InfluxWriter
from protocol.api import TELEMETRY_PATH
from testbed import InfluxServer
from tests.cloud.conftest import login_as, make_settings, new_gateway

pytestmark = pytest.mark.services

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


def batch(batch_id: str, start: datetime, minutes: int) -> dict[str, object]:
    points = [
        {
            "minute": (start + timedelta(minutes=i)).isoformat(),
            "device_id": "band-1",
            "metric": "heart_rate",
            "count": 60,
            "min": 60 + i % 5,
            "mean": 70 + i % 5,
            "max": 80 + i % 5,
        }
        for i in range(minutes)
    ]
    return {"batch_id": batch_id, "gateway_id": "gw-1", "home_id": "home-1", "points": points}


async def test_vitals_downsampled(settings: Settings, tmp_path: Path) -> None:
    app = create_app(settings, features=())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=GatewayFront(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://cloud") as client:
            devices = ("band-1", "pir-kitchen", "pir-bedroom")
            gw = {"Authorization": f"Bearer {await new_gateway(app, devices=devices)}"}
            resp = await client.post(TELEMETRY_PATH, json=batch("b", T0, 60), headers=gw)
            assert resp.json()["accepted"] == ["b"]
            motion = {
                "batch_id": "m",
                "gateway_id": "gw-1",
                "home_id": "home-1",
                "points": [
                    {
                        "minute": T0.isoformat(),
                        "device_id": f"pir-{room}",
                        "metric": "motion",
                        "room": room,
                        "count": n,
                    }
                    for room, n in (("kitchen", 3), ("bedroom", 5))
                ],
            }
            await client.post(TELEMETRY_PATH, json=motion, headers=gw)
            op = await login_as(app, client, Role.DISPATCHER)
            got = await client.get(
                "/api/v1/households/home-1/vitals",
                params={
                    "start": T0.isoformat(),
                    "end": (T0 + timedelta(hours=1)).isoformat(),
                    "interval": "15m",
                },
                headers=op,
            )
            act = await client.get(
                "/api/v1/households/home-1/activity",
                params={"start": T0.isoformat(), "end": (T0 + timedelta(hours=1)).isoformat()},
                headers=op,
            )
    rooms = {s["tags"]["room"]: s["points"][0]["count"] for s in act.json()["series"]}
    assert rooms == {"kitchen": 3, "bedroom": 5}
    assert act.json()["interval"] == "1m"
    body = got.json()
    points = body["series"][0]["points"]
    assert body["interval_s"] == 900 and len(points) == 4
    assert points[0] == {"time": T0.isoformat(), "min": 60, "mean": 72.0, "max": 84, "count": 900}


@pytest.fixture
def own_influx() -> Iterator[InfluxServer]:
    with InfluxServer() as server:
        yield server


async def test_points_wait_in_buffer_while_influx_is_down(
    db_url: str, tmp_path: Path, own_influx: InfluxServer
) -> None:
    settings = make_settings(db_url, tmp_path, own_influx.url)
    app = create_app(settings, features=())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=GatewayFront(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://cloud") as client:
            gw = {"Authorization": f"Bearer {await new_gateway(app)}"}
            assert (
                await client.post(TELEMETRY_PATH, json=batch("b1", T0, 10), headers=gw)
            ).status_code == 200
            own_influx.kill()
            resp = await client.post(
                TELEMETRY_PATH, json=batch("b2", T0 + timedelta(hours=1), 10), headers=gw
            )
            assert resp.json()["accepted"] == ["b2"]
            status = (await client.get("/api/v1/status")).json()["influx"]
            assert status["up"] is False and status["buffered_lines"] == 10
            own_influx.start()
            for _ in range(200):
                if app.state.influx.status()["buffered_lines"] == 0:
                    break
                await asyncio.sleep(0.05)
            assert app.state.influx.status()["buffered_lines"] == 0
            series = await app.state.influx.query('SELECT count("mean") FROM "vitals"')
    assert series[0]["values"][0][1] == 20


async def test_buffer_survives_a_restart_and_refuses_when_full(
    db_url: str, tmp_path: Path, own_influx: InfluxServer
) -> None:
    own_influx.kill()
    settings = make_settings(db_url, tmp_path, own_influx.url, influx_buffer_max_lines=15)
    for round_ in range(2):
        app = create_app(settings, features=())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=GatewayFront(app))
            async with httpx.AsyncClient(transport=transport, base_url="http://cloud") as client:
                if round_ == 0:
                    gw = {"Authorization": f"Bearer {await new_gateway(app)}"}
                    ok = await client.post(TELEMETRY_PATH, json=batch("b1", T0, 10), headers=gw)
                    assert ok.status_code == 200
                    full = await client.post(TELEMETRY_PATH, json=batch("b2", T0, 10), headers=gw)
                    assert full.status_code == 503 and full.headers["retry-after"]
                    assert (await client.get("/readyz")).status_code == 200
                else:
                    assert app.state.influx.status()["buffered_lines"] == 10
                    own_influx.start()
                    for _ in range(200):
                        if app.state.influx.status()["buffered_lines"] == 0:
                            break
                        await asyncio.sleep(0.05)
                    series = await app.state.influx.query('SELECT count("mean") FROM "vitals"')
                    assert series[0]["values"][0][1] == 10


async def test_each_writer_keeps_its_own_buffer_file(settings: Settings) -> None:
    first, second = InfluxWriter(settings), InfluxWriter(settings)
    try:
        assert first.buffer.path.name == "influx-buffer.sqlite"
        assert second.buffer.path.name == "influx-buffer-2.sqlite"
    finally:
        await first.stop()
    third = InfluxWriter(settings)  # a restarted process takes over the file left free
    assert third.buffer.path.name == "influx-buffer.sqlite"
    await second.stop()
    await third.stop()
