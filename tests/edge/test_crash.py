"""kill -9 of a gateway process mid-run loses no alarm."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from pathlib import Path

import aiomqtt
import pytest

from edge.outbox import Outbox
from testbed import MosquittoServer
from tests.edge.conftest import wait_until, z2m

pytestmark = pytest.mark.services

REPO = Path(__file__).resolve().parents[2]
CYCLES = 40


def spawn(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["carewatch-gateway", "run", "--config", str(config)],
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def alarms_in(data: Path) -> list[dict[str, object]]:
    if not (data / "outbox.sqlite3").exists():
        return []
    ob = Outbox(data)
    try:
        return [a for a in ob.report(limit=1000)["alarms"] if a["kind"] == "sos"]
    finally:
        ob.db.close()


async def play(port: int, t0: float) -> None:
    """SOS press and cancel cycles, with motion chatter between them, QoS 1."""
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for i in range(CYCLES):
            ts = t0 + i
            for j in range(20):
                payload = z2m(occupancy=True, last_seen=int((ts + j * 0.01) * 1000))
                await client.publish("zigbee2mqtt/pir_bedroom", payload, qos=1)
            await client.publish(
                "zigbee2mqtt/sos_button", z2m(action="emergency", last_seen=int(ts * 1000)), qos=1
            )
            await client.publish(
                "zigbee2mqtt/sos_button",
                z2m(action="disarm", last_seen=int((ts + 0.5) * 1000)),
                qos=1,
            )
            await asyncio.sleep(0.02)


async def test_kill_9_mid_run_loses_no_alarm(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    config = tmp_path / "gw.yaml"
    config.write_text(
        json.dumps(
            {
                "home": str(home_file),
                "data_dir": str(data),
                "broker": {"url": mosquitto.url, "client_id": f"gw-kill-{uuid.uuid4().hex[:8]}"},
                "storage": {"state_save_s": 0.5},
            }
        )
    )
    log = tmp_path / "gateway.log"
    proc = spawn(config, log)
    try:
        # Subscribed: what is published before the first session exists reaches no one.
        await wait_until(lambda: "broker connected" in log.read_text(), what="gateway subscribed")
        player = asyncio.create_task(play(mosquitto.port, float(int(time.time()))))
        await wait_until(lambda: len(alarms_in(data)) >= 5, what="first alarms committed")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert not player.done(), "the kill must land mid-run"
        proc = spawn(config, log)
        await asyncio.wait_for(player, 60)
        await wait_until(
            lambda: len(alarms_in(data)) == CYCLES, limit_s=60, what=f"{CYCLES} alarms"
        )
        alarms = alarms_in(data)
        assert all(a["kind"] == "sos" and not a["open"] for a in alarms), "each one cancelled"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0, log.read_text()[-2000:]
    assert len(alarms_in(data)) == CYCLES
