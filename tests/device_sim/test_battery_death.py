"""A battery dies once: later battery_die episodes of a dead device cannot happen."""

from __future__ import annotations

from pathlib import Path


def test_a_device_dies_once_and_truth_keeps_each_death_time() -> None:
    from device_sim.engine import Episode, simulate_readings
    from protocol import load_home

    home = load_home(Path(__file__).resolve().parents[2] / "device_sim/homes/flat_li.yaml")
    day = 1_763_942_400.0
    eps = [
        Episode("battery_die", at=day + 3600, duration_s=3600, device_id="li-band"),
        Episode("battery_die", at=day + 6 * 3600, duration_s=3600, device_id="li-band"),
    ]
    res = simulate_readings(home, start=day, days=0.5, seed=1, episodes=eps)
    deaths = [t.ts for t in res.truth if t.event == "battery_dead"]
    assert deaths == [day + 2 * 3600]  # the second episode cannot happen to a dead band
    assert not [r for r in res.readings if r.device_id == "li-band" and r.ts >= deaths[0]]
