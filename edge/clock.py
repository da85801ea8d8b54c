"""Simulated time from the simulator's clock topic, cut into ticks on a fixed grid.

Each clock message moves simulated time forward; the gateway fires its timers at every
grid point crossed (every ``tick_s`` simulated seconds), in order with the device messages
around it. The ticks depend only on the simulated times, never on wall time, so a scenario
raises the same timer alarms at any speed.
"""

from __future__ import annotations

import json
import logging
import math

MAX_TICKS_PER_STEP = 3600  # a larger jump (start, skip ahead) fires one tick at the new time
RESET_S = 3600.0  # a clock this far back is a new simulation: follow it

log = logging.getLogger(__name__)


class ClockError(ValueError):
    """A clock message that is not ``{"ts": epoch_s, "speed": x}``."""


class SimClock:
    """The simulator's time; goes back only when a new simulation starts (``RESET_S``)."""

    def __init__(self, *, tick_s: float = 1.0) -> None:
        self.tick_s = tick_s
        self.now: float | None = None

    def advance(self, payload: bytes, *, topic: str) -> list[float]:
        """Take a clock message; return the tick times it crosses (oldest first)."""
        try:
            ts = float(json.loads(payload)["ts"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ClockError(f"topic {topic}: clock payload {payload[:80]!r}: {exc}") from exc
        if not math.isfinite(ts) or ts <= 0:
            raise ClockError(f"topic {topic}: clock ts must be a positive epoch time, got {ts}")
        if self.now is not None and ts < self.now - RESET_S:
            log.warning("simulator clock went back from %.0f to %.0f: following it", self.now, ts)
            self.now = None
        previous, self.now = self.now, ts if self.now is None else max(self.now, ts)
        if previous is None:
            return [ts]
        first = math.floor(previous / self.tick_s) + 1
        last = math.floor(self.now / self.tick_s)
        if last < first:
            return []
        if last - first >= MAX_TICKS_PER_STEP:
            return [self.now]
        return [k * self.tick_s for k in range(first, last + 1)]
