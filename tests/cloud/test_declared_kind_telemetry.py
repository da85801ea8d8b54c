"""The cloud accepts telemetry of a kind a profile declared as data (humidity), not built in."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from protocol.api import TELEMETRY_PATH
from tests.cloud.conftest import new_gateway

pytestmark = pytest.mark.services

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


async def test_a_declared_kind_is_stored_as_a_device_metric(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auth = {"Authorization": f"Bearer {await new_gateway(app)}"}
    point = {
        "minute": NOW.isoformat(),
        "device_id": "band-1",
        "metric": "humidity",
        "count": 3,
        "min": 61.0,
        "mean": 64.5,
        "max": 70.0,
    }
    batch = {"batch_id": "b-h", "gateway_id": "gw-1", "home_id": "home-1", "points": [point]}
    resp = await client.post(TELEMETRY_PATH, json=batch, headers=auth)
    assert resp.status_code == 200 and resp.json()["accepted"] == ["b-h"], resp.json()
    series = await app.state.influx.query(
        'SELECT "mean" FROM "device" WHERE "metric" = $m', {"m": "humidity"}
    )
    assert series[0]["values"][0][1] == 64.5
