"""SOS button: an alarm the moment it is pressed; a cancel on the device ends it.

A press while the alarm is open and within ``repeat_s`` of the previous press is the same
alarm (people press again and again). A ``cancel`` reading ends the alarm with an
inactive detection, which the gateway turns into a cancel of the alarm if one is open.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.detectors.base import Detection, Detector
from edge.detectors.signal import finite_or_none, none_to, scalar_series
from protocol import AlarmKind, Reading, ReadingKind


class SosConfig(BaseModel):
    """SOS button."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sos"] = Field(default="sos", title="Type", description="Detector type.")
    enabled: bool = Field(default=True, title="Enabled", description="Run this detector.")
    repeat_s: float = Field(
        default=60.0,
        ge=0,
        title="Repeat window",
        description="Presses closer than this to the previous one join its open alarm, s.",
    )


class SosDetector(Detector):
    """Immediate alarm on a button press."""

    type: ClassVar[str] = "sos"
    kinds: ClassVar[frozenset[ReadingKind]] = frozenset({ReadingKind.SOS, ReadingKind.CANCEL})

    def __init__(
        self,
        config: SosConfig | None = None,
        *,
        device_id: str | None = None,
        room: str | None = None,
    ) -> None:
        super().__init__(device_id=device_id, room=room)
        self.cfg = config or SosConfig()
        self.open = False
        self.last_press = -math.inf

    def feed(self, reading: Reading) -> list[Detection]:
        """A press raises (or joins) the alarm; a cancel ends it."""
        t, v = scalar_series(reading, self.type)
        out: list[Detection] = []
        for ts in t[v != 0]:  # once per press or cancel, never per sample
            ts = float(ts)
            if reading.kind == ReadingKind.CANCEL:
                # Always passed on: the alarm manager (its open alarms restored from the
                # outbox) decides. After a crash this detector's saved state may predate a
                # press already committed and acknowledged; its cancel must still cancel.
                self.open = False
                out.append(self._detection(ts, active=False, msg="SOS cancelled by the resident"))
                continue
            new = not self.open or ts - self.last_press >= self.cfg.repeat_s
            self.last_press = ts
            if new:
                self.open = True
                out.append(self._detection(ts, active=True, msg="SOS button pressed"))
        return out

    def _detection(self, ts: float, *, active: bool, msg: str) -> Detection:
        return Detection(
            kind=AlarmKind.SOS,
            detector=self.type,
            ts=ts,
            active=active,
            device_id=self.device_id,
            room=self.room,
            message=msg,
            details={"cancelled": not active},
            evidence=(
                {
                    "device_id": self.device_id or "",
                    "kind": str(ReadingKind.SOS if active else ReadingKind.CANCEL),
                    "ts": ts,
                    "value": True,
                },
            ),
        )

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {"open": self.open, "last_press": finite_or_none(self.last_press)}

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.open = bool(state["open"])
        self.last_press = none_to(state["last_press"], -math.inf)
