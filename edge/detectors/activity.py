"""Which readings count as activity: one definition for every detector and the gateway.

Inside activity: PIR motion, occupancy or radar presence switching on, a radar target
moving, any door or cupboard contact (opening or closing) that is not the front door. The
front door opening is kept apart: the resident may have left or come back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from edge.detectors.base import DetectorInputError
from edge.detectors.signal import F64, scalar_series, target_state, where
from protocol import Reading, ReadingKind

if TYPE_CHECKING:
    from edge.detectors.home import HomeContext

ACTIVITY_KINDS = frozenset(
    {
        ReadingKind.MOTION,
        ReadingKind.OCCUPANCY,
        ReadingKind.PRESENCE,
        ReadingKind.TARGET_STATE,
        ReadingKind.DOOR_OPEN,
    }
)


def shows_someone(reading: Reading) -> bool:
    """Whether one reading on its own says someone is up and about (any motion, presence or
    occupancy reported on, a radar target moving, a contact opened): the gateway's quick
    "someone moved" signal, without the per-device state ``ActivityTracker`` keeps."""
    if reading.kind not in ACTIVITY_KINDS:
        return False
    if reading.kind == ReadingKind.TARGET_STATE:
        return reading.value == "moving"
    return reading.value is True


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
