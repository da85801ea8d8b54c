"""Scenarios through a real Mosquitto: messages decode, the clock follows, truth is written."""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from device_sim.cli import main
from device_sim.encode import Encoder
from device_sim.engine import HomeSim
from device_sim.mqtt import BrokerConfig, Publisher
from device_sim.player import Player
from device_sim.scenario import builtin_paths, load_scenario
from protocol.home import HomeManifest
from testbed import MosquittoServer

from .conftest import Recorder, decode_all

pytestmark = pytest.mark.services
HOMES = Path(__file__).resolve().parents[2] / "device_sim" / "homes"


def _builtin(name: str) -> Path:
    return next(p for p in builtin_paths() if p.stem == name)


def test_sos_scenario_decodes_and_follows_the_clock(
    mosquitto: MosquittoServer,
    recorder_factory: type[Recorder],
    tmp_path: Path,
    wang_home: HomeManifest,
) -> None:
    sc = load_scenario(_builtin("sos"))
    rec = recorder_factory(mosquitto.port)
    truth = tmp_path / "truth.jsonl"
    argv = [
        "run",
        "sos",
        "--broker",
        mosquitto.url,
        "--speed",
        "1500",
        "--seed",
        "3",
        "--truth",
        str(truth),
        "--quiet",
    ]
    assert main(argv) == 0
    rec.wait_clock(sc.end)
    readings, failed = decode_all([wang_home], rec.all_messages())
    assert failed == []
    assert {r.device_id for r in readings} == {d.device_id for d in wang_home.devices}
    assert all(sc.start <= r.ts < sc.end for r in readings)
    sos = [r for r in readings if r.kind == "sos" and r.value is True]
    assert [r.device_id for r in sos] == ["wang-cord-bathroom"]
    clocks = rec.clocks()
    assert clocks == sorted(clocks) and clocks[0] == sc.start and clocks[-1] == sc.end
    assert len(clocks) >= (sc.end - sc.start) * 0.9  # at least every simulated second
    lines = [json.loads(x) for x in truth.read_text().splitlines()]
    assert {"ts", "home_id", "event", "device_id", "expected_alarm", "window_s"} <= set(lines[0])
    assert [x["expected_alarm"] for x in lines if x["event"] == "sos"] == ["sos"]
    late = recorder_factory(mosquitto.port)  # the clock is retained for late joiners
    late.wait_clock(sc.end, timeout_s=3, retained=True)
    assert late.clocks(retained=True) == [sc.end]


def test_same_seed_publishes_the_same_messages(
    mosquitto: MosquittoServer, recorder_factory: type[Recorder]
) -> None:
    runs = []
    for _ in range(2):
        rec = recorder_factory(mosquitto.port)
        argv = [
            "run",
            "fall_no_movement",
            "--broker",
            mosquitto.url,
            "--speed",
            "3000",
            "--seed",
            "11",
            "--duration",
            "12m",
            "--quiet",
        ]
        assert main(argv) == 0
        sc = load_scenario(_builtin("fall_no_movement"))
        rec.wait_clock(sc.start + 720)
        runs.append(sorted(rec.device_messages()))
        rec.close()
    assert runs[0] == runs[1] and len(runs[0]) > 20


