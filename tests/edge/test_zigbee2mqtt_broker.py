"""Zigbee2MQTT at run time through real Mosquitto: cached check-ins, availability, the
bridge's state, and the last values kept across a gateway restart."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest

from edge.app import Gateway
from edge.config import ClockConfig
from protocol.topics import CLOCK_TOPIC
from testbed import MosquittoServer
from tests.edge.conftest import gateway_config, publish, wait_until
from tests.edge.receiver import Receiver, serve
from tests.edge.z2m_home import HOME_YAML, T0, H

pytestmark = pytest.mark.services

Message = tuple[str, bytes]


def device(name: str, ts: float, **values: object) -> Message:
    return f"zigbee2mqtt/{name}", json.dumps({**values, "last_seen": int(ts * 1000)}).encode()


def clock(ts: float) -> Message:
    return CLOCK_TOPIC, json.dumps({"ts": ts, "speed": 1000}).encode()


def of_kind(rx: Receiver, kind: str) -> list[dict[str, object]]:
    return [a for a in rx.alarms.values() if a["kind"] == kind]


def cleared(rx: Receiver, alarm: dict[str, object]) -> bool:
    return any(
        u["alarm_id"] == alarm["alarm_id"] and u["action"] == "clear" for u in rx.updates.values()
    )


@pytest.fixture
async def rx(credential: str) -> AsyncIterator[Receiver]:
    async with serve(Receiver(credential)) as receiver:
        yield receiver


@pytest.fixture
def home_path(tmp_path: Path) -> Path:
    path = tmp_path / "home.yaml"
    path.write_text(HOME_YAML.replace("gw-z1", "gw-t1"))  # the credential's gateway
    return path


def sim_gateway(
    home: Path, data: Path, mosquitto: MosquittoServer, rx: Receiver, cred: str
) -> Gateway:
    cfg = gateway_config(home, data, mosquitto.url, rx.url, cred)
    cfg.broker.client_id = f"gw-test-{uuid.uuid4().hex[:8]}"
    cfg.clock = ClockConfig(source="sim", tick_s=60.0)
    return Gateway(cfg)


async def running(gw: Gateway) -> asyncio.Task[None]:
    task = asyncio.create_task(gw.run())
    await asyncio.wait_for(gw.ready.wait(), 10)
    await wait_until(lambda: gw.ingest.connected, what="broker connection")
    return task


async def stopped(gw: Gateway, task: asyncio.Task[None]) -> None:
    gw.stop()
    await asyncio.wait_for(task, 20)


async def test_hourly_cached_check_ins_still_raise_the_inactivity_alarm(
    mosquitto: MosquittoServer, rx: Receiver, home_path: Path, tmp_path: Path, credential: str
) -> None:
    gw = sim_gateway(home_path, tmp_path / "data", mosquitto, rx, credential)
    task = await running(gw)
    msgs = [
        clock(T0 - 900),
        device("bathroom_door", T0 - 600, contact=True, battery=100, voltage=3055),
        device("pir_bedroom", T0, occupancy=True, battery=100, illuminance=30),
        device("pir_bedroom", T0 + 90, occupancy=False, battery=100, illuminance=30),
    ]
    for step in range(1, 8 * 6 + 1):  # 8 h in 10-minute clock steps, check-ins hourly
        t = T0 + step * 600
        if step % 6 == 0:
            msgs += [
                device("bathroom_door", t, contact=True, battery=100, voltage=3055),
                device("pir_bedroom", t + 5, occupancy=False, battery=100, illuminance=30),
            ]
        msgs.append(clock(t + 10))
    await publish(mosquitto.port, msgs, qos=0)  # Zigbee2MQTT's default QoS
    await wait_until(lambda: bool(of_kind(rx, "inactivity")), what="the inactivity alarm")
    [alarm] = of_kind(rx, "inactivity")
    assert alarm["details"]["last_activity"] == pytest.approx(T0)
    assert gw.status()["state_repeats"] >= 6  # the door check-ins to 6 h (a PIR firing is an event)
    await stopped(gw, task)


async def test_bridge_offline_is_one_zigbee_offline_alarm_then_cleared(
    mosquitto: MosquittoServer, rx: Receiver, home_path: Path, tmp_path: Path, credential: str
) -> None:
    gw = sim_gateway(home_path, tmp_path / "data", mosquitto, rx, credential)
    task = await running(gw)
    msgs = [clock(T0)] + [
        device(name, T0, battery=90, linkquality=80)
        for name in ("pir_bedroom", "bathroom_door", "front_door", "radar_living", "sos_button")
    ]
    msgs.append(("zigbee2mqtt/bridge/state", b'{"state":"offline"}'))  # its last will
    msgs += [clock(T0 + 60 + i * 1800) for i in range(1, 27 * 2)]  # 27 h: past every timeout
    await publish(mosquitto.port, msgs, qos=0)
    await wait_until(lambda: bool(of_kind(rx, "zigbee_offline")), what="the zigbee_offline alarm")
    await publish(mosquitto.port, [("zigbee2mqtt/bridge/state", b"online")], qos=0)  # 1.x form
    [alarm] = of_kind(rx, "zigbee_offline")
    await wait_until(lambda: cleared(rx, alarm), what="zigbee_offline cleared")
    assert alarm["severity"] == "warning" and alarm["device_id"] is None
    assert "device_offline" not in gw.status()["alarms_raised"], "held behind the bridge"
    await stopped(gw, task)


async def test_availability_marks_a_device_offline_at_once_and_back(
    mosquitto: MosquittoServer, rx: Receiver, home_path: Path, tmp_path: Path, credential: str
) -> None:
    gw = sim_gateway(home_path, tmp_path / "data", mosquitto, rx, credential)
    task = await running(gw)
    topic = "zigbee2mqtt/pir_bedroom/availability"
    await publish(mosquitto.port, [clock(T0), device("pir_bedroom", T0, battery=90)], qos=0)
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
        await client.publish(topic, b'{"state":"offline"}', retain=True)  # as Zigbee2MQTT does
    await wait_until(lambda: bool(of_kind(rx, "device_offline")), what="device_offline at once")
    [alarm] = of_kind(rx, "device_offline")
    assert alarm["device_id"] == "pir_bedroom"
    await publish(mosquitto.port, [(topic, b"online")], qos=0)
    await wait_until(lambda: cleared(rx, alarm), what="device back online")
    await stopped(gw, task)
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
        await client.publish(topic, b"", retain=True)  # leave the broker as it was


async def test_last_values_are_kept_across_a_gateway_restart(
    mosquitto: MosquittoServer, rx: Receiver, home_path: Path, tmp_path: Path, credential: str
) -> None:
    door_ajar = device("front_door", T0, contact=False, battery=100)
    gw = sim_gateway(home_path, tmp_path / "data", mosquitto, rx, credential)
    task = await running(gw)
    await publish(mosquitto.port, [door_ajar], qos=0)
    door = gw.board.devices["front_door"]
    await wait_until(lambda: door.messages >= 1, what="the door message")
    await stopped(gw, task)
    saved = json.loads((tmp_path / "data" / "detectors.json").read_text())
    assert saved["last_values"]["front_door"]["door_open"] is True
    gw = sim_gateway(home_path, tmp_path / "data", mosquitto, rx, credential)
    task = await running(gw)
    await publish(mosquitto.port, [device("front_door", T0 + H, contact=False, battery=100)], qos=0)
    door = gw.board.devices["front_door"]
    await wait_until(lambda: door.messages >= 1, what="the repeat after restart")
    assert gw.status()["state_repeats"] == 1, "the cached value after a restart is a check-in"
    await stopped(gw, task)
