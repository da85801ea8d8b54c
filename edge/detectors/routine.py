"""A home's sleep and wake times, learned online from its own silences.

Each night's sleep is taken as the longest silence at home (the resident in, nobody
moving) that began between ``18:00`` and ``06:00`` local and lasted ``min_sleep_s`` or
more: its start is that night's bedtime, its end the getting-up. A night is kept once the
next local noon has passed; the last ``nights`` nights are kept. Until ``min_nights`` are
known the prior (the manifest's routine, or 22:30 / 07:00) holds.

Times are kept as hours after local noon, so a bedtime at 23:30 (11.5) and one at 00:30
(12.5) average without wrapping.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from edge.detectors.home import DAY, HomeContext
from edge.detectors.signal import F64, hm_to_hours

NOON = 12 * 3600.0
EVENING, MORNING = 6.0, 18.0  # 18:00 and 06:00 as hours after noon


def hm(hours: float) -> str:
    """Hours of the day (any real) as local 'HH:MM'."""
    minutes = round(hours * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class RoutineLearner:
    """Learns bedtime and getting-up from the longest at-home silence of each night."""

    def __init__(self, *, nights: int = 14, min_nights: int = 3, min_sleep_s: float = 3 * 3600):
        self.keep, self.min_nights, self.min_sleep_s = nights, min_nights, min_sleep_s
        self.nights: list[list[float]] = []  # [bed, wake] in hours after noon
        self.current: list[float] | None = None  # [night index, start epoch, end epoch]

    def observe(self, ctx: HomeContext, prev: F64, t: F64) -> bool:
        """Silences at home from ``prev`` to ``t`` (each pair one silence, in time order);
        returns whether a night was completed (the learned times may have moved)."""
        if not len(t):
            return False
        off = ctx.offset(float(t[0]))
        night = np.floor((prev + off - NOON) / DAY)
        after_noon = ((prev + off - NOON) % DAY) / 3600.0
        sleep = (t - prev >= self.min_sleep_s) & (after_noon >= EVENING) & (after_noon < MORNING)
        done = False
        for n, a, b in zip(
            night[sleep].tolist(), prev[sleep].tolist(), t[sleep].tolist(), strict=True
        ):
            done |= self._close_before(n, off)
            cur = self.current
            if cur is None or b - a > cur[2] - cur[1]:
                self.current = [n, a, b]
        ended = math.floor((float(t[-1]) + off - NOON) / DAY)
        return self._close_before(ended, off) or done

    def _close_before(self, night: float, off: float) -> bool:
        """Keep the current night if ``night`` is a later one."""
        cur = self.current
        if cur is None or cur[0] >= night:
            return False
        base = cur[0] * DAY + NOON - off
        self.nights.append([(cur[1] - base) / 3600.0, (cur[2] - base) / 3600.0])
        del self.nights[: -self.keep]
        self.current = None
        return True

    def learned(self) -> bool:
        """Whether enough nights are known to replace the prior."""
        return len(self.nights) >= self.min_nights

    def bedtime(self, quantile: float, prior: str) -> str:
        """Local 'HH:MM' at ``quantile`` of the learned bedtimes, or ``prior``."""
        if not self.learned():
            return prior
        return hm(12 + float(np.quantile([n[0] for n in self.nights], quantile)))

    def wake(self, quantile: float, prior: str) -> str:
        """Local 'HH:MM' at ``quantile`` of the learned getting-up times, or ``prior``."""
        if not self.learned():
            return prior
        return hm(12 + float(np.quantile([n[1] for n in self.nights], quantile)))

    def context(self, base: HomeContext, bed_q: float, wake_q: float) -> HomeContext:
        """``base`` with the learned sleep and wake times (its own while learning)."""
        sleep, wake = self.bedtime(bed_q, base.sleep), self.wake(wake_q, base.wake)
        if hm_to_hours(sleep) == hm_to_hours(wake):
            return base
        return replace(base, sleep=sleep, wake=wake)

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {"nights": [list(n) for n in self.nights], "current": self.current}

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.nights = [[float(a), float(b)] for a, b in state["nights"]]
        cur = state["current"]
        self.current = None if cur is None else [float(x) for x in cur]
