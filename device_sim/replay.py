"""Replay a recorded accelerometer trial as a wristband's or pendant's stream."""

from __future__ import annotations

import numpy as np

from device_sim.datasets import Trial
from device_sim.episodes import TruthEvent
from device_sim.streams import DeviceReport

BLOCK_S = 2.0


class TrialSource:
    """A trial as accelerometer blocks of one device, starting at ``start``, with its truth."""

    def __init__(self, trial: Trial, *, home_id: str, device_id: str, start: float) -> None:
        self.trial = trial
        self.device_id = device_id
        per = max(1, round(BLOCK_S * trial.rate_hz))
        offsets = np.arange(0, len(trial.samples), per)
        self.times = start + offsets / trial.rate_hz
        self.blocks = [trial.samples[k : k + per] for k in offsets]
        self.truth: list[TruthEvent] = []
        details = {"dataset": trial.dataset, "trial": trial.name}
        if trial.fall_at_s is not None:
            self.truth.append(
                TruthEvent(
                    start + trial.fall_at_s, home_id, "fall", device_id, "fall", 120.0, details
                )
            )
        else:
            self.truth.append(
                TruthEvent(start, home_id, "daily_activity", device_id, None, 0.0, details)
            )

    @property
    def end(self) -> float:
        """Simulated time just after the last sample."""
        return float(self.times[0]) + self.trial.duration_s

    def reports(self, t0: float, t1: float) -> list[DeviceReport]:
        """Blocks starting in [t0, t1)."""
        a, b = np.searchsorted(self.times, [t0, t1])
        return [
            DeviceReport(float(self.times[i]), self.device_id, {"accel": self.blocks[i]})
            for i in range(a, b)
        ]
