"""A gateway acts only for its own household and the devices registered there (issue 11.4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from cloud.alarms.models import Alarm
from protocol.api import ALARM_UPDATES_PATH, ALARMS_PATH, HEARTBEAT_PATH, TELEMETRY_PATH
from tests.cloud.conftest import add_household, new_gateway, sos_alarm

pytestmark = pytest.mark.services

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def heartbeat(gateway_id: str, home_id: str) -> dict[str, Any]:
    return {
        "gateway_id": gateway_id,
        "home_id": home_id,
        "ts": NOW.isoformat(),
        "version": "1.0",
        "uptime_s": 5,
        "broker_connected": True,
        "outbox_pending": 0,
        "quarantine_count": 0,
    }


def point(device_id: str) -> dict[str, Any]:
    return {"minute": NOW.isoformat(), "device_id": device_id, "metric": "motion", "count": 3}


async def alarms_of(app: FastAPI) -> list[Alarm]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(Alarm)))


async def test_gateway_without_household_sends_heartbeats_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_household(app, "home-2")
    auth = {"Authorization": f"Bearer {await new_gateway(app, 'gw-x', None)}"}
    resp = await client.post(
        ALARMS_PATH, json={"alarms": [sos_alarm("x-1", "gw-x", "home-2", NOW)]}, headers=auth
    )
    assert resp.status_code == 403, resp.text
    assert "no household" in resp.json()["detail"]
    assert await alarms_of(app) == []
    upd = {"update_id": "u", "alarm_id": "x-1", "gateway_id": "gw-x", "action": "clear"}
    resp = await client.post(
        ALARM_UPDATES_PATH, json={"updates": [{**upd, "ts": NOW.isoformat()}]}, headers=auth
    )
    assert resp.status_code == 403 and "no household" in resp.json()["detail"]
    batch = {"batch_id": "b", "gateway_id": "gw-x", "home_id": "home-2", "points": [point("d")]}
    resp = await client.post(TELEMETRY_PATH, json=batch, headers=auth)
    assert resp.status_code == 403 and "no household" in resp.json()["detail"]
    resp = await client.post(HEARTBEAT_PATH, json=heartbeat("gw-x", "home-2"), headers=auth)
    assert resp.json() == {"ok": True}


async def test_alarm_for_another_home_is_refused_per_item(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_household(app, "home-2")
    auth = {"Authorization": f"Bearer {await new_gateway(app)}"}
    body = {
        "alarms": [
            sos_alarm("mine", "gw-1", "home-1", NOW),
            sos_alarm("theirs", "gw-1", "home-2", NOW),
        ]
    }
    ack = (await client.post(ALARMS_PATH, json=body, headers=auth)).json()
    assert ack["accepted"] == ["mine"]
    assert [r["id"] for r in ack["rejected"]] == ["theirs"]
    assert ack["rejected"][0]["error"].startswith("home_id:")
    assert [(a.alarm_id, a.household_id) for a in await alarms_of(app)] == [("mine", "home-1")]


async def test_heartbeat_for_another_home_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_household(app, "home-2")
    auth = {"Authorization": f"Bearer {await new_gateway(app)}"}
    resp = await client.post(HEARTBEAT_PATH, json=heartbeat("gw-1", "home-2"), headers=auth)
    assert resp.status_code == 403
    assert resp.json()["detail"].startswith("home_id: 'home-2'")
    assert await app.state.heartbeats.flush() == 0
    ok = await client.post(HEARTBEAT_PATH, json=heartbeat("gw-1", "home-1"), headers=auth)
    assert ok.json() == {"ok": True}


async def test_telemetry_of_unregistered_devices_is_refused_per_point(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await new_gateway(app, "gw-2", "home-2", devices=("pir-9",))
    auth = {"Authorization": f"Bearer {await new_gateway(app, devices=('pir-1',))}"}
    points = [point("pir-1"), point("pir-9"), point("ghost")]
    batch = {"batch_id": "b-1", "gateway_id": "gw-1", "home_id": "home-1", "points": points}
    ack = (await client.post(TELEMETRY_PATH, json=batch, headers=auth)).json()
    assert ack["accepted"] == ["b-1"]
    refused = {r["id"]: r["error"] for r in ack["rejected"]}
    assert set(refused) == {"b-1#1", "b-1#2"}
    assert refused["b-1#1"].startswith("points[1].device_id: 'pir-9' is not registered")
    series = await app.state.influx.query('SELECT "count" FROM "activity" GROUP BY "device_id"')
    assert [s["tags"]["device_id"] for s in series] == ["pir-1"]
    other = {**batch, "batch_id": "b-2", "home_id": "home-2", "points": [point("pir-9")]}
    ack = (await client.post(TELEMETRY_PATH, json=other, headers=auth)).json()
    assert ack["accepted"] == [] and ack["rejected"][0]["id"] == "b-2"
    assert ack["rejected"][0]["error"].startswith("home_id: 'home-2'")
