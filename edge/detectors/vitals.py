"""Heart rate and SpO2 out of range for a sustained time, with hysteresis.

Each condition (heart rate high, heart rate low, SpO2 low) starts when the value has been
beyond its threshold for ``*_hold_s`` without a gap longer than ``max_gap_s`` and ends when
it has been back past the (looser) clear threshold for ``clear_hold_s``. Readings taken
while the band is off the wrist (``worn`` false) are ignored and break every run; readings
older than the newest already seen, or more than ``stale_s`` behind the clock, never count;
physiologically impossible values are treated as sensor artefacts.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge.detectors.base import Detection, Detector
from edge.detectors.signal import F64, Persistence, finite_or_none, none_to, scalar_series
from protocol import AlarmKind, Reading, ReadingKind


class VitalsConfig(BaseModel):
    """Heart rate and SpO2 limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["vitals"] = Field(default="vitals", title="Type", description="Detector type.")
    enabled: bool = Field(default=True, title="Enabled", description="Run this detector.")
    hr_high: float = Field(default=120.0, title="HR high", description="Raise above, bpm.")
    hr_high_clear: float = Field(
        default=110.0, title="HR high clear", description="Clear below, bpm."
    )
    hr_low: float = Field(default=45.0, title="HR low", description="Raise below, bpm.")
    hr_low_clear: float = Field(default=50.0, title="HR low clear", description="Clear above, bpm.")
    spo2_low: float = Field(default=90.0, title="SpO2 low", description="Raise below, %.")
    spo2_clear: float = Field(default=93.0, title="SpO2 clear", description="Clear above, %.")
    hr_hold_s: float = Field(
        default=120.0, ge=0, title="HR hold", description="Out of range this long to raise, s."
    )
    spo2_hold_s: float = Field(
        default=90.0, ge=0, title="SpO2 hold", description="Below this long to raise, s."
    )
    clear_hold_s: float = Field(
        default=120.0, ge=0, title="Clear hold", description="Back in range this long to clear, s."
    )
    max_gap_s: float = Field(
        default=900.0, gt=0, title="Max gap", description="A longer silence breaks a run, s."
    )
    stale_s: float = Field(
        default=300.0,
        gt=0,
        title="Stale",
        description="Readings this far behind the clock are ignored, s.",
    )
    hr_valid: tuple[float, float] = Field(
        default=(20.0, 250.0), title="HR valid", description="Plausible heart rate range, bpm."
    )
    spo2_valid: tuple[float, float] = Field(
        default=(50.0, 100.0), title="SpO2 valid", description="Plausible SpO2 range, %."
    )


class VitalsDetector(Detector):
    """Sustained out-of-range heart rate and SpO2 from a wearable."""

    type: ClassVar[str] = "vitals"
    kinds: ClassVar[frozenset[ReadingKind]] = frozenset(
        {ReadingKind.HEART_RATE, ReadingKind.SPO2, ReadingKind.WORN}
    )

    def __init__(
        self,
        config: VitalsConfig | None = None,
        *,
        device_id: str | None = None,
        room: str | None = None,
    ) -> None:
        super().__init__(device_id=device_id, room=room)
        c = self.cfg = config or VitalsConfig()
        self.conditions: dict[AlarmKind, Persistence] = {
            AlarmKind.HEART_RATE_HIGH: Persistence(c.hr_hold_s, c.clear_hold_s, c.max_gap_s),
            AlarmKind.HEART_RATE_LOW: Persistence(c.hr_hold_s, c.clear_hold_s, c.max_gap_s),
            AlarmKind.SPO2_LOW: Persistence(c.spo2_hold_s, c.clear_hold_s, c.max_gap_s),
        }
        self.worn = True
        self.clock = -math.inf
        self.newest: dict[str, float] = {}

    def feed(self, reading: Reading) -> list[Detection]:
        """Update the runs; return the conditions that started or ended."""
        t, v = scalar_series(reading, self.type)
        if reading.kind == ReadingKind.WORN:
            if len(v):
                self.clock = max(self.clock, float(t[-1]))
                worn = bool(v[-1])
                if not worn:
                    for p in self.conditions.values():
                        p.reset()
                self.worn = worn
            return []
        key = str(reading.kind)
        fresh = (t > self.newest.get(key, -math.inf)) & (t >= self.clock - self.cfg.stale_s)
        fresh &= t > np.maximum.accumulate(np.concatenate(([-math.inf], t)))[:-1]
        t, v = t[fresh], v[fresh]
        if not len(t):
            return []
        self.newest[key] = float(t[-1])
        self.clock = max(self.clock, float(t[-1]))
        if not self.worn:
            return []
        c = self.cfg
        if reading.kind == ReadingKind.HEART_RATE:
            ok = (v >= c.hr_valid[0]) & (v <= c.hr_valid[1])
            t, v = t[ok], v[ok]
            return self._run(
                AlarmKind.HEART_RATE_HIGH, t, v, v > c.hr_high, v < c.hr_high_clear
            ) + (self._run(AlarmKind.HEART_RATE_LOW, t, v, v < c.hr_low, v > c.hr_low_clear))
        ok = (v >= c.spo2_valid[0]) & (v <= c.spo2_valid[1])
        t, v = t[ok], v[ok]
        return self._run(AlarmKind.SPO2_LOW, t, v, v < c.spo2_low, v > c.spo2_clear)

    def tick(self, now: float) -> list[Detection]:
        """Advance the clock that decides staleness."""
        self.clock = max(self.clock, now)
        return []

    def _run(
        self, kind: AlarmKind, t: F64, v: F64, on: np.ndarray, off: np.ndarray
    ) -> list[Detection]:
        out = []
        for ts, active in self.conditions[kind].feed(t, on, off):
            value = float(v[int(np.searchsorted(t, ts))])
            metric = "spo2" if kind == AlarmKind.SPO2_LOW else "heart_rate"
            unit = "%" if kind == AlarmKind.SPO2_LOW else "bpm"
            out.append(
                Detection(
                    kind=kind,
                    detector=self.type,
                    ts=ts,
                    active=active,
                    device_id=self.device_id,
                    room=self.room,
                    message=f"{kind.value.replace('_', ' ')}: {value:.0f} {unit}"
                    + ("" if active else " (back in range)"),
                    details={"value": value},
                    evidence=(
                        {
                            "device_id": self.device_id or "",
                            "kind": metric,
                            "ts": ts,
                            "value": value,
                        },
                    ),
                )
            )
        return out

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {
            "conditions": {k.value: p.state() for k, p in self.conditions.items()},
            "worn": self.worn,
            "clock": finite_or_none(self.clock),
            "newest": dict(self.newest),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        for k, p in self.conditions.items():
            p.restore(state["conditions"][k.value])
        self.worn = bool(state["worn"])
        self.clock = none_to(state["clock"], -math.inf)
        self.newest = {k: float(v) for k, v in state["newest"].items()}