def test_faults_and_broker_restart_mid_run(
    tmp_path: Path, recorder_factory: type[Recorder], li_home: HomeManifest
) -> None:
    scenario = tmp_path / "faults.yaml"
    scenario.write_text(f"""\
name: faults
description: faults under test
home: {HOMES / "flat_li.yaml"}
start: "2025-11-24T09:00:00"
duration: 30m
seed: 4
faults:
  - {{kind: malformed, rate: 0.05}}
  - {{kind: duplicate, rate: 0.08}}
  - {{kind: out_of_order, rate: 0.1, params: {{max_delay_s: 40}}}}
  - {{kind: broker_restart, at: +15m}}
""")
    sc = load_scenario(scenario)
    with MosquittoServer() as server:
        rec = recorder_factory(server.port)
        sim = HomeSim(sc.home, start=sc.start, end=sc.end, seed=sc.seed, accel=True)
        pub = Publisher(BrokerConfig.from_url(server.url), reconnect_timeout_s=20)
        player = Player(
            sources=[sim],
            encoder=Encoder([sc.home]),
            publisher=pub,
            start=sc.start,
            end=sc.end,
            speed=600,
            faults=sc.faults,
            seed=sc.seed,
            home_of={d.device_id: sc.home.home_id for d in sc.home.devices},
            on_restart=lambda fault: server.restart(down_for=0.3),
        )
        pub.connect()
        try:
            stats = player.run()
        finally:
            pub.close()
        rec.wait_clock(sc.end)
        assert stats.reconnects >= 1 and stats.sim_end == sc.end
        assert max(rec.clocks()) == sc.end
        msgs = rec.device_messages()
    restart_at = sc.start + 900
    readings, failed = decode_all([li_home], msgs)
    assert any(r.ts > restart_at + 60 for r in readings)  # carried on after the restart
    kinds = Counter(e.event for e in stats.truth)
    assert kinds["fault_malformed"] and kinds["fault_duplicate"] and kinds["fault_out_of_order"]
    assert kinds["fault_broker_restart"] == 1
    assert 0 < len(failed) <= kinds["fault_malformed"]
    assert max(Counter(msgs).values()) >= 2
    late = 0
    for topic in {t for t, _ in msgs}:
        ts = np.array(
            [
                r.ts
                for r in decode_all([li_home], [m for m in msgs if m[0] == topic])[0]
                if not r.is_block
            ]
        )
        late += int(np.sum(np.diff(ts) < 0))
    assert late > 0


def test_user_and_password(capsys: pytest.CaptureFixture[str]) -> None:
    with MosquittoServer(passwords={"sim": "s3cret"}) as server:
        good = f"mqtt://sim:s3cret@127.0.0.1:{server.port}"
        argv = ["run", "sos", "--broker", good, "--speed", "5000", "--duration", "2m", "--quiet"]
        assert main(argv) == 0
        bad = [
            "run",
            "sos",
            "--broker",
            f"mqtt://127.0.0.1:{server.port}",
            "--username",
            "sim",
            "--password",
            "wrong",
            "--speed",
            "5000",
            "--duration",
            "2m",
            "--quiet",
            "--reconnect-timeout",
            "2",
        ]
        assert main(bad) == 1
        assert "refused" in capsys.readouterr().err


def test_sigterm_stops_cleanly_and_keeps_the_truth(
    mosquitto: MosquittoServer, recorder_factory: type[Recorder], tmp_path: Path
) -> None:
    sc = load_scenario(_builtin("normal_day"))
    rec = recorder_factory(mosquitto.port)
    truth = tmp_path / "truth.jsonl"
    proc = subprocess.Popen(
        [
            "carewatch-sim",
            "run",
            "normal_day",
            "--broker",
            mosquitto.url,
            "--speed",
            "4000",
            "--truth",
            str(truth),
            "--quiet",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        rec.wait_clock(sc.start + 7.5 * 3600, timeout_s=30)  # she is up by then
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    events = [json.loads(x)["event"] for x in truth.read_text().splitlines()]
    assert "wake" in events
    assert max(rec.clocks()) < sc.end


def test_two_scenarios_side_by_side_on_one_clock(
    mosquitto: MosquittoServer,
    recorder_factory: type[Recorder],
    tmp_path: Path,
    li_home: HomeManifest,
    wang_home: HomeManifest,
) -> None:
    sos, fall = load_scenario(_builtin("sos")), load_scenario(_builtin("fall_no_movement"))
    rec = recorder_factory(mosquitto.port)
    truth = tmp_path / "truth.jsonl"
    argv = [
        "run",
        "sos",
        "fall_no_movement",
        "--broker",
        mosquitto.url,
        "--speed",
        "6000",
        "--truth",
        str(truth),
        "--quiet",
    ]
    assert main(argv) == 0
    rec.wait_clock(fall.end)
    clocks = rec.clocks()
    assert clocks == sorted(clocks) and (clocks[0], clocks[-1]) == (sos.start, fall.end)
    readings, failed = decode_all([li_home, wang_home], rec.all_messages())
    assert failed == [] and {r.device_id.split("-")[0] for r in readings} == {"li", "wang"}
    expected = {
        (x["event"], x["home_id"])
        for x in map(json.loads, truth.read_text().splitlines())
        if x["expected_alarm"]
    }
    assert expected == {("sos", "home-wang"), ("fall", "home-li")}
    assert main(["run", "sos", "sos", "--broker", mosquitto.url, "--quiet"]) == 2
