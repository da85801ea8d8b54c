"""Fleets of homes at a bounded rate, and replays of recorded accelerometer trials."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from device_sim.cli import main
from device_sim.datasets import DatasetError, list_trials, load_trial
from device_sim.fleet import fleet_homes
from device_sim.replay import TrialSource
from protocol.home import HomeManifest
from testbed import MosquittoServer

from .conftest import Recorder, decode_all

pytestmark = pytest.mark.services


def test_fleet_of_200_homes_at_a_bounded_rate(
    mosquitto: MosquittoServer,
    recorder_factory: type[Recorder],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rec = recorder_factory(mosquitto.port)
    truth = tmp_path / "fleet.jsonl"
    argv = [
        "fleet",
        "--homes",
        "200",
        "--duration",
        "10m",
        "--speed",
        "600",
        "--seed",
        "1",
        "--start",
        "2025-11-24T09:00:00",
        "--max-rate",
        "3000",
        "--no-accel",
        "--broker",
        mosquitto.url,
        "--truth",
        str(truth),
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err
    m = re.search(r"published (\d+) messages in ([\d.]+) s", err)
    assert m is not None and "built 200 homes" in err
    sent, wall = int(m[1]), float(m[2])
    assert sent > 2000
    assert sent / wall <= 3000 * 1.15  # the bound holds (a slower machine only lowers it)
    start = 1763946000.0  # 2025-11-24T09:00 Asia/Shanghai
    rec.wait_clock(start + 600, timeout_s=20)
    msgs = rec.device_messages()
    homes = {re.search(r"f\d{5}", t)[0] for t, _ in msgs if re.search(r"f\d{5}", t)}  # type: ignore[index]
    assert len(homes) == 200
    lines = [json.loads(x) for x in truth.read_text().splitlines()]
    assert lines and all(x["home_id"].startswith("home-f") for x in lines)


def test_fleet_homes_are_distinct(li_home: HomeManifest, wang_home: HomeManifest) -> None:
    homes = fleet_homes([li_home, wang_home], 50, seed=2)
    assert len({h.home_id for h in homes}) == 50
    ids = [d.device_id for h in homes for d in h.devices]
    assert len(ids) == len(set(ids))
    assert len({(h.coordinates.lat, h.coordinates.lon) for h in homes}) == 50
    assert fleet_homes([li_home, wang_home], 50, seed=2) == homes


def test_load_trials_in_g_with_fall_onsets(datasets_dir: Path) -> None:
    weda = load_trial(datasets_dir, "weda-fall", "F01/U01_R01", 25.0)
    assert weda.fall_at_s == pytest.approx(4.7) and weda.samples.shape[1] == 3
    still = np.linalg.norm(weda.samples[:10], axis=1).mean()
    assert 0.8 < still < 1.2  # gravity, in g
    sis = load_trial(datasets_dir, "sisfall", "F01_SA01_R01", 100.0)
    assert sis.fall_at_s is not None and 0 < sis.fall_at_s < sis.duration_s
    assert sis.duration_s == pytest.approx(15.0, abs=0.1)
    assert "F01/U01_R01" in list_trials(datasets_dir, "weda-fall")
    with pytest.raises(DatasetError, match=r"U99_R01_accel\.csv"):
        load_trial(datasets_dir, "weda-fall", "F01/U99_R01", 25.0)


def test_replay_publishes_the_trial_as_the_band(
    mosquitto: MosquittoServer,
    recorder_factory: type[Recorder],
    datasets_dir: Path,
    tmp_path: Path,
    li_home: HomeManifest,
) -> None:
    rec = recorder_factory(mosquitto.port)
    truth = tmp_path / "replay.jsonl"
    argv = [
        "replay",
        "weda-fall",
        "F01/U01_R01",
        "--datasets",
        str(datasets_dir),
        "--start",
        "2025-11-24T10:00:00",
        "--speed",
        "20",
        "--broker",
        mosquitto.url,
        "--truth",
        str(truth),
        "--quiet",
    ]
    assert main(argv) == 0
    trial = load_trial(datasets_dir, "weda-fall", "F01/U01_R01", 25.0)
    src = TrialSource(trial, home_id="home-li", device_id="li-band", start=1763949600.0)
    rec.wait_clock(src.end)
    readings, failed = decode_all([li_home], rec.device_messages())
    blocks = [r for r in readings if r.is_block]
    assert failed == [] and {r.device_id for r in blocks} == {"li-band"}
    got = np.concatenate([r.samples for r in sorted(blocks, key=lambda r: r.ts)])
    assert got.shape == trial.samples.shape
    assert np.allclose(got, trial.samples, atol=0.01)
    event = json.loads(truth.read_text().splitlines()[0])
    assert event["expected_alarm"] == "fall" and event["ts"] == pytest.approx(1763949604.7)


def test_fall_episode_can_replay_a_recorded_trial(
    datasets_dir: Path, li_home: HomeManifest
) -> None:
    from device_sim.engine import Episode, simulate_readings

    at = 1763949600.0 + 600
    ep = Episode("fall", at, 600, params={"replay": "weda-fall:F01/U01_R01"})
    res = simulate_readings(
        li_home,
        start=1763949600.0,
        days=0.05,
        seed=1,
        accel=True,
        episodes=[ep],
        datasets_dir=datasets_dir,
    )
    trial = load_trial(datasets_dir, "weda-fall", "F01/U01_R01", 25.0)
    first = next(r for r in res.readings if r.is_block and r.ts >= at - 4.7 - 1e-6)
    assert first.samples is not None
    assert np.allclose(first.samples, trial.samples[: len(first.samples)])
