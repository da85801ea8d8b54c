"""What home-wide detectors know about the home, and how readings become activity events.

Inside activity: PIR motion, occupancy or radar presence switching on, a radar target
moving, any door or cupboard contact (opening or closing) that is not the front door. The
front door opening is kept apart: the resident may have left or come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from edge.detectors.base import DetectorInputError
from edge.detectors.signal import F64, hm_to_hours, scalar_series, target_state, where
from protocol import HomeManifest, Reading, ReadingKind

DAY = 86400.0
ACTIVITY_KINDS = frozenset(
    {
        ReadingKind.MOTION,
        ReadingKind.OCCUPANCY,
        ReadingKind.PRESENCE,
        ReadingKind.TARGET_STATE,
        ReadingKind.DOOR_OPEN,
    }
)


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


class ActivityTracker:
    """Turns readings into (inside activity times, front-door opening times).

    Motion counts each time it fires; presence and occupancy count only when they switch
    on (a still person is present, not moving, so repeated "present" reports are not
    activity); a radar target counts while "moving"; door and cupboard contacts count on
    opening and closing. The last presence/occupancy value per device is the state.
    """

    def __init__(self, ctx: HomeContext) -> None:
        self.ctx = ctx
        self.held: dict[str, bool] = {}

    def __call__(self, reading: Reading, detector: str) -> tuple[F64, F64]:
        """Activity carried by one reading."""
        empty = np.empty(0)
        if reading.kind == ReadingKind.TARGET_STATE:
            moving = target_state(reading, detector) == "moving"
            return (np.array([reading.ts]) if moving else empty), empty
        if reading.kind not in ACTIVITY_KINDS:
            raise DetectorInputError(f"{where(detector, reading)}: not an activity reading")
        t, v = scalar_series(reading, detector)
        on = v != 0
        if reading.kind == ReadingKind.DOOR_OPEN and reading.device_id in self.ctx.front_doors:
            return empty, t[on]  # the door opening; its closing says nothing more
        if reading.kind == ReadingKind.DOOR_OPEN:
            return t, empty
        if reading.kind in (ReadingKind.PRESENCE, ReadingKind.OCCUPANCY):
            if not len(on):
                return empty, empty
            key = f"{reading.device_id}/{reading.kind}"
            before = np.concatenate(([self.held.get(key, False)], on[:-1]))
            self.held[key] = bool(on[-1])
            return t[on & ~before], empty
        return t[on], empty

    def state(self) -> dict[str, bool]:
        """JSON state."""
        return dict(self.held)

    def restore(self, state: dict[str, bool]) -> None:
        """Resume from ``state()``."""
        self.held = {str(k): bool(v) for k, v in state.items()}
