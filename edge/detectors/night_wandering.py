"""Night-time wandering: the front door opened in the night and the resident did not stay in.

A front-door event in the night window while the resident was at home opens a candidate;
activity inside more than ``exit_grace_s`` after the last door event drops it (they stayed
in). After ``confirm_s`` with no such activity the resident is taken to have gone out: an
alarm, ended by the next activity inside (back home). A door event while the resident was
already out is a return, not wandering.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge.detectors.base import Detection, Detector
from edge.detectors.home import ACTIVITY_KINDS, HomeContext, activity
from protocol import AlarmKind, Reading, ReadingKind


class NightWanderingConfig(BaseModel):
    """Night-time wandering."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["night_wandering"] = Field(
        default="night_wandering", title="Type", description="Detector type."
    )
    enabled: bool = Field(default=True, title="Enabled", description="Run this detector.")
    night_start: str | None = Field(
        default=None,
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        title="Night start",
        description="Local HH:MM; default: the resident's bedtime.",
    )
    night_end: str | None = Field(
        default=None,
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        title="Night end",
        description="Local HH:MM; default: the resident's wake time.",
    )
    confirm_s: float = Field(
        default=600.0, gt=0, title="Confirm", description="No activity inside this long, s."
    )
    exit_grace_s: float = Field(
        default=60.0,
        ge=0,
        title="Exit grace",
        description="Activity this soon after the door is the leaving itself, s.",
    )


class NightWanderingDetector(Detector):
    """Home-wide: the resident leaves at night."""

    type: ClassVar[str] = "night_wandering"
    kinds: ClassVar[frozenset[ReadingKind]] = ACTIVITY_KINDS

    def __init__(
        self, config: NightWanderingConfig | None = None, *, home: HomeContext | None = None
    ) -> None:
        super().__init__()
        self.cfg = config or NightWanderingConfig()
        ctx = home or HomeContext()
        self.home = HomeContext(
            timezone=ctx.timezone,
            sleep=self.cfg.night_start or ctx.sleep,
            wake=self.cfg.night_end or ctx.wake,
            front_doors=ctx.front_doors,
            rooms=ctx.rooms,
        )
        self.last_act: float | None = None
        self.last_door: float | None = None
        self.pending: float | None = None
        self.open: float | None = None

    def feed(self, reading: Reading) -> list[Detection]:
        """Door events open a candidate; activity inside drops it or ends the alarm."""
        inside, door = activity(reading, self.home, self.type)
        if self.last_door is not None:  # activity right after the door is the leaving itself
            inside = inside[inside > self.last_door + self.cfg.exit_grace_s]
        events = [(float(t), True) for t in door] + [(float(t), False) for t in inside[:1]]
        out: list[Detection] = []
        for ts, is_door in events:  # door events, or the first activity of the block
            out += self.tick(ts)
            if is_door:
                at_home = self.last_act is not None and (
                    self.last_door is None or self.last_act > self.last_door + self.cfg.exit_grace_s
                )
                if (
                    at_home
                    and self.pending is None
                    and self.open is None
                    and bool(self.home.asleep(np.array([ts]))[0])
                ):
                    self.pending = ts
                self.last_door = ts
                continue
            self.pending = None
            if self.open is not None:
                out.append(self._det(ts, self.open, active=False))
                self.open = None
            self.last_act = float(inside[-1])
        return out

    def tick(self, now: float) -> list[Detection]:
        """Confirm a pending departure."""
        if self.pending is None or self.last_door is None:
            return []
        if now - self.last_door < self.cfg.confirm_s:
            return []
        self.open, self.pending = self.pending, None
        return [self._det(self.open, self.open, active=True)]

    def _det(self, ts: float, door_ts: float, *, active: bool) -> Detection:
        return Detection(
            kind=AlarmKind.NIGHT_WANDERING,
            detector=self.type,
            ts=ts,
            active=active,
            message="front door opened at night, resident gone out" if active else "back inside",
            details={"door_ts": door_ts},
            evidence=(
                {"device_id": "front_door", "kind": "door_open", "ts": door_ts, "value": True},
            ),
        )

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {
            "last_act": self.last_act,
            "last_door": self.last_door,
            "pending": self.pending,
            "open": self.open,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.last_act = state["last_act"]
        self.last_door = state["last_door"]
        self.pending = state["pending"]
        self.open = state["open"]
