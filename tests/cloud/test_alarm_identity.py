"""Alarm identity is (gateway, alarm id); any device time is taken (issue 11.2, 11.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from cloud.alarms.models import Alarm, AlarmEvent
from cloud.auth.deps import Role
from cloud.console.live import Targets, open_alarms
from cloud.db import utcnow
from protocol.api import ALARM_UPDATES_PATH, ALARMS_PATH
from tests.cloud.conftest import login_as, new_gateway, sos_alarm

pytestmark = pytest.mark.services

EPOCH = datetime(1970, 1, 1, 0, 0, 12, tzinfo=UTC)


async def rows(app: FastAPI) -> list[Alarm]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(Alarm).order_by(Alarm.id)))


async def test_another_gateways_id_never_blocks_an_alarm(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    a = {"Authorization": f"Bearer {await new_gateway(app, 'gw-a', 'home-a')}"}
    b = {"Authorization": f"Bearer {await new_gateway(app, 'gw-b', 'home-b')}"}
    now = utcnow()
    taken = await client.post(
        ALARMS_PATH, json={"alarms": [sos_alarm("shared", "gw-b", "home-b", now)]}, headers=b
    )
    assert taken.json()["accepted"] == ["shared"]
    genuine = await client.post(
        ALARMS_PATH, json={"alarms": [sos_alarm("shared", "gw-a", "home-a", now)]}, headers=a
    )
    assert genuine.json() == {"accepted": ["shared"], "duplicates": [], "rejected": []}
    again = await client.post(
        ALARMS_PATH, json={"alarms": [sos_alarm("shared", "gw-a", "home-a", now)]}, headers=a
    )
    assert again.json()["duplicates"] == ["shared"]
    assert [(r.gateway_id, r.household_id) for r in await rows(app)] == [
        ("gw-b", "home-b"),
        ("gw-a", "home-a"),
    ]
    update = {"update_id": "u-1", "alarm_id": "shared", "action": "cancel", "ts": now.isoformat()}
    for headers, gw in ((b, "gw-b"), (a, "gw-a")):  # the same update id, each its own alarm
        ack = await client.post(
            ALARM_UPDATES_PATH, json={"updates": [{**update, "gateway_id": gw}]}, headers=headers
        )
        assert ack.json()["accepted"] == ["u-1"]
    assert {r.status for r in await rows(app)} == {"cancelled"}
    admin = await login_as(app, client, Role.ADMIN)
    ambiguous = await client.get("/api/v1/alarms/shared", headers=admin)
    assert ambiguous.status_code == 409
    one = await client.get("/api/v1/alarms/shared", params={"gateway_id": "gw-a"}, headers=admin)
    assert one.json()["home_id"] == "home-a"


async def test_an_sos_stamped_1970_is_taken_and_aged_from_its_receive_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    auth = {"Authorization": f"Bearer {await new_gateway(app)}"}
    before = utcnow()
    ack = await client.post(
        ALARMS_PATH,
        json={"alarms": [sos_alarm("old-clock", "gw-1", "home-1", EPOCH)]},
        headers=auth,
    )
    assert ack.json()["accepted"] == ["old-clock"]
    later = {
        "update_id": "u-later",
        "alarm_id": "old-clock",
        "gateway_id": "gw-1",
        "action": "update",
        "ts": (EPOCH + timedelta(seconds=30)).isoformat(),
        "reason": "pressed again",
    }
    assert (await client.post(ALARM_UPDATES_PATH, json={"updates": [later]}, headers=auth)).json()[
        "accepted"
    ] == ["u-later"]
    [row] = await rows(app)
    assert row.raised_at == EPOCH and row.clock_suspect
    assert row.started_at == row.received_at >= before
    async with app.state.sessionmaker() as session:
        actions = list(await session.scalars(select(AlarmEvent.action).order_by(AlarmEvent.id)))
    assert actions == ["raised", "update"]
    admin = await login_as(app, client, Role.ADMIN)
    shown = (await client.get("/api/v1/alarms/old-clock", headers=admin)).json()
    assert shown["clock_suspect"] and shown["started_at"] != shown["raised_at"]
    async with app.state.sessionmaker() as session:  # the console's live list ages it
        [live], _ = await open_alarms(session, Targets(1800, 3600))
    assert live.clock_suspect and live.started_at == row.received_at  # not 8966 hours
    marked = sos_alarm("marked", "gw-1", "home-1", utcnow())
    marked["evidence"] = [
        {"device_id": "band-1", "kind": "sos", "ts": utcnow().isoformat(), "clock_suspect": True}
    ]
    await client.post(ALARMS_PATH, json={"alarms": [marked]}, headers=auth)
    assert [r.clock_suspect for r in await rows(app)] == [True, True]
