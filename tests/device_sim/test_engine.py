"""The pure simulation API: determinism, routine realism, episodes and their ground truth."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from device_sim.engine import Episode, HomeSim, SimResult, random_episodes, simulate_readings
from protocol.home import HomeManifest, load_home
from protocol.readings import ReadingKind

TZ = ZoneInfo("Asia/Shanghai")
HOMES = Path(__file__).resolve().parents[2] / "device_sim" / "homes"
START = datetime(2025, 11, 24, 0, 0, tzinfo=TZ).timestamp()
H = 3600.0


def _values(res: SimResult, device: str, kind: str, t0: float, t1: float) -> list[object]:
    return [
        r.value
        for r in res.readings
        if r.device_id == device and r.kind == kind and t0 <= r.ts < t1
    ]


def test_same_seed_same_readings_other_seed_differs(li_home: HomeManifest) -> None:
    a = simulate_readings(li_home, start=START, days=1, seed=5, accel=True)
    b = simulate_readings(li_home, start=START, days=1, seed=5, accel=True)
    c = simulate_readings(li_home, start=START, days=1, seed=6, accel=True)
    key = [(r.device_id, r.ts, str(r.kind), r.value) for r in a.readings]
    assert key == [(r.device_id, r.ts, str(r.kind), r.value) for r in b.readings]
    assert [e.to_json() for e in a.truth] == [e.to_json() for e in b.truth]
    assert key != [(r.device_id, r.ts, str(r.kind), r.value) for r in c.readings]
    blocks = [r for r in a.readings if r.kind == ReadingKind.ACCEL]
    assert blocks and all(r.samples is not None and r.samples.shape[1] == 3 for r in blocks)


def test_readings_are_time_ordered_and_cover_every_device(li_home: HomeManifest) -> None:
    res = simulate_readings(li_home, start=START, days=2, seed=1)
    ts = np.array([r.ts for r in res.readings])
    assert np.all(np.diff(ts) >= 0)
    assert ts[0] >= START and ts[-1] < START + 2 * 86400
    assert {r.device_id for r in res.readings} == {d.device_id for d in li_home.devices}
    assert not any(r.kind == ReadingKind.ACCEL for r in res.readings)


def test_routine_varies_day_to_day_with_night_visits_and_outings(li_home: HomeManifest) -> None:
    res = simulate_readings(li_home, start=START, days=14, seed=3)
    events = Counter(e.event for e in res.truth)
    assert events["wake"] >= 13 and events["night_bathroom"] >= 5 and events["go_out"] >= 3
    assert all(e.expected_alarm is None for e in res.truth)
    wakes = [datetime.fromtimestamp(e.ts, TZ) for e in res.truth if e.event == "wake"]
    minutes = np.array([w.hour * 60 + w.minute for w in wakes])
    assert minutes.std() > 5 and abs(minutes.mean() - 6.5 * 60) < 60
    door = _values(res, "li-door-front", "door_open", START, START + 14 * 86400)
    assert door.count(True) >= 2 * events["go_out"] - 2
    motion = [r for r in res.readings if r.device_id == "li-pir-living" and r.kind == "motion"]
    on = np.array([r.ts for r in motion if r.value is True])
    assert np.diff(on).min() >= 60.0  # the Aqara sensor's blind time
    hr = np.array(_values(res, "li-band", "heart_rate", START, START + 14 * 86400), dtype=float)
    assert 55 < np.median(hr) < 90 and hr.std() > 3
    worn = _values(res, "li-band", "worn", START, START + 14 * 86400)
    assert False in worn and events["charging"] >= 1


def test_stop_moving_means_no_motion_until_it_ends(li_home: HomeManifest) -> None:
    at = START + 10 * H
    ep = Episode("stop_moving", at, 3 * H, params={"room": "living_room"})
    res = simulate_readings(li_home, start=START, days=1, seed=2, episodes=[ep])
    moved = [
        r
        for r in res.readings
        if r.kind == "motion" and r.value is True and at <= r.ts < at + 3 * H
    ]
    assert moved == []
    truth = [e for e in res.truth if e.event == "stop_moving"]
    assert truth[0].expected_alarm == "inactivity" and truth[0].window_s == 3 * H


def test_fall_gives_impact_in_band_accel_and_fall_truth(li_home: HomeManifest) -> None:
    at = START + 10 * H + 123.0
    res = simulate_readings(
        li_home, start=START, days=0.5, seed=4, accel=True, episodes=[Episode("fall", at, 1200)]
    )
    near = [r for r in res.readings if r.kind == "accel" and at - 10 <= r.ts <= at + 40]
    peak = max(
        float(np.linalg.norm(r.samples, axis=1).max()) for r in near if r.samples is not None
    )
    assert peak > 3.0
    fall = next(e for e in res.truth if e.event == "fall")
    assert (fall.device_id, fall.expected_alarm, fall.ts) == ("li-band", "fall", at)


def test_fall_recovered_is_a_hint_on_a_pendant_and_a_fall_on_a_band(
    li_home: HomeManifest, wang_home: HomeManifest
) -> None:
    """The pendant wearer is upright again within seconds of the impact (the accel's
    gravity back along the standing axis); a wristband's angle says nothing of posture."""
    at = START + 10 * H + 77.0
    eps = [Episode("fall_recovered", at)]
    pendant = simulate_readings(wang_home, start=START, days=0.5, seed=4, accel=True, episodes=eps)
    [truth] = [e for e in pendant.truth if e.event == "fall_recovered"]
    assert (truth.device_id, truth.expected_alarm) == ("wang-pendant", "fall_recovered")
    blocks = [r for r in pendant.readings if r.kind == "accel" and at - 5 <= r.ts <= at + 12]
    x = np.vstack([r.samples for r in blocks if r.samples is not None])
    assert float(np.linalg.norm(x, axis=1).max()) > 1.5  # the impact
    upright = np.array([0.0, -1.0, 0.0])
    last = np.vstack([r.samples for r in blocks[-2:] if r.samples is not None]).mean(axis=0)
    assert float(last @ upright / np.linalg.norm(last)) > 0.9  # standing again
    band = simulate_readings(li_home, start=START, days=0.5, seed=4, accel=True, episodes=eps)
    [truth] = [e for e in band.truth if e.event == "fall_recovered"]
    assert (truth.device_id, truth.expected_alarm) == ("li-band", "fall")


