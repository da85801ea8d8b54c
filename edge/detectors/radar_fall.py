"""Radar fall: the radar's own fall flag, confirmed by presence and no movement after.

A ``radar_fall`` flag opens a candidate. It is dropped if the radar stops seeing a person
(``presence`` false) or sees the person moving again (``target_state`` "moving" or
``motion`` true) after ``settle_s``; it becomes an alarm once ``confirm_s`` has passed with
the person still present and not moving (checked on readings and on ``tick``). The alarm is
not cleared by the detector: a person who got up after a fall still needs a visit.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.detectors.base import Detection, Detector
from edge.detectors.signal import scalar_series, target_state
from protocol import AlarmKind, Reading, ReadingKind


class RadarFallConfig(BaseModel):
    """Radar fall confirmation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["radar_fall"] = Field(
        default="radar_fall", title="Type", description="Detector type."
    )
    enabled: bool = Field(default=True, title="Enabled", description="Run this detector.")
    confirm_s: float = Field(
        default=30.0, gt=0, title="Confirm", description="Still and present this long, s."
    )
    settle_s: float = Field(
        default=5.0,
        ge=0,
        title="Settle",
        description="Movement right after the flag is the fall itself, s.",
    )
    rearm_s: float = Field(
        default=300.0, ge=0, title="Re-arm", description="No second alarm within this, s."
    )


class RadarFallDetector(Detector):
    """Confirms a radar's fall flag."""

    type: ClassVar[str] = "radar_fall"
    kinds: ClassVar[frozenset[ReadingKind]] = frozenset(
        {ReadingKind.RADAR_FALL, ReadingKind.PRESENCE, ReadingKind.TARGET_STATE, ReadingKind.MOTION}
    )

    def __init__(
        self,
        config: RadarFallConfig | None = None,
        *,
        device_id: str | None = None,
        room: str | None = None,
    ) -> None:
        super().__init__(device_id=device_id, room=room)
        self.cfg = config or RadarFallConfig()
        self.flag_ts: float | None = None
        self.last_alarm: float | None = None

    def feed(self, reading: Reading) -> list[Detection]:
        """Open, drop or confirm the candidate."""
        if reading.kind == ReadingKind.TARGET_STATE:
            state = target_state(reading, self.type)
            ev = {"moving": "moving", "none": "gone"}.get(state, "")
            events, end = [(reading.ts, ev)], reading.ts
        else:
            t, v = scalar_series(reading, self.type)
            if not len(t):
                return []
            name = {
                ReadingKind.RADAR_FALL: "flag",
                ReadingKind.MOTION: "moving",
                ReadingKind.PRESENCE: "gone",
            }[ReadingKind(reading.kind)]
            hit = v == 0 if reading.kind == ReadingKind.PRESENCE else v != 0
            events, end = [(float(ts), name) for ts in t[hit]], float(t[-1])
        out: list[Detection] = []
        for ts, ev in events:  # once per flag, movement or absence, never per sample
            out += self._expire(ts)
            if ev == "flag":
                if self.flag_ts is None and not self._rearming(ts):
                    self.flag_ts = ts
            elif self._drops(ts, ev):
                self.flag_ts = None
        return out + self._expire(end)

    def tick(self, now: float) -> list[Detection]:
        """Confirm a candidate whose confirmation time has passed."""
        return self._expire(now)

    def _drops(self, ts: float, ev: str) -> bool:
        """Whether an absence or a movement at ``ts`` drops the open candidate."""
        if self.flag_ts is None or ts < self.flag_ts:
            return False
        return ev == "gone" or (ev == "moving" and ts - self.flag_ts > self.cfg.settle_s)

    def _rearming(self, ts: float) -> bool:
        return self.last_alarm is not None and ts - self.last_alarm < self.cfg.rearm_s

    def _expire(self, now: float) -> list[Detection]:
        if self.flag_ts is None or now - self.flag_ts < self.cfg.confirm_s:
            return []
        flag, self.flag_ts = self.flag_ts, None
        self.last_alarm = flag
        return [
            Detection(
                kind=AlarmKind.RADAR_FALL,
                detector=self.type,
                ts=flag,
                device_id=self.device_id,
                room=self.room,
                message=f"radar fall, person present and still for {self.cfg.confirm_s:.0f} s",
                details={"stillness_s": self.cfg.confirm_s},
                evidence=(
                    {
                        "device_id": self.device_id or "",
                        "kind": str(ReadingKind.RADAR_FALL),
                        "ts": flag,
                        "value": True,
                        "summary": {"stillness_s": self.cfg.confirm_s},
                    },
                ),
            )
        ]

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {"flag_ts": self.flag_ts, "last_alarm": self.last_alarm}

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.flag_ts = state["flag_ts"]
        self.last_alarm = state["last_alarm"]
