"""Night-time wandering: the resident goes out in the night, or walks about for long.

Walking about: after a silence of ``slept_s`` (the resident had settled), activity in
``min_rooms`` rooms or more through the night hours for ``wander_s`` with no silence over
``pause_s``
(a trip to the toilet is a few minutes), at least ``margin_s`` away from bedtime and wake
time; it ends after such a silence.

A front-door opening in the night window, with activity inside in the ``lead_s`` before
it (the resident walked to the door from inside, not in from outside), opens a candidate;
activity inside more than ``exit_grace_s`` after the last door event drops it (they stayed
in). After ``confirm_s`` with no such activity the resident is taken to have gone out: an
alarm, ended by the next activity inside (back home).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge.detectors.base import Detection, Detector
from edge.detectors.home import ACTIVITY_KINDS, ActivityTracker, HomeContext
from edge.detectors.routine import RoutineLearner
from edge.detectors.signal import F64
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
    wander_s: float = Field(
        default=900.0,
        gt=0,
        title="Wander",
        description="Walking about at night this long without a pause raises, s.",
    )
    pause_s: float = Field(
        default=1200.0, gt=0, title="Pause", description="A silence this long ends a walk, s."
    )
    min_rooms: int = Field(
        default=3, ge=1, title="Rooms", description="Walking about must cover this many rooms."
    )
    margin_s: float = Field(
        default=3600.0,
        ge=0,
        title="Margin",
        description="Walking about counts only this far inside the night hours, s.",
    )
    slept_s: float = Field(
        default=2700.0,
        gt=0,
        title="Slept",
        description="A walk counts only after a silence this long (the resident had settled), s.",
    )
    lead_s: float = Field(
        default=900.0,
        gt=0,
        title="Lead",
        description="Activity inside this soon before the door: the resident walked out, s.",
    )
    exit_grace_s: float = Field(
        default=10.0,
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
        self.base = home or HomeContext()
        self.home = self.base
        self.routine = RoutineLearner()
        self._use_routine()
        self.activity = ActivityTracker(self.base)
        self.last_act: float | None = None
        self.last_door: float | None = None
        self.pending: float | None = None
        self.open: float | None = None
        self.how = "door"
        self.run_start: float | None = None
        self.run_rooms: list[str] = []
        self.run_slept = False

    def feed(self, reading: Reading) -> list[Detection]:
        """Door openings open a candidate; activity inside drops it, ends a departure alarm,
        or builds up restless walking."""
        inside, door = self.activity(reading, self.type)
        if self.last_door is not None:  # activity right after the door is the leaving itself
            inside = inside[inside > self.last_door + self.cfg.exit_grace_s]
        out: list[Detection] = []
        for ts in door.tolist():  # once per door opening
            out += self.tick(ts)
            at_home = (
                self.last_act is not None
                and ts - self.last_act <= self.cfg.lead_s
                and (self.last_door is None or self.last_act > self.last_door)
            )
            if at_home and self.pending is None and self.open is None and self._night(ts):
                self.pending = ts
            self.last_door = ts
        if not len(inside):
            return out
        out += self.tick(float(inside[0]))
        self.pending = None
        if self.open is not None and self.how == "door":
            out.append(self._det(float(inside[0]), active=False))
            self.open = None
        out += self._restless(inside, self.home.rooms.get(reading.device_id, reading.device_id))
        home_all_along = self.last_door is None or (
            self.last_act is not None and self.last_act > self.last_door
        )
        last = self.last_act if home_all_along and self.last_act is not None else np.nan
        prev = np.concatenate(([last], inside[:-1]))
        keep = ~np.isnan(prev)
        if self.routine.observe(self.base, prev[keep], inside[keep]):
            self._use_routine()
        self.last_act = float(inside[-1])
        return out

    def _use_routine(self) -> None:
        """The night: the configured hours, else the learned median bedtime and wake."""
        learned = self.routine.context(self.base, 0.5, 0.5)
        self.home = replace(
            learned,
            sleep=self.cfg.night_start or learned.sleep,
            wake=self.cfg.night_end or learned.wake,
        )

    def _night(self, ts: float) -> bool:
        return bool(self.home.asleep(np.array([ts]))[0])

    def _restless(self, t: F64, room: str) -> list[Detection]:
        """Walking about at night with no pause over ``pause_s``, in two rooms or more."""
        prev = self.last_act if self.last_act is not None else -math.inf
        breaks = np.flatnonzero(np.diff(np.concatenate(([prev], t))) > self.cfg.pause_s)
        first_end = int(breaks[0]) if len(breaks) else len(t)
        out: list[Detection] = []
        knows_night = self.routine.learned() or bool(self.cfg.night_start and self.cfg.night_end)
        if (
            knows_night
            and first_end > 0
            and self.run_start is not None
            and self.open is None
            and self.run_slept
        ):
            rooms = {*self.run_rooms, room}
            seg = t[:first_end]
            hit = np.flatnonzero(
                (seg - self.run_start >= self.cfg.wander_s)
                & self.home.asleep(seg - self.cfg.margin_s)
                & self.home.asleep(seg + self.cfg.margin_s)
            )
            if len(rooms) >= self.cfg.min_rooms and len(hit):
                self.open, self.how = float(seg[hit[0]]), "restless"
                out.append(self._det(self.open, active=True))
        if len(breaks):
            if self.open is not None and self.how == "restless":
                out.append(
                    self._det(
                        float(t[breaks[0] - 1] if breaks[0] else prev) + self.cfg.pause_s,
                        active=False,
                    )
                )
                self.open = None
            k = int(breaks[-1])
            before = float(t[k - 1]) if k else prev
            self.run_start, self.run_rooms = float(t[k]), [room]
            self.run_slept = float(t[k]) - before >= self.cfg.slept_s
        elif room not in self.run_rooms:
            self.run_rooms = [*self.run_rooms, room]
        return out

    def tick(self, now: float) -> list[Detection]:
        """Confirm a pending departure; end restless walking after a pause."""
        out: list[Detection] = []
        restless = self.open is not None and self.how == "restless"
        if restless and self.last_act is not None and now - self.last_act > self.cfg.pause_s:
            out.append(self._det(self.last_act + self.cfg.pause_s, active=False))
            self.open = None
        if self.pending is None or self.last_door is None:
            return out
        if now - self.last_door < self.cfg.confirm_s:
            return out
        self.open, self.pending, self.how = self.pending, None, "door"
        return [*out, self._det(self.open, active=True)]

    def _det(self, ts: float, *, active: bool) -> Detection:
        door = self.how == "door"
        what = "front door opened at night, resident gone out" if door else "walking about at night"
        start = self.open if self.open is not None else ts
        return Detection(
            kind=AlarmKind.NIGHT_WANDERING,
            detector=self.type,
            ts=ts,
            active=active,
            message=what if active else ("back inside" if door else "settled again"),
            details={"trigger": self.how, "since": start},
            evidence=(
                {
                    "device_id": "front_door" if door else "home",
                    "kind": "door_open" if door else "motion",
                    "ts": start,
                    "value": True,
                },
            ),
        )

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {
            "activity": self.activity.state(),
            "last_act": self.last_act,
            "last_door": self.last_door,
            "pending": self.pending,
            "open": self.open,
            "how": self.how,
            "run_start": self.run_start,
            "run_rooms": list(self.run_rooms),
            "run_slept": self.run_slept,
            "routine": self.routine.state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.activity.restore(state["activity"])
        self.last_act = state["last_act"]
        self.last_door = state["last_door"]
        self.pending = state["pending"]
        self.open = state["open"]
        self.how = str(state["how"])
        self.run_start = state["run_start"]
        self.run_rooms = [str(r) for r in state["run_rooms"]]
        self.run_slept = bool(state["run_slept"])
        self.routine.restore(state["routine"])
        self._use_routine()
