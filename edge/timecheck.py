"""Device times checked against the gateway's: an implausible one is replaced, and marked.

A device after a battery change or an RTC reset stamps its messages 1970; one with a wrong
time zone, hours off. A reading time before the gateway's build date, more than
``max_ahead_s`` after the receive time or more than ``max_behind_s`` before it is replaced
by the receive time (the simulator's time under ``clock.source: sim``), and the alarm
manager marks evidence and alarms built on it ``clock_suspect``. Under ``clock.source: sim``
the device times are the simulated clock, judged against it alone: the build date is a
fact about the wall clock, and a scenario may play any date.

A device whose clock is wrong is wrong for every message: the first replaced time of a
device is logged, then at most one line per ``WARN_EVERY_S`` of gateway time per device,
counting the readings re-stamped since the last line (no log flood on a Pi's journald).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque

from protocol import Reading

log = logging.getLogger(__name__)

REMEMBERED = 64  # replaced times kept per device, for the alarm manager to recognise
WARN_EVERY_S = 600.0  # at most one "device time implausible" line per device this often


class TimeCheck:
    """Replaces implausible device times; remembers which times it replaced."""

    def __init__(self, *, earliest: float, max_ahead_s: float, max_behind_s: float) -> None:
        self.earliest = earliest
        self.max_ahead_s = max_ahead_s
        self.max_behind_s = max_behind_s
        self.replaced = 0
        self._suspect: dict[str, deque[float]] = {}
        self._warned_at: dict[str, float] = {}  # device -> gateway time of its last line
        self._unlogged: dict[str, int] = {}  # device -> re-stamped since its last line

    def plausible(self, ts: float, now: float, *, simulated: bool = False) -> bool:
        """A device time the gateway can believe, given its own ``now`` (the simulator's
        when ``simulated``: then the wall-clock build date does not apply)."""
        if not simulated and ts < self.earliest:
            return False
        return now - self.max_behind_s <= ts <= now + self.max_ahead_s

    def check(
        self, readings: list[Reading], now: float, *, simulated: bool = False
    ) -> list[Reading]:
        """The readings, those with an implausible time re-stamped ``now``."""
        out = readings
        for i, r in enumerate(readings):
            if self.plausible(r.ts, now, simulated=simulated):
                continue
            if out is readings:
                out = list(readings)
            shift = now - r.ts
            sample_ts = None if r.sample_ts is None else r.sample_ts + shift
            out[i] = dataclasses.replace(
                r, ts=now, sample_ts=sample_ts, extra={**r.extra, "device_ts": r.ts}
            )
            self.replaced += 1
            self._suspect.setdefault(r.device_id, deque(maxlen=REMEMBERED)).append(now)
            self._warn(r, now)
        return out

    def _warn(self, r: Reading, now: float) -> None:
        """Log the device's first replaced time, then one line per WARN_EVERY_S with a count."""
        dev = r.device_id
        count = self._unlogged.get(dev, 0) + 1
        last = self._warned_at.get(dev)
        if last is not None and now - last < WARN_EVERY_S:
            self._unlogged[dev] = count
            return
        self._warned_at[dev] = now
        self._unlogged[dev] = 0
        log.warning(
            "device time implausible device=%s kind=%s device_ts=%.0f replaced_by=%.0f "
            "restamped_since_last=%d",
            dev,
            r.kind,
            r.ts,
            now,
            count,
        )

    def suspect(self, device_id: str | None, ts: float, *, within_s: float = 1.0) -> bool:
        """Whether ``ts`` of ``device_id`` is (near) a time this check put in."""
        times = self._suspect.get(device_id or "")
        return bool(times) and any(abs(t - ts) <= within_s for t in times or ())
