"""Per-minute telemetry aggregates (event time) and the simulator clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.clock import ClockError, SimClock
from edge.telemetry import TelemetryAggregator
from protocol import Reading, ReadingKind, load_home

T0 = 1_732_320_000.0  # a minute boundary


def test_minutes_close_as_event_time_passes(home_file: Path) -> None:
    agg = TelemetryAggregator(load_home(home_file), lateness_s=5)
    for i, hr in enumerate([60.0, 80.0, 70.0]):
        agg.add(Reading("sos_button", T0 + i * 10, ReadingKind.HEART_RATE, hr))
    for i in range(4):
        agg.add(Reading("pir_kitchen", T0 + i, ReadingKind.MOTION, i % 2 == 0))
    agg.add(Reading("pir_kitchen", T0 + 61, ReadingKind.BATTERY, 90))
    assert agg.flush(T0 + 64) is None  # minute 0 still open for late readings
    batch = agg.flush(T0 + 65)
    assert batch is not None and batch.gateway_id == "gw-t1"
    points = {(p.device_id, p.metric): p for p in batch.points}
    hr = points[("sos_button", "heart_rate")]
    assert (hr.count, hr.min, hr.mean, hr.max) == (3, 60.0, 70.0, 80.0)
    motion = points[("pir_kitchen", "motion")]
    assert motion.count == 2 and motion.mean is None and motion.room == "kitchen"
    assert ("pir_kitchen", "battery") not in points  # its minute is still open
    agg.add(Reading("pir_kitchen", T0 + 3, ReadingKind.MOTION, True))
    assert agg.late == 1
    final = agg.flush(T0 + 66, force=True)
    assert final is not None and [p.metric for p in final.points] == ["battery"]


def test_non_numbers_and_blocks_are_not_aggregated(home_file: Path) -> None:
    agg = TelemetryAggregator(load_home(home_file))
    agg.add(Reading("sos_button", T0, ReadingKind.HEART_RATE, float("nan")))
    agg.add(Reading("sos_button", T0, ReadingKind.SOS, True))
    assert agg.flush(T0, force=True) is None


def test_sim_clock_ticks_on_a_grid_of_simulated_seconds() -> None:
    clock = SimClock(tick_s=1.0)
    assert clock.advance(json.dumps({"ts": T0 + 0.5, "speed": 100}).encode(), topic="c") == [
        T0 + 0.5
    ]
    assert clock.advance(b'{"ts": %f}' % (T0 + 3.2), topic="c") == [T0 + 1, T0 + 2, T0 + 3]
    assert clock.advance(b'{"ts": %f}' % (T0 + 3.9), topic="c") == []
    assert clock.advance(b'{"ts": %f}' % (T0 - 50), topic="c") == []  # never back
    assert clock.now == T0 + 3.9
    assert clock.advance(b'{"ts": %f}' % (T0 + 86400), topic="c") == [T0 + 86400]  # a jump
    assert clock.advance(b'{"ts": %f}' % T0, topic="c") == [T0]  # a new simulation
    with pytest.raises(ClockError, match="topic c"):
        clock.advance(b'{"speed": 2}', topic="c")