@pytest.mark.parametrize(
    ("kind", "kind_read", "check"),
    [
        ("tachycardia", "heart_rate", lambda v: np.median(v) > 130),
        ("bradycardia", "heart_rate", lambda v: np.median(v) < 45),
        ("spo2_low", "spo2", lambda v: np.median(v) < 90),
    ],
)
def test_vital_episodes(li_home: HomeManifest, kind: str, kind_read: str, check: object) -> None:
    at = START + 15 * H
    res = simulate_readings(
        li_home, start=START, days=1, seed=7, episodes=[Episode(kind, at, 1800)]
    )
    inside = np.array(_values(res, "li-band", kind_read, at + 300, at + 1500), dtype=float)
    before = np.array(_values(res, "li-band", kind_read, at - 3600, at - 300), dtype=float)
    assert len(inside) >= 4 and check(inside) and not check(before)  # type: ignore[operator]
    assert next(e for e in res.truth if e.event == kind).expected_alarm is not None


def test_device_episodes_silence_drain_and_take_off(li_home: HomeManifest) -> None:
    eps = [
        Episode("device_offline", START + 2 * H, 4 * H, "li-pir-kitchen"),
        Episode("battery_die", START + 8 * H, 2 * H, "li-band"),
        Episode("off_wrist", START + 4 * H, 2 * H, "li-band"),
        Episode("sos", START + 3 * H),
    ]
    res = simulate_readings(li_home, start=START, days=0.75, seed=8, episodes=eps)
    kitchen = [r.ts for r in res.readings if r.device_id == "li-pir-kitchen"]
    assert not any(START + 2 * H <= t < START + 6 * H for t in kitchen)
    band = [r for r in res.readings if r.device_id == "li-band"]
    assert not any(r.ts >= START + 10 * H for r in band)
    battery = [float(str(r.value)) for r in band if r.kind == "battery" and r.ts >= START + 9.5 * H]
    assert battery and max(battery) < 30
    assert _values(res, "li-band", "worn", START + 4.2 * H, START + 5.8 * H) == [False] * len(
        _values(res, "li-band", "worn", START + 4.2 * H, START + 5.8 * H)
    )
    assert _values(res, "li-sos-button", "sos", START, START + 86400) == [True]
    expected = {e.event: e.expected_alarm for e in res.truth if e.expected_alarm}
    [silent] = [e for e in res.truth if e.event == "device_offline"]
    assert silent.details["offline_after_s"] == 25 * H  # a battery Zigbee device: Z2M's 25 h
    assert expected == {
        "battery_low": "battery_low",
        "battery_dead": "device_offline",
        "off_wrist": "off_wrist",
        "sos": "sos",
    }


