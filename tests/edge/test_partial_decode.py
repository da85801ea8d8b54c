"""A message with one bad field still delivers the rest: the SOS beside a bad battery value."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.app import Gateway
from edge.outbox import Outbox
from testbed import MosquittoServer
from tests.edge.conftest import gateway_config, publish, wait_until, z2m
from tests.edge.receiver import Receiver, serve

pytestmark = pytest.mark.services


@pytest.fixture
async def rx(credential: str) -> AsyncIterator[Receiver]:
    async with serve(Receiver(credential)) as receiver:
        yield receiver


async def test_sos_with_a_bad_battery_and_an_iso_last_seen_is_raised_and_recorded(
    mosquitto: MosquittoServer, rx: Receiver, home_file: Path, tmp_path: Path, credential: str
) -> None:
    cfg = gateway_config(home_file, tmp_path / "data", mosquitto.url, rx.url, credential)
    cfg.broker.client_id = f"gw-test-{uuid.uuid4().hex[:8]}"
    gw = Gateway(cfg)
    task = asyncio.create_task(gw.run())
    await asyncio.wait_for(gw.ready.wait(), 10)
    await wait_until(lambda: gw.ingest.connected, what="broker connection")
    now = time.gmtime(time.time())
    iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", now)
    payload = z2m(action="emergency", battery="unknown", last_seen=iso, new_key={"x": 1})
    await publish(mosquitto.port, [("zigbee2mqtt/sos_button", payload)])
    await wait_until(
        lambda: any(a["kind"] == "sos" for a in rx.alarms.values()), what="the SOS alarm"
    )
    gw.stop()
    await asyncio.wait_for(task, 20)
    [row] = Outbox(tmp_path / "data").report()["quarantine"]
    assert row["topic"] == "zigbee2mqtt/sos_button"
    assert "PartialDecodeError" in row["reason"] and "'battery'" in row["reason"]
