"""Issue 11.4 as found: a gateway with no household raised an SOS for another home, which
opened a task and texted that home's family. Now it is refused (403) and nothing follows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from cloud.alarms.models import Alarm
from cloud.db import make_engine, make_sessionmaker
from cloud.dispatch.models import Task, TaskAlarm
from cloud.gateways.service import add_gateway
from cloud.notify.push_standin import PushStandin
from cloud.notify.twilio_standin import TwilioStandin
from protocol.api import ALARMS_PATH
from testbed import free_port
from tests.cloud_dispatch.conftest import LiveServer, fast_config, seed_city, settings_for


async def _prepare(url: str) -> tuple[str, str]:
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    await seed_city(sm, now=datetime.now(UTC))
    async with sm() as s, s.begin():
        _, stranger = await add_gateway(s, "gw-stray", None)
        _, own = await add_gateway(s, "gw-own", "home-1")
    await engine.dispose()
    return stranger, own


async def _rows(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as s:
            alarms = list(await s.scalars(select(Alarm.alarm_id)))
            tasks = (
                await s.execute(
                    select(Task.number, Alarm.alarm_id)
                    .join(TaskAlarm, TaskAlarm.task_id == Task.id)
                    .join(Alarm, Alarm.id == TaskAlarm.alarm_pk)
                )
            ).all()
            return alarms, [(n, a) for n, a in tasks]
    finally:
        await engine.dispose()


def sos(alarm_id: str, gateway_id: str) -> dict[str, Any]:
    return {
        "alarm_id": alarm_id,
        "gateway_id": gateway_id,
        "home_id": "home-1",
        "kind": "sos",
        "severity": "critical",
        "raised_at": datetime.now(UTC).isoformat(),
        "detector": "sos",
    }


def test_sos_from_a_gateway_without_household_opens_nothing(
    db_url: str, twilio: TwilioStandin, push: PushStandin, vapid: tuple[str, str]
) -> None:
    stranger, own = asyncio.run(_prepare(db_url))
    settings = settings_for(db_url, twilio, vapid, public_url=f"http://127.0.0.1:{free_port()}")
    with (
        LiveServer(settings, dispatch_config=fast_config(idle_s=0.5)) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        refused = http.post(
            ALARMS_PATH,
            json={"alarms": [sos("stray-1", "gw-stray")]},
            headers={"Authorization": f"Bearer {stranger}"},
        )
        assert refused.status_code == 403, refused.text
        assert "no household" in refused.json()["detail"]
        genuine = http.post(
            ALARMS_PATH,
            json={"alarms": [sos("own-1", "gw-own")]},
            headers={"Authorization": f"Bearer {own}"},
        )
        assert genuine.json()["accepted"] == ["own-1"]
        family = twilio.wait_for_messages(1, where=lambda m: m.to.startswith("+86139"))
        assert family  # the genuine SOS reached the family; the stranger's never existed
    alarms, tasks = asyncio.run(_rows(db_url))
    assert alarms == ["own-1"]
    assert [a for _, a in tasks] == ["own-1"]