def test_radar_home_sees_fall_and_presence(wang_home: HomeManifest) -> None:
    at = START + 9 * H
    ep = Episode("fall", at, 1800, params={"room": "bathroom"})
    res = simulate_readings(wang_home, start=START, days=0.5, seed=9, episodes=[ep])
    flags = [(r.ts, r.value) for r in res.readings if r.kind == "radar_fall"]
    assert flags and flags[0][1] is True and at < flags[0][0] < at + 60
    present = _values(res, "wang-radar-bathroom", "presence", at + 60, at + 1700)
    assert present and set(present) == {True}  # the fallen resident stays in view
    breathing = _values(res, "wang-radar-bed", "breathing_rate", START, START + 5 * H)
    assert breathing and 8 < float(np.median(np.array(breathing, dtype=float))) < 20


def test_random_episodes_do_not_overlap_and_replay(li_home: HomeManifest) -> None:
    eps = random_episodes(li_home, start=START, days=20, seed=1, per_day=1.0)
    assert len(eps) >= 5
    for a, b in itertools.pairwise(eps):
        assert a.at + a.length_s <= b.at
    assert eps == random_episodes(li_home, start=START, days=20, seed=1, per_day=1.0)
    sim = HomeSim(li_home, start=START, end=START + 20 * 86400, seed=1, episodes=eps)
    assert sum(1 for e in sim.truth if e.expected_alarm) >= len(eps) // 2


def test_bad_episode_is_refused_with_its_name(li_home: HomeManifest) -> None:
    with pytest.raises(ValueError, match="episode kind 'faint' is unknown"):
        Episode("faint", START)
    with pytest.raises(ValueError, match="outside the simulated span"):
        simulate_readings(li_home, start=START, days=1, seed=1, episodes=[Episode("sos", 0.0)])
    with pytest.raises(ValueError, match="device 'nope' is not in the manifest"):
        simulate_readings(
            li_home, start=START, days=1, seed=1, episodes=[Episode("sos", START + 10, 0, "nope")]
        )


def test_healthy_devices_never_fall_silent_longer_than_their_heartbeat() -> None:
    for path in sorted(HOMES.glob("*.yaml")):
        home = load_home(path)
        sim = HomeSim(home, start=START, end=START + 2 * 86400, seed=1)
        for dev in sim.devices:
            t = np.array([r.ts for r in dev.reports(sim.start, sim.end)])
            gaps = np.diff(np.concatenate([[sim.start], t, [sim.end]]))
            limit = sim.specs[dev.device_id].heartbeat_interval_s
            assert limit is not None and gaps.max() <= limit, (path.name, dev.device_id)


def test_pir_clears_motion_after_its_hold_time(li_home: HomeManifest) -> None:
    res = simulate_readings(li_home, start=START, days=2, seed=12)
    motion = [
        (r.ts, r.value)
        for r in res.readings
        if r.device_id == "li-pir-kitchen" and r.kind == "motion"
    ]
    clears = [i for i, (_, v) in enumerate(motion) if v is False]
    assert len(clears) > 10
    for i in clears:
        assert motion[i - 1][1] is True and motion[i][0] - motion[i - 1][0] == pytest.approx(90.0)


def test_routine_events_inside_an_incident_do_not_happen(li_home: HomeManifest) -> None:
    ep = Episode("stop_moving", START + 5 * H, 20 * H)
    res = simulate_readings(li_home, start=START, days=1, seed=3, episodes=[ep])
    events = {e.event for e in res.truth}
    assert "stop_moving" in events and not events & {"wake", "go_out", "nap"}
