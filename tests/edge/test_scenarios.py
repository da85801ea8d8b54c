"""Simulator scenarios played through real Mosquitto into a gateway process (`--clock sim`)
produce the expected alarms in its outbox."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from edge.outbox import Outbox
from testbed import MosquittoServer

pytestmark = [pytest.mark.services, pytest.mark.slow]


def scenarios() -> dict[str, dict[str, object]]:
    out = subprocess.run(
        ["carewatch-sim", "scenarios", "--json"], capture_output=True, check=True, timeout=60
    ).stdout
    return {s["name"]: s for s in json.loads(out)}


@pytest.mark.parametrize(("name", "speed"), [("sos", "200"), ("fall_no_movement", "300")])
def test_scenario_raises_its_expected_alarms(
    name: str, speed: str, mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    scenario = scenarios()[name]
    data, truth, log = tmp_path / "data", tmp_path / "truth.jsonl", tmp_path / "gw.log"
    gateway = subprocess.Popen(
        [
            *("carewatch-gateway", "run", "--home", str(scenario["home"])),
            *("--broker", mosquitto.url, "--data-dir", str(data), "--clock", "sim"),
        ],
        stderr=log.open("w"),
    )
    try:
        for _ in range(300):  # bounded: 30 s for start-up
            if "gateway running" in log.read_text() or gateway.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        subprocess.run(
            [
                *("carewatch-sim", "run", name, "--broker", mosquitto.url, "--speed", speed),
                *("--truth", str(truth), "--quiet"),
            ],
            check=True,
            timeout=120,
            capture_output=True,
        )
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=30)
    assert gateway.returncode == 0, log.read_text()[-3000:]
    ob = Outbox(data)
    alarms = ob.report(limit=1000)["alarms"]
    bodies = {p.id: json.loads(p.body) for p in ob.pending_alarms(1000)}
    ob.close()
    expected = [json.loads(line) for line in truth.read_text().splitlines()]
    expected = [e for e in expected if e.get("expected_alarm")]
    assert expected, "the scenario states what it expects"
    for event in expected:
        found = [
            a
            for a in alarms
            if a["kind"] == event["expected_alarm"]
            and a["device_id"] == event["device_id"]
            and event["ts"] - 5
            <= datetime.fromisoformat(bodies[a["alarm_id"]]["raised_at"]).timestamp()
            <= event["ts"] + event["window_s"]
        ]
        assert len(found) == 1, f"{name}: expected one {event['expected_alarm']} alarm: {alarms}"
        if event["expected_alarm"] in ("sos", "fall"):
            assert found[0]["current_severity"] == "critical"
