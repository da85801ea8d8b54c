"""The bridge's small parts on their own: the sensor clock and the bounded buffer."""

from __future__ import annotations

import pytest

from edge.ble.bridge import SensorClock
from edge.ble.publisher import Publisher
from edge.config import BrokerConfig


def test_sensor_clock_keeps_the_smallest_delay_and_follows_a_reset() -> None:
    clock = SensorClock(jump_s=5.0)
    assert clock.to_wall(100.0, 1000.2) == pytest.approx(1000.2)  # first frame: anchor
    assert clock.to_wall(101.0, 1001.05) == pytest.approx(1001.05)  # less delay: re-anchor
    assert clock.to_wall(102.0, 1002.4) == pytest.approx(1002.05)  # a late frame keeps spacing
    assert clock.to_wall(5.0, 1003.1) == pytest.approx(1003.1)  # sensor clock reset: re-anchor


def test_a_full_buffer_drops_the_oldest_and_counts() -> None:
    pub = Publisher(BrokerConfig(topic_prefix="b7/"), identifier="t", maxlen=3)
    for i in range(5):
        pub.offer("carewatch/ble/x/telemetry", str(i).encode())
    assert (pub.pending, pub.dropped) == (3, 2)
    assert [p for _, p in pub._queue] == [b"2", b"3", b"4"]
    assert {t for t, _ in pub._queue} == {"b7/carewatch/ble/x/telemetry"}
