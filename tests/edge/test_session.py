"""The gateway's broker session on the Mosquitto an install runs (Debian's main file with
deploy/mosquitto/carewatch.conf): nothing published while the gateway restarts is lost, and
a second gateway on the same client id is named instead of looping silently."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from edge.app import Gateway
from edge.brokerauth import GATEWAY_USER, ZIGBEE_BRIDGE_USER, broker_auth
from edge.config import GatewayConfig
from edge.outbox import Outbox
from firmware_profiles import load_library
from protocol import load_home
from tests.edge.conftest import gateway_process, wait_until, z2m
from tests.edge.debian_broker import DebianMosquitto

pytestmark = pytest.mark.services

REPO = Path(__file__).resolve().parents[2]
PASSWORDS = {GATEWAY_USER: "gw-secret", ZIGBEE_BRIDGE_USER: "z2m-secret"}


@pytest.fixture
def broker(home_file: Path) -> Iterator[DebianMosquitto]:
    auth = broker_auth(load_home(home_file), load_library())
    with DebianMosquitto(auth, PASSWORDS) as server:
        yield server


def settings(home: Path, data: Path, broker: DebianMosquitto, client_id: str) -> dict[str, Any]:
    """A gateway config logging in as broker-auth's gateway user, fast reconnects."""
    return {
        "home": str(home),
        "data_dir": str(data),
        "broker": {
            "url": broker.url,
            "client_id": client_id,
            "username": GATEWAY_USER,
            "password": PASSWORDS[GATEWAY_USER],
            "reconnect_min_s": 0.1,
            "reconnect_max_s": 0.5,
        },
        "clock": {"tick_s": 0.2},
    }


def config(home: Path, data: Path, broker: DebianMosquitto, client_id: str) -> GatewayConfig:
    return GatewayConfig.model_validate(settings(home, data, broker, client_id))


async def zigbee2mqtt_publishes(broker: DebianMosquitto, payload: bytes) -> None:
    """What Zigbee2MQTT does by default: QoS 0."""
    async with aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=ZIGBEE_BRIDGE_USER,
        password=PASSWORDS[ZIGBEE_BRIDGE_USER],
    ) as bridge:
        await bridge.publish("zigbee2mqtt/sos_button", payload, qos=0)


def sos_alarms(gw: Gateway) -> list[dict[str, Any]]:
    return [a for a in gw.outbox.report()["alarms"] if a["kind"] == "sos"]


async def running(gw: Gateway) -> asyncio.Task[None]:
    task = asyncio.create_task(gw.run())
    await asyncio.wait_for(gw.ready.wait(), 10)
    await wait_until(lambda: gw.ingest.connected, what="broker connection")
    return task


async def test_an_sos_at_qos0_while_the_gateway_restarts_raises_the_alarm(
    broker: DebianMosquitto, home_file: Path, tmp_path: Path
) -> None:
    cfg = config(home_file, tmp_path / "data", broker, f"gw-{uuid.uuid4().hex[:8]}")
    first = Gateway(cfg)
    task = await running(first)
    first.stop()
    await asyncio.wait_for(task, 20)
    press = z2m(action="single", battery=97, last_seen=int(time.time() * 1000))
    await zigbee2mqtt_publishes(broker, press)  # the gateway is down
    second = Gateway(cfg)
    task = await running(second)
    await wait_until(lambda: len(sos_alarms(second)) == 1, what="the SOS pressed while down")
    second.stop()
    await asyncio.wait_for(task, 20)


async def test_an_sos_at_qos0_during_the_shutdown_is_not_dropped(
    broker: DebianMosquitto, home_file: Path, tmp_path: Path
) -> None:
    """Whether it lands before the pause, while the queues drain or after the session
    closed, the press reaches the outbox of this run or of the next."""
    cfg = config(home_file, tmp_path / "data", broker, f"gw-{uuid.uuid4().hex[:8]}")
    first = Gateway(cfg)
    task = await running(first)
    first.ingest.paused = True  # what stop() does first: the pipeline drains from here on
    await zigbee2mqtt_publishes(broker, z2m(action="single", last_seen=int(time.time() * 1000)))
    await wait_until(lambda: len(first.ingest._held) == 1, what="the press held during the pause")
    first.stop()
    await asyncio.wait_for(task, 20)
    outbox = Outbox(tmp_path / "data")
    assert [a["kind"] for a in outbox.report()["alarms"]] == ["sos"]
    outbox.db.close()


async def test_a_second_gateway_on_the_same_client_id_is_named_and_stops(
    broker: DebianMosquitto,
    home_file: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service runs; an installer starts one in a terminal with the same config."""
    client_id = f"carewatch-gw-{uuid.uuid4().hex[:8]}"
    mine = settings(home_file, tmp_path / "service", broker, client_id)
    mine["broker"]["takeover_limit"] = 1000  # the one that stays
    service = Gateway(GatewayConfig.model_validate(mine))
    task = await running(service)
    foreground = settings(home_file, tmp_path / "foreground", broker, client_id)
    foreground["broker"]["takeover_limit"] = 2
    config_file = tmp_path / "gw.json"
    config_file.write_text(json.dumps(foreground))
    log = tmp_path / "foreground.log"
    caplog.set_level(logging.ERROR, logger="edge.sessionguard")
    proc = gateway_process(config_file, log)
    try:
        await wait_until(lambda: proc.poll() is not None, limit_s=60, what="the second to stop")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    err = log.read_text()
    assert proc.returncode == 1, err
    assert f"MQTT client id {client_id!r} is used by another client" in err
    assert "systemctl stop carewatch-gateway" in err
    assert f"pid {service.ingest.guard.me.pid}" in err, "the other one is named"
    assert any(client_id in r.getMessage() for r in caplog.records), "the service logged it too"
    await wait_until(lambda: service.ingest.connected, what="the service connected again")
    service.stop()
    await asyncio.wait_for(task, 20)
    assert service.fatal is None
