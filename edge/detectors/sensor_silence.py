"""A broken sensor is not an inactive person: ``sensor_silent`` for installers.

Time is counted in the home's *active hours*: clock hours in which some sensor of the
home fired. A sensor that has not fired for many active hours has stayed silent while
the home showed activity elsewhere; an empty or sleeping home adds none, so a resident
who is out or still never makes a sensor look broken. Each sensor learns its own normal:
the active hours each of its last ``history`` silences spanned. It is silent past
``factor`` times the longest of them (at least ``floor_hours``; ``prior_hours`` until
``min_history`` are known), and back at its next firing (the alarm is then cleared).

``SensorWatch`` holds that reasoning; the ``sensor_silence`` detector raises the alarms,
and inactivity asks the same watch which sensors it cannot rely on.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge.detectors.activity import ACTIVITY_KINDS, ActivityTracker
from edge.detectors.base import Detection, Detector
from edge.detectors.home import HomeContext
from protocol import AlarmKind, Reading, ReadingKind

HOUR = 3600.0


class SensorSilenceConfig(BaseModel):
    """When a sensor's silence means the sensor, not the resident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sensor_silence"] = Field(
        default="sensor_silence", title="Type", description="Detector type."
    )
    enabled: bool = Field(default=True, title="Enabled", description="Run this detector.")
    factor: float = Field(
        default=4.0, ge=1, title="Factor", description="Silent past factor x its longest silence."
    )
    floor_hours: int = Field(
        default=72, ge=1, title="Floor", description="Fewest active hours that can be silent."
    )
    prior_hours: int = Field(
        default=168,
        ge=1,
        title="Prior",
        description="Active hours allowed while a sensor's own history is short.",
    )
    history: int = Field(default=30, ge=1, title="History", description="Silences kept per sensor.")
    min_history: int = Field(
        default=8, ge=1, title="Min history", description="Silences needed to trust its own."
    )


class SensorWatch:
    """Per sensor: the home's active-hour count at its last firing, and its silences."""

    def __init__(self, cfg: SensorSilenceConfig, home: HomeContext) -> None:
        self.cfg = cfg
        self.activity = ActivityTracker(home)
        self.hours = 0  # active hours of the home so far
        self.hour = -1  # the clock hour last counted
        self.last: dict[str, int] = {}  # sensor -> self.hours at its last firing
        self.spans: dict[str, list[int]] = {}  # sensor -> active hours of its silences
        self.silent: dict[str, float] = {}  # sensor -> when it was found silent

    def allowed(self, sensor: str) -> float:
        """Active hours this sensor may stay silent."""
        spans = self.spans.get(sensor, [])
        if len(spans) < self.cfg.min_history:
            return float(self.cfg.prior_hours)
        return max(float(self.cfg.floor_hours), self.cfg.factor * max(spans))

    def feed(self, reading: Reading, detector: str) -> tuple[list[str], list[str], float]:
        """(sensors found silent, sensors back, when) from one reading."""
        inside, door = self.activity(reading, detector)
        fired = np.concatenate((inside, door))
        if not len(fired):
            return [], [], reading.ts
        ts = float(fired.max())
        hours = sorted({math.floor(x / HOUR) for x in fired.tolist()})
        new = sum(h > self.hour for h in hours)
        self.hours += new
        self.hour = max(self.hour, hours[-1])
        dev = reading.device_id
        back = [dev] if self.silent.pop(dev, None) is not None else []
        if dev in self.last:
            span = self.hours - self.last[dev] - new  # hours the others filled
            if span > 0 and not back:
                self.spans.setdefault(dev, []).append(span)
                del self.spans[dev][: -self.cfg.history]
        self.last[dev] = self.hours
        found = [
            s
            for s, at in self.last.items()
            if s not in self.silent and self.hours - at > self.allowed(s)
        ]
        for s in found:
            self.silent[s] = ts
        return found, back, ts

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {
            "activity": self.activity.state(),
            "hours": self.hours,
            "hour": self.hour,
            "last": dict(self.last),
            "spans": {k: list(v) for k, v in self.spans.items()},
            "silent": dict(self.silent),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.activity.restore(state["activity"])
        self.hours, self.hour = int(state["hours"]), int(state["hour"])
        self.last = {str(k): int(v) for k, v in state["last"].items()}
        self.spans = {str(k): [int(x) for x in v] for k, v in state["spans"].items()}
        self.silent = {str(k): float(v) for k, v in state["silent"].items()}


class SensorSilenceDetector(Detector):
    """Home-wide: a sensor silent while the home is active elsewhere."""

    type: ClassVar[str] = "sensor_silence"
    kinds: ClassVar[frozenset[ReadingKind]] = ACTIVITY_KINDS

    def __init__(
        self, config: SensorSilenceConfig | None = None, *, home: HomeContext | None = None
    ) -> None:
        super().__init__()
        self.cfg = config or SensorSilenceConfig()
        self.home = home or HomeContext()
        self.watch = SensorWatch(self.cfg, self.home)

    def feed(self, reading: Reading) -> list[Detection]:
        """Count the home's active hours; raise or clear per sensor."""
        found, back, ts = self.watch.feed(reading, self.type)
        return [self._det(s, ts, active=False) for s in back] + [
            self._det(s, ts, active=True) for s in found
        ]

    def _det(self, sensor: str, ts: float, *, active: bool) -> Detection:
        w = self.watch
        hours = w.hours - w.last.get(sensor, w.hours)
        return Detection(
            kind=AlarmKind.SENSOR_SILENT,
            detector=self.type,
            ts=ts,
            active=active,
            device_id=sensor,
            room=self.home.rooms.get(sensor),
            message=(
                f"no firing in {hours} active hours of the home (its own normal: "
                f"{w.allowed(sensor):.0f} at most)"
                if active
                else "fired again"
            ),
            details={"active_hours": hours, "allowed_hours": round(w.allowed(sensor), 1)},
            evidence=({"device_id": sensor, "kind": "motion", "ts": ts, "value": False},),
        )

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return self.watch.state()

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.watch.restore(state)
