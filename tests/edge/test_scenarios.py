"""Simulator scenarios played through real Mosquitto into a gateway process (`--clock sim`,
flags only) that delivers to the local cloud receiver: the expected alarms, the same ones
at any speed, and per-minute telemetry."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.outbox import Outbox
from protocol import load_home
from protocol.api import make_credential
from testbed import MosquittoServer
from tests.edge.receiver import Receiver, serve

pytestmark = [pytest.mark.services, pytest.mark.slow]


@dataclass
class Run:
    """What one scenario run left: alarms in the outbox, what the cloud got, the truth."""

    alarms: list[dict[str, object]]
    raised: dict[str, float]
    truth: list[dict[str, object]]
    cloud: Receiver
    telemetry_pending: list[str]  # minutes of the batches still in the outbox


def scenarios() -> dict[str, dict[str, object]]:
    out = subprocess.run(
        ["carewatch-sim", "scenarios", "--json"], capture_output=True, check=True, timeout=60
    ).stdout
    return {s["name"]: s for s in json.loads(out)}


def wait_for_start(log: Path, proc: subprocess.Popen[bytes]) -> None:
    """Until the gateway is subscribed: what is published before its first session exists
    reaches no one."""
    for _ in range(300):  # at least 30 s
        if "broker connected" in log.read_text() or proc.poll() is not None:
            return
        time.sleep(0.1)


async def play(name: str, speed: int, tmp: Path) -> Run:
    """Play a scenario on a broker of its own (no session or retained clock of another run)."""
    with MosquittoServer() as broker:
        return await play_on(name, speed, broker, tmp)


async def play_on(name: str, speed: int, broker: MosquittoServer, tmp: Path) -> Run:
    home = str(scenarios()[name]["home"])
    await asyncio.to_thread(tmp.mkdir, parents=True, exist_ok=True)
    data, truth, log = tmp / "data", tmp / "truth.jsonl", tmp / "gw.log"
    cred = make_credential("gw-scenario")
    async with serve(Receiver(cred)) as rx:
        gateway = await asyncio.to_thread(
            subprocess.Popen,
            [
                *("carewatch-gateway", "run", "--home", home, "--broker", broker.url),
                *("--data-dir", str(data), "--clock", "sim", "--cloud", rx.url),
            ],
            stderr=log.open("w"),
            env={**os.environ, "CAREWATCH_GATEWAY_CREDENTIAL": cred},
        )
        try:
            await asyncio.to_thread(wait_for_start, log, gateway)
            sim = [
                *("carewatch-sim", "run", name, "--broker", broker.url, "--speed", str(speed)),
                *("--truth", str(truth), "--quiet"),
            ]
            await asyncio.to_thread(
                subprocess.run, sim, check=True, timeout=120, capture_output=True
            )
            await asyncio.sleep(1.0)
        finally:
            gateway.send_signal(signal.SIGTERM)
            await asyncio.to_thread(gateway.wait, 30)
    assert gateway.returncode == 0, log.read_text()[-3000:]
    ob = Outbox(data)
    alarms = ob.report(limit=1000)["alarms"]
    raised = {
        a_id: datetime.fromisoformat(body["raised_at"]).timestamp()
        for a_id, body in (
            (r[0], json.loads(r[1])) for r in ob.db.execute("SELECT alarm_id, body FROM alarms")
        )
    }
    pending = [
        p["minute"]
        for (body,) in ob.db.execute("SELECT body FROM telemetry WHERE state = 'pending'")
        for p in json.loads(body)["points"]
    ]
    ob.close()
    events = [json.loads(line) for line in truth.read_text().splitlines()]
    return Run(alarms, raised, [e for e in events if e.get("expected_alarm")], rx, pending)


@pytest.mark.parametrize(("name", "speed"), [("sos", 400), ("device_offline", 2000)])
async def test_scenario_raises_its_expected_alarms(name: str, speed: int, tmp_path: Path) -> None:
    run = await play(name, speed, tmp_path)
    assert run.truth, "the scenario states what it expects"
    for event in run.truth:
        found = [
            a
            for a in run.alarms
            if a["kind"] == event["expected_alarm"]
            and a["device_id"] == event["device_id"]
            and event["ts"] - 5 <= run.raised[str(a["alarm_id"])] <= event["ts"] + event["window_s"]
        ]
        assert len(found) == 1, f"{name}: one {event['expected_alarm']} alarm: {run.alarms}"
        expected_severity = "critical" if event["expected_alarm"] == "sos" else "warning"
        assert found[0]["current_severity"] == expected_severity


async def test_same_alarms_at_any_speed_and_telemetry_reaches_the_cloud(tmp_path: Path) -> None:
    slow = await play("sos", 100, tmp_path / "slow")
    fast = await play("sos", 500, tmp_path / "fast")

    keys = {str(a["key"]) for a in slow.alarms}  # the cloud ids are random; the keys are not
    assert keys and keys == {str(a["key"]) for a in fast.alarms}, [
        (a["kind"], a["device_id"], slow.raised[str(a["alarm_id"])]) for a in slow.alarms
    ]
    delivered = {str(a["alarm_id"]) for a in fast.alarms if a["state"] == "delivered"}
    assert delivered == set(fast.cloud.alarms) == {str(a["alarm_id"]) for a in fast.alarms}
    points = [p for batch in slow.cloud.telemetry.values() for p in batch["points"]]
    minutes = {p["minute"] for p in points}
    start = float(str(scenarios()["sos"]["start"]))
    # Every minute closed in play was delivered; only the last one, flushed when the gateway
    # stops (a wifi_signal or battery report landed in it), may wait for the next start.
    last = datetime.fromtimestamp(start + 19 * 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(minutes) >= 5 and set(slow.telemetry_pending) <= {last}, "minutes delivered"
    assert all(start <= datetime.fromisoformat(m).timestamp() < start + 20 * 60 for m in minutes), (
        "event-time minutes of the 20 simulated minutes, not wall-clock ones"
    )
    assert "battery" in {p["metric"] for p in points}
    rooms = {d.device_id: d.room for d in load_home(str(scenarios()["sos"]["home"])).devices}
    assert all(p["room"] == rooms[p["device_id"]] and p["count"] >= 1 for p in points)
    assert slow.cloud.heartbeats and slow.cloud.heartbeats[-1]["devices_total"] > 0


async def test_a_pendant_wearer_who_gets_straight_back_up_is_a_hint(tmp_path: Path) -> None:
    """The simulator's fall_recovered episode, through the gateway: one info-severity
    fall_recovered hint from the pendant within the episode's window, and no fall alarm."""
    run = await play("fall_recovered", 100, tmp_path)
    [event] = run.truth
    assert event["expected_alarm"] == "fall_recovered" and event["device_id"] == "wang-pendant"
    hints = [
        a
        for a in run.alarms
        if a["kind"] == "fall_recovered"
        and a["device_id"] == "wang-pendant"
        and event["ts"] - 5 <= run.raised[str(a["alarm_id"])] <= event["ts"] + event["window_s"]
    ]
    assert len(hints) == 1, run.alarms
    assert hints[0]["current_severity"] == "info"
    assert not [a for a in run.alarms if a["kind"] == "fall"], run.alarms
