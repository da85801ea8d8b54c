"""No alarm lost to a clock or a refusal, through the running service with dispatch:
an SOS stamped 1970 ends as a task and its later presses are delivered updates; envelopes
a gateway holds as refused raise ``delivery_failed`` for its home (issue 11.2, 11.3)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from cloud.alarms.models import Alarm, AlarmEvent
from cloud.db import make_engine, make_sessionmaker
from cloud.dispatch.models import Task, TaskAlarm
from cloud.gateways.service import add_gateway
from cloud.notify.push_standin import PushStandin
from cloud.notify.twilio_standin import TwilioStandin
from edge.outbox import Outbox
from edge.uplink import Uplink, make_client
from protocol import Alarm as AlarmIn
from protocol import AlarmAction, AlarmKind, AlarmUpdate, Severity
from protocol.api import HEARTBEAT_PATH
from testbed import free_port
from tests.cloud_dispatch.conftest import LiveServer, fast_config, seed_city, settings_for

EPOCH = datetime(1970, 1, 1, 0, 0, 7, tzinfo=UTC)


async def _prepare(url: str) -> str:
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    await seed_city(sm, now=datetime.now(UTC))
    async with sm() as s, s.begin():
        _, credential = await add_gateway(s, "gw-home", "home-1")
    await engine.dispose()
    return credential


async def _read(url: str, query: Any) -> list[Any]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as s:
            return list((await s.execute(query)).all())
    finally:
        await engine.dispose()


def read(url: str, query: Any) -> list[Any]:
    """Rows of ``query`` on a fresh engine (the server runs in its own thread and loop)."""
    return asyncio.run(_read(url, query))


def tasks_of(url: str, kind: str) -> list[Any]:
    return read(
        url,
        select(Task.number, Task.kind, Alarm.alarm_id)
        .join(TaskAlarm, TaskAlarm.task_id == Task.id)
        .join(Alarm, Alarm.id == TaskAlarm.alarm_pk)
        .where(Alarm.kind == kind),
    )


def wait_for(check: Any, what: str, limit_s: float = 20.0) -> Any:
    deadline = datetime.now(UTC) + timedelta(seconds=limit_s)
    while datetime.now(UTC) < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)  # polled within the bounded deadline
    raise AssertionError(f"no {what} within {limit_s:.0f}s")


async def deliver(url: str, credential: str, outbox: Outbox) -> None:
    async with make_client(url, credential, timeout_s=10) as client:
        uplink = Uplink(
            outbox,
            client,
            batch_size=50,
            backoff_min_s=0.1,
            backoff_max_s=0.5,
            auth_retry_s=1.0,
            wake=asyncio.Event(),
        )
        while await uplink.drain_once():
            pass


def test_an_sos_stamped_1970_ends_as_a_task_and_later_presses_are_delivered(
    db_url: str, twilio: TwilioStandin, push: PushStandin, vapid: tuple[str, str], tmp_path: Path
) -> None:
    credential = asyncio.run(_prepare(db_url))
    settings = settings_for(db_url, twilio, vapid, public_url=f"http://127.0.0.1:{free_port()}")
    outbox = Outbox(tmp_path / "edge")
    sos = AlarmIn(
        alarm_id=outbox.cloud_id("local-key"),
        gateway_id="gw-home",
        home_id="home-1",
        device_id="cord",
        kind=AlarmKind.SOS,
        severity=Severity.CRITICAL,
        raised_at=EPOCH,
        detector="sos",
    )
    presses = [
        AlarmUpdate(
            update_id=f"press-{n}",
            alarm_id=sos.alarm_id,
            gateway_id="gw-home",
            action=AlarmAction.UPDATE,
            ts=EPOCH + timedelta(seconds=30 * n),
            reason="pressed again",
        )
        for n in (1, 2)
    ]
    outbox.write([sos, *presses])
    with LiveServer(settings, dispatch_config=fast_config(idle_s=0.5)) as server:
        asyncio.run(deliver(server.url, credential, outbox))
        assert outbox.backlog() == {"alarms": 0, "updates": 0, "telemetry": 0}
        assert outbox.failures(0)[0] == 0
        [(_, kind, alarm_id)] = wait_for(lambda: tasks_of(db_url, "sos"), "SOS task")
        assert kind == "response" and alarm_id == sos.alarm_id
        twilio.wait_for_messages(1, where=lambda m: m.to.startswith("+86138"))  # offered
    events = read(db_url, select(AlarmEvent.action).order_by(AlarmEvent.id))
    assert [e for (e,) in events] == ["raised", "update", "update"]
    [(suspect, raised_at, received_at)] = read(
        db_url, select(Alarm.clock_suspect, Alarm.raised_at, Alarm.received_at)
    )
    assert suspect and raised_at == EPOCH and received_at > EPOCH + timedelta(days=365 * 50)


def heartbeat(held: int, failed: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "gateway_id": "gw-home",
        "home_id": "home-1",
        "ts": datetime.now(UTC).isoformat(),
        "version": "2",
        "uptime_s": 5,
        "broker_connected": True,
        "outbox_pending": 0,
        "quarantine_count": 0,
        "clock": {"synchronized": False, "source": "cloud", "offset_s": 1.7e9},
        "outbox_failed": held,
        "failed": failed,
    }


def test_refused_envelopes_held_on_a_gateway_raise_delivery_failed_for_the_home(
    db_url: str, twilio: TwilioStandin, push: PushStandin, vapid: tuple[str, str]
) -> None:
    credential = asyncio.run(_prepare(db_url))
    settings = settings_for(db_url, twilio, vapid, public_url=f"http://127.0.0.1:{free_port()}")
    auth = {"Authorization": f"Bearer {credential}"}
    held = [{"id": "a-1", "table": "alarms", "kind": "sos", "severity": "critical", "error": "x"}]
    with (
        LiveServer(settings, dispatch_config=fast_config(idle_s=0.5)) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        assert http.post(HEARTBEAT_PATH, json=heartbeat(0, []), headers=auth).json()["ok"]
        assert http.post(HEARTBEAT_PATH, json=heartbeat(1, held), headers=auth).json()["ok"]
        assert http.post(HEARTBEAT_PATH, json=heartbeat(1, held), headers=auth).json()["ok"]
        [(_, kind, _)] = wait_for(lambda: tasks_of(db_url, "delivery_failed"), "a task")
        assert kind == "response"  # a held SOS: someone goes to the door, not an installer
        rows = read(db_url, select(Alarm.severity, Alarm.status, Alarm.household_id))
        assert rows == [("critical", "open", "home-1")]
        assert http.post(HEARTBEAT_PATH, json=heartbeat(0, []), headers=auth).json()["ok"]
        assert read(db_url, select(Alarm.status)) == [("cleared",)]
    events = read(db_url, select(AlarmEvent.action).order_by(AlarmEvent.id))
    assert [e for (e,) in events] == ["raised", "clear"]  # the repeat changed nothing
