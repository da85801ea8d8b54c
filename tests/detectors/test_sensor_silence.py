"""A broken sensor is not an inactive person: sensor_silent, and inactivity not relying on it."""

from __future__ import annotations

from edge.detectors import DetectorsConfig
from edge.detectors.inactivity import InactivityDetector
from edge.detectors.sensor_silence import SensorSilenceDetector
from protocol import AlarmKind, Severity
from protocol.envelopes import DEFAULT_SEVERITY
from tests.detectors.scenarios import (
    DAY,
    HOME,
    T0,
    Data,
    Item,
    Tick,
    _reading,
    run,
    silent_sensor_scenario,
)

DAY0 = T0 - (T0 % DAY) + DAY


def test_a_sensor_silent_while_the_others_fire_is_a_maintenance_alarm_until_it_is_back() -> None:
    out = run(lambda: SensorSilenceDetector(home=HOME), silent_sensor_scenario(1))
    assert [(k, a, extra) for k, _, a, extra in out] == [
        ("sensor_silent", True, "pir-bed"),
        ("sensor_silent", False, "pir-bed"),
    ]
    raised, back = out[0][1], out[1][1]
    assert DAY0 + 10 * DAY < raised < DAY0 + 14 * DAY  # silent from day 8: days, not hours
    assert DAY0 + 14 * DAY < back < DAY0 + 14.5 * DAY
    assert DEFAULT_SEVERITY[AlarmKind.SENSOR_SILENT] is Severity.WARNING


def test_a_home_where_nothing_fires_makes_no_sensor_look_broken() -> None:
    # the resident away from day 8 to day 14: every sensor silent together
    items: list[Item] = [
        x
        for x in silent_sensor_scenario(1)
        if isinstance(x, Tick) or not (DAY0 + 8 * DAY <= x.t[0] < DAY0 + 14 * DAY)
    ]
    assert run(lambda: SensorSilenceDetector(home=HOME), items) == []


def test_inactivity_learns_nothing_from_the_home_while_a_sensor_is_silent() -> None:
    det = InactivityDetector(home=HOME, sensors=DetectorsConfig().sensor_silence)
    learned: list[tuple[float, bool, int]] = []
    for x in silent_sensor_scenario(1):
        if isinstance(x, Data):
            det.feed(_reading(x, 0, len(x.t), False))
            learned.append((float(x.t[-1]), bool(det.sensors.silent), sum(map(len, det.gaps))))
        else:
            det.tick(x.now)
    silent = [n for _, s, n in learned if s]
    assert silent and len(set(silent)) == 1  # not one silence learned while it was broken
    assert learned[-1][2] > silent[0]  # and learning again once it is back
