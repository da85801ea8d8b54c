"""The waist's recovery rule: a fall the wearer got straight back up from is a hint."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.detectors.signal import F64


@dataclass(frozen=True, slots=True)
class RecoveryRule:
    """Back up means: the trunk first went over (tilt from the posture before the fall
    beyond ``lying_deg``), then stayed within ``upright_deg`` of it for ``hold_s``."""

    lying_deg: float = 60.0
    upright_deg: float = 30.0
    hold_s: float = 0.5

    def recovered_at(self, tilt: F64, fs: float) -> int | None:
        """Index in ``tilt`` (degrees from the posture before, from the impact on) where
        the wearer is back; None if not."""
        over = np.flatnonzero(tilt > self.lying_deg)
        if not len(over):
            return None
        hold = max(1, round(self.hold_s * fs))
        back = (tilt[over[0] :] < self.upright_deg).astype(np.int64)
        if len(back) < hold:
            return None
        runs = np.convolve(back, np.ones(hold, dtype=np.int64), mode="valid")
        full = np.flatnonzero(runs == hold)
        return int(over[0] + full[0]) if len(full) else None
