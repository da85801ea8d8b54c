"""A resident's whereabouts over time: segments of (room, activity), and overlaying them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

OUT = -1  # room index of "not at home"


class Activity(IntEnum):
    """What the resident is doing; drives PIR rate, heart rate and accelerometer."""

    SLEEP = 0
    REST = 1  # sitting: TV, reading, eating
    ACTIVE = 2  # cooking, cleaning, washing
    WALK = 3  # wandering between rooms
    OUT = 4  # not at home
    LYING = 5  # on the floor after a fall
    STILL = 6  # collapsed / not moving at all


@dataclass(frozen=True, slots=True)
class Segment:
    """The resident is in ``room`` (index, OUT when away) doing ``activity`` over [t0, t1)."""

    t0: float
    t1: float
    room: int
    activity: Activity
    tag: str = ""


def overlay(segments: list[Segment], new: Segment) -> list[Segment]:
    """Segments with ``new`` laid over them (anything overlapping it is cut away)."""
    out: list[Segment] = []
    for s in segments:
        if s.t1 <= new.t0 or s.t0 >= new.t1:
            out.append(s)
            continue
        if s.t0 < new.t0:
            out.append(Segment(s.t0, new.t0, s.room, s.activity, s.tag))
        if s.t1 > new.t1:
            out.append(Segment(new.t1, s.t1, s.room, s.activity, s.tag))
    if new.t1 > new.t0:
        out.append(new)
    out.sort(key=lambda s: s.t0)
    return out


@dataclass(frozen=True, slots=True)
class Timeline:
    """Segments as arrays, for vectorized look-ups of where the resident is at any time."""

    t0: npt.NDArray[np.float64]
    t1: npt.NDArray[np.float64]
    room: npt.NDArray[np.int64]
    activity: npt.NDArray[np.int64]

    @classmethod
    def from_segments(cls, segments: list[Segment]) -> Timeline:
        """Build from sorted, non-overlapping segments."""
        return cls(
            t0=np.array([s.t0 for s in segments], dtype=np.float64),
            t1=np.array([s.t1 for s in segments], dtype=np.float64),
            room=np.array([s.room for s in segments], dtype=np.int64),
            activity=np.array([int(s.activity) for s in segments], dtype=np.int64),
        )

    def index_at(self, times: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Segment index for each time (clipped to the first/last segment)."""
        idx = np.searchsorted(self.t0, times, side="right") - 1
        return np.clip(idx, 0, len(self.t0) - 1).astype(np.int64)

    def activity_at(self, times: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Activity code at each time."""
        return self.activity[self.index_at(times)]

    def room_at(self, times: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Room index (OUT when away) at each time."""
        return self.room[self.index_at(times)]

    def entries(self) -> npt.NDArray[np.int64]:
        """Indices of segments where the resident enters a different room (or comes home)."""
        changed = np.ones(len(self.room), dtype=bool)
        changed[1:] = self.room[1:] != self.room[:-1]
        return np.flatnonzero(changed & (self.room != OUT))
