"""Time for timers: the wall clock, or the simulator's clock topic."""

from __future__ import annotations

import json
import time


class ClockError(ValueError):
    """A clock message that is not ``{"ts": epoch_s, "speed": x}``."""


class SimClock:
    """Simulated time, extrapolated between the simulator's clock messages.

    Time never goes backwards, and stops advancing ``hold_s`` wall seconds after the last
    message (a paused or finished simulator does not let timers run away).
    """

    def __init__(self, *, hold_s: float = 5.0) -> None:
        self.hold_s = hold_s
        self._ts: float | None = None
        self._speed = 1.0
        self._at = 0.0
        self._last = 0.0

    @property
    def started(self) -> bool:
        """True once a clock message arrived."""
        return self._ts is not None

    @property
    def speed(self) -> float:
        """Simulated seconds per wall second."""
        return self._speed

    def update(self, payload: bytes, *, topic: str) -> None:
        """Take a clock message."""
        try:
            data = json.loads(payload)
            ts, speed = float(data["ts"]), float(data.get("speed", 1.0))
        except (ValueError, KeyError, TypeError) as exc:
            raise ClockError(f"topic {topic}: clock payload {payload[:80]!r}: {exc}") from exc
        if not (speed > 0 and ts > 0):
            raise ClockError(f"topic {topic}: clock ts and speed must be positive")
        self._ts, self._speed, self._at = ts, speed, time.monotonic()

    def now(self) -> float | None:
        """Current simulated time, or None before the first clock message."""
        if self._ts is None:
            return None
        elapsed = min(time.monotonic() - self._at, self.hold_s)
        self._last = max(self._last, self._ts + elapsed * self._speed)
        return self._last
