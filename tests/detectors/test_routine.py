"""Sleep and wake learned from the home's own events, not given by the installer."""

from __future__ import annotations

import json

import numpy as np

from edge.detectors import Detection
from edge.detectors.home import HomeContext
from edge.detectors.inactivity import InactivityDetector
from edge.detectors.night_wandering import NightWanderingDetector
from edge.detectors.signal import hm_to_hours
from protocol import Reading, ReadingKind

DAY = 86400.0
DAY0 = 1_700_000_000.0 - 1_700_000_000.0 % DAY + DAY  # a UTC midnight
HOME = HomeContext(rooms={"pir-kitchen": "kitchen", "pir-bed": "bedroom", "pir-hall": "hall"})


def night_owl(days: int, *, wander_on: int | None = None) -> list[float]:
    """Up from 12:00 to 02:00 (the prior says 07:00 to 22:30), moving every 20 minutes
    through three rooms, with a quiet hour from 22:00; on day ``wander_on`` walking about
    from 05:00 to 05:40, every two minutes."""
    times = []
    for d in range(days):
        day = np.arange(12 * 3600, 26 * 3600, 1200.0)
        times += list(DAY0 + d * DAY + day[(day < 22 * 3600) | (day >= 23 * 3600)])
    if wander_on is not None:
        times += list(DAY0 + (wander_on + 1) * DAY + np.arange(5 * 3600, 5.67 * 3600, 120.0))
    return sorted(times)


def run(det: InactivityDetector | NightWanderingDetector, times: list[float]) -> list[Detection]:
    out: list[Detection] = []
    rooms = ["pir-kitchen", "pir-hall", "pir-bed"]
    tick = DAY0
    for i, t in enumerate(times):
        while tick < t:
            out += det.tick(tick)
            tick += 60.0
        out += det.feed(Reading(rooms[i % 3], t, ReadingKind.MOTION, value=True))
    return out


def test_a_late_riser_is_not_called_not_up_once_the_home_has_taught_its_hours() -> None:
    det = InactivityDetector(home=HOME)
    out = run(det, night_owl(12))
    late = [d for d in out if d.active and d.kind == "not_up"]
    assert late, "the prior (wake 07:00) must call the late riser at first"
    assert max(d.ts for d in late) < DAY0 + 4 * DAY  # only while learning
    assert abs(hm_to_hours(det.home.wake) - 12.0) < 0.5
    assert abs(hm_to_hours(det.home.sleep) - 1.67) < 0.5  # 01:40, the last one before 02:00


def test_the_learned_hours_survive_a_restart() -> None:
    det = InactivityDetector(home=HOME)
    run(det, night_owl(6))
    again = InactivityDetector(home=HOME)
    again.restore(json.loads(json.dumps(det.state(), allow_nan=False)))
    assert (again.home.sleep, again.home.wake) == (det.home.sleep, det.home.wake)
    assert again.home.wake != HOME.wake


def test_night_wandering_keeps_to_the_home_s_own_night() -> None:
    det = NightWanderingDetector(home=HOME)
    # busy through three rooms from 23:00 to 02:00 after a quiet hour: their evening, in
    # the prior's night; walking about at 05:00 on day 10: their night
    out = run(det, night_owl(12, wander_on=10))
    starts = [d.ts for d in out if d.active]
    assert len(starts) == 1 and DAY0 + 11 * DAY + 5 * 3600 < starts[0] < DAY0 + 11 * DAY + 6 * 3600
    assert abs(hm_to_hours(det.home.wake) - 12.0) < 0.5
