"""The gateway in-process against real Mosquitto and a local cloud receiver."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest

from edge.app import Gateway
from edge.outbox import Outbox
from testbed import MosquittoServer
from tests.edge.conftest import gateway_config, publish, wait_until, z2m
from tests.edge.receiver import Receiver

pytestmark = pytest.mark.services

T0 = float(int(time.time()))  # event time near the wall clock the timers follow


def sos_press(ts: float) -> tuple[str, bytes]:
    return "zigbee2mqtt/sos_button", z2m(action="emergency", battery=97, last_seen=int(ts * 1000))


def sos_cancel(ts: float) -> tuple[str, bytes]:
    return "zigbee2mqtt/sos_button", z2m(action="disarm", last_seen=int(ts * 1000))


def motion(device: str, ts: float) -> tuple[str, bytes]:
    return f"zigbee2mqtt/{device}", z2m(occupancy=True, battery=88, last_seen=int(ts * 1000))


def sos_alarms(rx: Receiver) -> list[dict[str, object]]:
    return [a for a in rx.alarms.values() if a["kind"] == "sos"]


async def start(gw: Gateway) -> asyncio.Task[None]:
    task = asyncio.create_task(gw.run())
    await asyncio.wait_for(gw.ready.wait(), 10)
    await wait_until(lambda: gw.ingest.connected, what="broker connection")
    return task


async def stop(gw: Gateway, task: asyncio.Task[None]) -> None:
    gw.stop()
    await asyncio.wait_for(task, 20)


def make_gateway(
    home_file: Path, data: Path, mosquitto: MosquittoServer, rx: Receiver | None, cred: str
) -> Gateway:
    cfg = gateway_config(home_file, data, mosquitto.url, rx.url if rx else None, cred)
    cfg.broker.client_id = f"gw-test-{uuid.uuid4().hex[:8]}"
    return Gateway(cfg)


async def test_sos_flows_while_bad_and_unknown_payloads_are_quarantined(
    mosquitto: MosquittoServer, rx: Receiver, home_file: Path, tmp_path: Path, credential: str
) -> None:
    gw = make_gateway(home_file, tmp_path / "data", mosquitto, rx, credential)
    task = await start(gw)
    await publish(
        mosquitto.port,
        [
            ("zigbee2mqtt/pir_kitchen", b"{not json"),
            ("zigbee2mqtt/stranger", z2m(occupancy=True)),
            motion("pir_bedroom", T0),
            sos_press(T0 + 1),
        ],
    )
    await wait_until(lambda: len(sos_alarms(rx)) == 1, what="the SOS alarm at the cloud")
    [alarm] = sos_alarms(rx)
    assert alarm["kind"] == "sos" and alarm["severity"] == "critical"
    assert alarm["device_id"] == "sos_button" and alarm["room"] == "bedroom"
    assert alarm["evidence"], "the alarm carries the reading that caused it"
    await publish(mosquitto.port, [sos_cancel(T0 + 5)])
    await wait_until(lambda: len(rx.updates) == 1, what="the cancel update")
    [update] = rx.updates.values()
    assert update["action"] == "cancel" and update["alarm_id"] == alarm["alarm_id"]
    await wait_until(
        lambda: any(h["quarantine_count"] >= 2 for h in rx.heartbeats), what="heartbeat"
    )
    await wait_until(lambda: gw.ingest.acked == 5, what="QoS 1 messages acked once committed")
    await stop(gw, task)
    report = Outbox(tmp_path / "data").report()
    reasons = {q["topic"]: q["reason"] for q in report["quarantine"]}
    assert reasons["zigbee2mqtt/pir_kitchen"].startswith("profile aqara-rtcgq11lm: DecodeError")
    assert "not JSON" in reasons["zigbee2mqtt/pir_kitchen"]
    assert "unknown device 'stranger'" in reasons["zigbee2mqtt/stranger"]
    assert report["alarms"][0]["state"] == "delivered"


async def test_broker_restart_is_survived(
    mosquitto: MosquittoServer, rx: Receiver, home_file: Path, tmp_path: Path, credential: str
) -> None:
    gw = make_gateway(home_file, tmp_path / "data", mosquitto, rx, credential)
    task = await start(gw)
    await asyncio.to_thread(mosquitto.restart, 0.5)
    await wait_until(lambda: gw.ingest.connects >= 2 and gw.ingest.connected, what="reconnect")
    await publish(mosquitto.port, [sos_press(T0)])
    await wait_until(lambda: len(sos_alarms(rx)) == 1, what="the SOS alarm after the restart")
    await stop(gw, task)
    states = json.loads((tmp_path / "data" / "detectors.json").read_text())["detectors"]
    [sos] = [s for s in states if s["type"] == "sos" and s["device_id"] == "sos_button"]
    assert sos["state"]["open"] is True, "detector state saved on shutdown"


async def test_long_outage_then_every_alarm_delivered_once_in_effect(
    mosquitto: MosquittoServer, rx: Receiver, home_file: Path, tmp_path: Path, credential: str
) -> None:
    rx.mode = "down"
    gw = make_gateway(home_file, tmp_path / "data", mosquitto, rx, credential)
    task = await start(gw)
    presses = []
    for i in range(6):
        presses += [sos_press(T0 + 2 * i), sos_cancel(T0 + 2 * i + 1)]
    await publish(mosquitto.port, presses)
    await wait_until(
        lambda: gw.outbox.backlog()["alarms"] == 6 and gw.outbox.backlog()["updates"] == 6,
        what="6 alarms and 6 updates pending during the outage",
    )
    await wait_until(lambda: rx.refused >= 5, what="retries against the down cloud")
    rx.mode = "lose_answers"  # the cloud stores but the answers are lost: redelivery follows
    await wait_until(lambda: len(rx.alarms) >= 1, what="the first stored alarm")
    rx.mode = "ok"
    await wait_until(
        lambda: gw.outbox.backlog() == {"alarms": 0, "updates": 0, "telemetry": 0},
        what="the outbox to drain",
    )
    assert len(sos_alarms(rx)) == 6 and len(rx.updates) == 6
    assert all(u["alarm_id"] in rx.alarms for u in rx.updates.values())
    sent = [i for post in rx.alarm_posts for i in post]
    assert len(sent) > len(set(sent)), "some alarms were redelivered, stored once"
    await stop(gw, task)


async def test_bad_credential_is_not_retried_fast(
    mosquitto: MosquittoServer, rx: Receiver, home_file: Path, tmp_path: Path
) -> None:
    gw = make_gateway(home_file, tmp_path / "data", mosquitto, rx, "cwg_gw-t1.wrong")
    gw.config.cloud.auth_retry_s = 30.0
    task = await start(gw)
    await publish(mosquitto.port, [sos_press(T0)])
    await wait_until(lambda: gw.uplink is not None and gw.uplink.failures >= 1, what="401")
    await asyncio.sleep(1.0)
    assert gw.uplink is not None and gw.uplink.failures == 1
    assert gw.outbox.backlog()["alarms"] == 1 and rx.alarms == {}
    await stop(gw, task)


async def test_systemd_ready_and_watchdog(
    mosquitto: MosquittoServer,
    home_file: Path,
    tmp_path: Path,
    credential: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    gw = make_gateway(home_file, tmp_path / "data", mosquitto, None, credential)
    task = await start(gw)
    got: list[bytes] = []

    def pings() -> bool:
        while True:
            try:
                got.append(sock.recv(200))
            except BlockingIOError:
                return got.count(b"WATCHDOG=1") >= 3

    await wait_until(pings, what="watchdog pings")
    assert got[0].startswith(b"READY=1")
    await stop(gw, task)
    sock.close()


async def test_a_chattering_bad_device_is_counted_not_written_each_time(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path, credential: str
) -> None:
    gw = make_gateway(home_file, tmp_path / "data", mosquitto, None, credential)
    task = await start(gw)
    await publish(mosquitto.port, [("zigbee2mqtt/pir_kitchen", b"\xff garbage")] * 50)
    await publish(mosquitto.port, [sos_press(T0)])
    await wait_until(lambda: gw.outbox.backlog()["alarms"] >= 1, what="the SOS after the garbage")
    assert gw.heartbeat().quarantine_count == 50
    rows = [q for q in gw.outbox.report()["quarantine"] if q["topic"] == "zigbee2mqtt/pir_kitchen"]
    assert len(rows) == 1
    await stop(gw, task)


async def test_mode_command_reaches_a_running_gateway_and_heartbeat_reports_health(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path, credential: str
) -> None:
    from edge.cli import main

    gw = make_gateway(home_file, tmp_path / "data", mosquitto, None, credential)
    task = await start(gw)
    argv = ["mode", "--data-dir", str(tmp_path / "data"), "--away", "on"]
    assert await asyncio.to_thread(main, [*argv, "--maintenance", "pir_kitchen"]) == 0
    await wait_until(lambda: gw.alarms.away and "pir_kitchen" in gw.alarms.maintenance, what="mode")
    await publish(mosquitto.port, [motion("pir_bedroom", T0)])
    await wait_until(lambda: gw.board.online(time.time()) == 1, what="a device heard")
    beat = gw.heartbeat()
    assert beat.broker_connected and beat.devices_total == 3 and beat.devices_online == 1
    assert (
        beat.disk_free_mb
        and beat.uptime_s > 0
        and set(beat.queue_depths)
        == {
            "raw",
            "readings",
            "detections",
            "records",
        }
    )
    await stop(gw, task)


async def test_topic_prefix_isolates_homes_on_a_shared_broker(
    mosquitto: MosquittoServer, rx: Receiver, home_file: Path, tmp_path: Path, credential: str
) -> None:
    gw = make_gateway(home_file, tmp_path / "data", mosquitto, rx, credential)
    gw.config.broker.topic_prefix = "flat-101/"
    task = await start(gw)
    press = sos_press(T0 + 2)
    await publish(
        mosquitto.port,
        [
            ("flat-102/" + press[0], press[1]),  # the neighbour's button: not ours
            ("flat-101/" + press[0], press[1]),
        ],
    )
    await wait_until(lambda: len(sos_alarms(rx)) == 1, what="our SOS at the cloud")
    await wait_until(lambda: gw.ingest.acked >= 1, what="the message acked")
    await stop(gw, task)
    report = Outbox(tmp_path / "data").report()
    assert len(report["alarms"]) == 1 and report["alarms"][0]["device_id"] == "sos_button"
    assert report["quarantine"] == [], "the neighbour's topics never reach this gateway"
