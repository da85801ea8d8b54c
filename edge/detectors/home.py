"""What home-wide detectors know about the home: zone, sleep hours, front doors, rooms.

Which readings are activity is defined once, in ``edge.detectors.activity``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from edge.detectors.activity import ACTIVITY_KINDS, ActivityTracker
from edge.detectors.signal import F64, hm_to_hours
from protocol import HomeManifest

__all__ = ["ACTIVITY_KINDS", "DAY", "ActivityTracker", "HomeContext"]  # activity: re-exported

DAY = 86400.0


@dataclass(frozen=True)
class HomeContext:
    """Time zone, sleep hours, front doors and device rooms of one home."""

    timezone: str = "UTC"
    sleep: str = "22:30"
    wake: str = "07:00"
    front_doors: frozenset[str] = frozenset()
    rooms: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"home timezone {self.timezone!r} is not a known IANA zone") from exc

    @classmethod
    def from_manifest(cls, home: HomeManifest) -> HomeContext:
        """The context of a home manifest (routine sleep and wake, front doors, rooms)."""
        return cls(
            timezone=home.timezone,
            sleep=home.resident.routine.sleep,
            wake=home.resident.routine.wake,
            front_doors=frozenset(d.device_id for d in home.devices if d.front_door),
            rooms={d.device_id: d.room for d in home.devices},
        )

    def offset(self, ts: float) -> float:
        """UTC offset of the home's zone at ``ts``, seconds (one offset serves a block)."""
        off = datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(self.timezone)).utcoffset()
        return off.total_seconds() if off is not None else 0.0

    def hours(self, ts: F64) -> F64:
        """Local hour of day (fractional) of each time."""
        if not len(ts):
            return np.empty(0)
        return ((ts + self.offset(float(ts[0]))) % DAY) / 3600.0

    def hour(self, ts: float) -> float:
        """Local hour of day of one time."""
        return float(self.hours(np.array([ts]))[0])

    def asleep(self, ts: F64) -> npt.NDArray[np.bool_]:
        """Whether each time falls in the sleep hours."""
        h, start, end = self.hours(ts), hm_to_hours(self.sleep), hm_to_hours(self.wake)
        return (h >= start) & (h < end) if start <= end else (h >= start) | (h < end)

    def last_local(self, ts: F64, hm: str) -> F64:
        """Epoch of the latest local time-of-day ``hm`` at or before each time."""
        if not len(ts):
            return np.empty(0)
        off, at = self.offset(float(ts[0])), hm_to_hours(hm) * 3600.0
        return np.floor((ts + off - at) / DAY) * DAY + at - off
