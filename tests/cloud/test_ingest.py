"""Gateway ingest: idempotent alarms and updates, per-item rejection, authentication."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from cloud.alarms.models import Alarm, AlarmEvent
from cloud.auth.deps import Role
from protocol.api import ALARM_UPDATES_PATH, ALARMS_PATH, HEARTBEAT_PATH, TELEMETRY_PATH
from tests.cloud.conftest import add_household, login_as, new_gateway

pytestmark = pytest.mark.services

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def alarm(alarm_id: str, **over: Any) -> dict[str, Any]:
    body = {
        "alarm_id": alarm_id,
        "gateway_id": "gw-1",
        "home_id": "home-1",
        "device_id": "band-1",
        "kind": "fall",
        "severity": "critical",
        "raised_at": NOW.isoformat(),
        "detector": "fall.wrist",
        "message": "fall detected",
        "evidence": [{"device_id": "band-1", "kind": "accel", "ts": NOW.isoformat(), "value": 3.2}],
        "details": {"peak_g": 3.2},
    }
    return {**body, **over}


def update(update_id: str, alarm_id: str, action: str, **over: Any) -> dict[str, Any]:
    body = {
        "update_id": update_id,
        "alarm_id": alarm_id,
        "gateway_id": "gw-1",
        "action": action,
        "ts": NOW.isoformat(),
    }
    return {**body, **over}


async def count_alarms(app: FastAPI) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Alarm)) or 0)


@pytest.fixture
async def auth(app: FastAPI) -> dict[str, str]:
    return {"Authorization": f"Bearer {await new_gateway(app)}"}


async def test_alarm_stored_once_and_redelivery_gets_same_answer(
    app: FastAPI, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    app.state.alarm_wakeup.clear()
    first = await client.post(ALARMS_PATH, json={"alarms": [alarm("a-1")]}, headers=auth)
    assert first.status_code == 200
    assert first.json() == {"accepted": ["a-1"], "duplicates": [], "rejected": []}
    assert app.state.alarm_wakeup.is_set()
    again = await client.post(
        ALARMS_PATH, json={"alarms": [alarm("a-1", message="changed")]}, headers=auth
    )
    assert again.json() == {"accepted": [], "duplicates": ["a-1"], "rejected": []}
    async with app.state.sessionmaker() as session:
        row = await session.scalar(select(Alarm).where(Alarm.alarm_id == "a-1"))
        assert row is not None
        assert row.message == "fall detected"
        assert row.household_id == "home-1"
        assert row.dispatch_state == "new"
        assert row.status == "open"
        events = await session.scalar(select(func.count()).select_from(AlarmEvent))
    assert events == 1


async def test_concurrent_delivery_of_same_alarm_stores_it_once(
    app: FastAPI, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = {"alarms": [alarm("a-c"), alarm("a-d")]}
    answers = await asyncio.gather(
        *(client.post(ALARMS_PATH, json=body, headers=auth) for _ in range(8))
    )
    assert all(a.status_code == 200 for a in answers)
    accepted = [aid for a in answers for aid in a.json()["accepted"]]
    assert sorted(accepted) == ["a-c", "a-d"]
    assert all(
        set(a.json()["accepted"]) | set(a.json()["duplicates"]) == {"a-c", "a-d"} for a in answers
    )
    assert await count_alarms(app) == 2


async def test_one_bad_alarm_does_not_block_the_rest(
    app: FastAPI, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = {
        "alarms": [
            alarm("good"),
            alarm("bad-kind", kind="explosion"),
            alarm("other-gw", gateway_id="gw-2"),
            alarm("nul", message="a\x00b"),
            "not an object",
        ]
    }
    resp = await client.post(ALARMS_PATH, json=body, headers=auth)
    assert resp.status_code == 200
    ack = resp.json()
    assert ack["accepted"] == ["good"]
    errors = {r["id"]: r["error"] for r in ack["rejected"]}
    assert errors["bad-kind"].startswith("kind:")
    assert errors["other-gw"].startswith("gateway_id:")
    assert errors["nul"].startswith("message:")
    assert "#4" in errors
    assert await count_alarms(app) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{", "body"),
        (b"[]", "body"),
        (b'{"alarms": {}}', "alarms"),
        (b'{"alarm": []}', "alarm"),
        (b'{"alarms": [{"alarm_id": NaN}]}', "body"),
    ],
)
async def test_malformed_body_is_422_naming_the_field(
    client: httpx.AsyncClient, auth: dict[str, str], body: bytes, field: str
) -> None:
    resp = await client.post(ALARMS_PATH, content=body, headers=auth)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["field"] == field


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nonsense", "Bearer cwg_gw-1.wrong-secret", "Bearer cwg_nobody.x", "Basic abc"],
)
async def test_unknown_or_wrong_credential_is_401(
    client: httpx.AsyncClient, auth: dict[str, str], header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    for path in (ALARMS_PATH, ALARM_UPDATES_PATH, TELEMETRY_PATH, HEARTBEAT_PATH):
        resp = await client.post(path, json={"alarms": []}, headers=headers)
        assert resp.status_code == 401, path


async def test_revoked_gateway_is_refused(
    app: FastAPI, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    from cloud.auth.deps import Role
    from tests.cloud.conftest import login_as

    admin = await login_as(app, client, Role.ADMIN)
    assert (await client.post(ALARMS_PATH, json={"alarms": []}, headers=auth)).status_code == 200
    resp = await client.post("/api/v1/gateways/gw-1/revoke", headers=admin)
    assert resp.status_code == 200
    assert (await client.post(ALARMS_PATH, json={"alarms": []}, headers=auth)).status_code == 401


async def test_updates_apply_once_and_clear(
    app: FastAPI, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await client.post(ALARMS_PATH, json={"alarms": [alarm("a-u")]}, headers=auth)
    body = {
        "updates": [
            update(
                "u-1",
                "a-u",
                "update",
                severity="high",
                evidence=[{"device_id": "pir-1", "kind": "motion", "ts": NOW.isoformat()}],
            ),
            update("u-2", "a-u", "clear", reason="resident up"),
            update("u-3", "missing", "clear"),
        ]
    }
    first = (await client.post(ALARM_UPDATES_PATH, json=body, headers=auth)).json()
    assert first["accepted"] == ["u-1", "u-2"]
    assert first["rejected"][0]["error"].startswith("alarm_id:")
    again = await asyncio.gather(
        *(client.post(ALARM_UPDATES_PATH, json=body, headers=auth) for _ in range(4))
    )
    assert all(a.json()["duplicates"] == ["u-1", "u-2"] for a in again)
    async with app.state.sessionmaker() as session:
        row = await session.scalar(select(Alarm).where(Alarm.alarm_id == "a-u"))
        assert row is not None
        assert (row.severity, row.status) == ("high", "cleared")
        assert len(row.evidence) == 2
        events = await session.scalar(select(func.count()).select_from(AlarmEvent))
    assert events == 3
    actions: set[str] = set()
    for _ in range(100):  # alarm events reach InfluxDB in the background
        series = await app.state.influx.query('SELECT "n" FROM "alarm_events" GROUP BY "action"')
        actions = {x["tags"]["action"] for x in series}
        if len(actions) == 3:
            break
        await asyncio.sleep(0.02)
    assert actions == {"raised", "update", "clear"}


async def test_telemetry_and_heartbeat(
    app: FastAPI, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    batch = {
        "batch_id": "b-1",
        "gateway_id": "gw-1",
        "home_id": "home-1",
        "points": [
            {
                "minute": NOW.isoformat(),
                "device_id": "band-1",
                "metric": "heart_rate",
                "count": 60,
                "min": 60,
                "mean": 70,
                "max": 80,
            },
            {
                "minute": NOW.isoformat(),
                "device_id": "pir-1",
                "metric": "motion",
                "room": "kitchen",
                "count": 4,
            },
            {"minute": NOW.isoformat(), "device_id": "band-1", "metric": "spo2", "count": -1},
        ],
    }
    resp = await client.post(TELEMETRY_PATH, json=batch, headers=auth)
    assert resp.status_code == 200
    ack = resp.json()
    assert ack["accepted"] == ["b-1"]
    assert [r["id"] for r in ack["rejected"]] == ["b-1#2"]
    assert ack["rejected"][0]["error"].startswith("points[2].count")
    series = await app.state.influx.query(
        'SELECT "mean" FROM "vitals" WHERE "home_id" = $h', {"h": "home-1"}
    )
    assert series[0]["values"][0][1] == 70
    hb = {
        "gateway_id": "gw-1",
        "home_id": "home-1",
        "ts": NOW.isoformat(),
        "version": "1.0",
        "uptime_s": 5,
        "broker_connected": True,
        "outbox_pending": 0,
        "quarantine_count": 0,
    }
    resp = await client.post(HEARTBEAT_PATH, json=hb, headers=auth)
    assert resp.json() == {"ok": True}
    assert await app.state.heartbeats.flush() == 1
    bad = await client.post(HEARTBEAT_PATH, json={**hb, "uptime_s": -1}, headers=auth)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "uptime_s"


GARBAGE: list[Any] = [
    None,
    0,
    "x" * 10,
    [],
    {"alarms": [None, 1, [], {"alarm_id": []}]},
    {"alarms": [{"alarm_id": "x" * 5000}]},
    {"updates": [{"update_id": "u", "ts": "not a time"}]},
    {
        "batch_id": "b",
        "gateway_id": "gw-1",
        "home_id": "home-1",
        "points": [
            {
                "minute": "2026-01-01T00:00:00+00:00",
                "device_id": "d",
                "metric": "m",
                "count": 10**30,
            }
        ],
    },
    {
        "gateway_id": "gw-1",
        "home_id": "home-1",
        "ts": "2026-01-01T00:00:00+00:00",
        "version": "1",
        "uptime_s": 1e308,
        "broker_connected": True,
        "outbox_pending": 10**40,
        "quarantine_count": 0,
    },
    {"alarms": [alarm("deep", details={"a": "b" * 10})]},
    {
        "gateway_id": "gw-1",
        "home_id": "home-1",
        "ts": "2026-01-01T00:00:00+00:00",
        "version": "\x00",
        "uptime_s": 1,
        "broker_connected": True,
        "outbox_pending": 0,
        "quarantine_count": 0,
    },
]


async def test_infinite_numbers_are_refused(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    hb = (
        b'{"gateway_id": "gw-1", "home_id": "home-1", "ts": "2026-01-01T00:00:00+00:00",'
        b' "version": "1", "uptime_s": 1, "broker_connected": true, "outbox_pending": 0,'
        b' "quarantine_count": 0, "cpu_temp_c": 1e999}'
    )
    resp = await client.post(HEARTBEAT_PATH, content=hb, headers=auth)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["field"] in ("cpu_temp_c", "body")


@pytest.mark.parametrize("body", GARBAGE)
async def test_garbage_never_causes_a_500(
    client: httpx.AsyncClient, auth: dict[str, str], body: Any
) -> None:
    for path in (ALARMS_PATH, ALARM_UPDATES_PATH, TELEMETRY_PATH, HEARTBEAT_PATH):
        resp = await client.post(path, json=body, headers=auth)
        assert resp.status_code < 500, (path, resp.text)


async def test_operators_see_alarms_and_gateways(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await login_as(app, client, Role.ADMIN)
    await add_household(app)
    made = await client.post(
        "/api/v1/gateways", json={"id": "gw-1", "household_id": "home-1"}, headers=admin
    )
    assert made.status_code == 201
    gw = {"Authorization": f"Bearer {made.json()['credential']}"}
    await client.post(ALARMS_PATH, json={"alarms": [alarm("a-v")]}, headers=gw)
    body = {"updates": [update("u-v", "a-v", "cancel")]}
    await client.post(ALARM_UPDATES_PATH, json=body, headers=gw)
    listed = await client.get("/api/v1/alarms?status=cancelled", headers=admin)
    assert [a["alarm_id"] for a in listed.json()] == ["a-v"]
    one = (await client.get("/api/v1/alarms/a-v", headers=admin)).json()
    assert [e["action"] for e in one["events"]] == ["raised", "cancel"]
    assert (await client.get("/api/v1/alarms/nope", headers=admin)).status_code == 404
    rekeyed = await client.post("/api/v1/gateways/gw-1/credential", headers=admin)
    assert (await client.post(ALARMS_PATH, json={"alarms": []}, headers=gw)).status_code == 401
    new = {"Authorization": f"Bearer {rekeyed.json()['credential']}"}
    assert (await client.post(ALARMS_PATH, json={"alarms": []}, headers=new)).status_code == 200
