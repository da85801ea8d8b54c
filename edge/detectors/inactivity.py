"""Inactivity against the home's learned routine, and "not up by the usual time".

Inactivity: no activity anywhere in the home for longer than this home allows at the hour
the silence began. The allowance per hour of day is learned online from the silences seen
at that hour (and the hours beside it): ``factor`` times their ``quantile``, kept between
``floor_s`` and ``ceiling_s``; until ``min_samples`` silences are known it is ``prior_s``.
Nothing fires while the resident is away (the front door opened with no activity after
it) nor before the resident is up (that is the not-up condition), nor in the sleep hours;
but a silence past ``ceiling_s`` always fires. Silences that raised an alarm, and
getting-up delays past ``up_max_s``, are not learned as routine.

Not up: no activity since ``early_s`` before the usual wake time, by the deadline. The
deadline is the wake time plus the learned delay of getting up (``up_quantile`` of recent
days plus ``up_slack_s``, kept between ``up_min_s`` and ``up_max_s``).

Both end (inactive detection) at the next activity.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge.detectors.base import Detection, Detector
from edge.detectors.home import ACTIVITY_KINDS, DAY, ActivityTracker, HomeContext
from edge.detectors.routine import RoutineLearner
from edge.detectors.sensor_silence import SensorSilenceConfig, SensorWatch
from edge.detectors.signal import F64
from protocol import AlarmKind, Reading, ReadingKind

HOUR = 3600.0


class InactivityConfig(BaseModel):
    """Inactivity and not-up limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["inactivity"] = Field(
        default="inactivity", title="Type", description="Detector type."
    )
    enabled: bool = Field(default=True, title="Enabled", description="Run this detector.")
    floor_s: float = Field(
        default=2 * HOUR, gt=0, title="Floor", description="Shortest allowed silence, s."
    )
    ceiling_s: float = Field(
        default=12 * HOUR, gt=0, title="Ceiling", description="Longest allowed silence, s."
    )
    prior_s: float = Field(
        default=6 * HOUR, gt=0, title="Prior", description="Allowed silence while learning, s."
    )
    factor: float = Field(
        default=1.5, ge=1, title="Factor", description="Allowed = factor x learned quantile."
    )
    quantile: float = Field(
        default=0.99, gt=0, le=1, title="Quantile", description="Of the silences at this hour."
    )
    min_samples: int = Field(
        default=10, ge=1, title="Min samples", description="Silences needed before learning."
    )
    history: int = Field(
        default=60, ge=1, title="History", description="Silences kept per hour of day."
    )
    min_gap_s: float = Field(
        default=600.0, ge=0, title="Min gap", description="Shorter silences are not learned, s."
    )
    exit_grace_s: float = Field(
        default=120.0,
        ge=0,
        title="Exit grace",
        description="Activity this soon after the front door does not prove the resident home, s.",
    )
    early_s: float = Field(
        default=2 * HOUR, ge=0, title="Early", description="Up counts from this before wake, s."
    )
    up_quantile: float = Field(
        default=0.9, gt=0, le=1, title="Up quantile", description="Of recent getting-up delays."
    )
    up_slack_s: float = Field(
        default=HOUR, ge=0, title="Up slack", description="Added to the learned delay, s."
    )
    up_min_s: float = Field(
        default=HOUR, ge=0, title="Up min", description="Shortest not-up deadline after wake, s."
    )
    up_max_s: float = Field(
        default=4 * HOUR, ge=0, title="Up max", description="Longest not-up deadline after wake, s."
    )
    up_days: int = Field(
        default=14, ge=1, title="Up days", description="Days of getting-up delays kept."
    )
    sleep_nights: int = Field(
        default=14, ge=1, title="Sleep nights", description="Nights kept to learn sleep and wake."
    )
    sleep_min_nights: int = Field(
        default=3,
        ge=1,
        title="Sleep min nights",
        description="Nights needed before the learned sleep and wake replace the routine.",
    )
    bed_quantile: float = Field(
        default=0.25,
        ge=0,
        le=1,
        title="Bed quantile",
        description="Sleep hours start at this quantile of the learned bedtimes.",
    )
    wake_quantile: float = Field(
        default=0.5,
        ge=0,
        le=1,
        title="Wake quantile",
        description="Wake time at this quantile of the learned getting-up times.",
    )


class InactivityDetector(Detector):
    """Home-wide: inactivity and not-up."""

    type: ClassVar[str] = "inactivity"
    kinds: ClassVar[frozenset[ReadingKind]] = ACTIVITY_KINDS

    def __init__(
        self,
        config: InactivityConfig | None = None,
        *,
        home: HomeContext | None = None,
        sensors: SensorSilenceConfig | None = None,
    ) -> None:
        super().__init__()
        self.cfg = config or InactivityConfig()
        self.base = home or HomeContext()
        self.home = self.base  # with the learned sleep and wake once known
        self.routine = RoutineLearner(
            nights=self.cfg.sleep_nights, min_nights=self.cfg.sleep_min_nights
        )
        self.activity = ActivityTracker(self.base)
        self.sensors = SensorWatch(sensors or SensorSilenceConfig(), self.base)
        self.last_act: float | None = None
        self.last_door: float | None = None
        self.open: dict[str, float] = {}  # kind -> start of the silence
        self.gaps: list[list[float]] = [[] for _ in range(24)]
        self.up_delays: list[float] = []
        self.up_day = -1

    # -- learning ------------------------------------------------------------------------

    def allowed(self, start: float) -> float:
        """Silence allowed from ``start`` (epoch), from the profile of that hour."""
        h = int(self.home.hour(start)) % 24
        pool = self.gaps[(h - 1) % 24] + self.gaps[h] + self.gaps[(h + 1) % 24]
        if len(pool) < self.cfg.min_samples:
            return self.cfg.prior_s
        q = float(np.quantile(np.asarray(pool), self.cfg.quantile))
        return min(self.cfg.ceiling_s, max(self.cfg.floor_s, self.cfg.factor * q))

    def up_deadline(self, wake: float) -> float:
        """Not-up deadline of the day whose wake time is ``wake``."""
        if len(self.up_delays) < 3:
            return wake + self.cfg.up_max_s
        q = float(np.quantile(np.asarray(self.up_delays), self.cfg.up_quantile))
        return wake + min(self.cfg.up_max_s, max(self.cfg.up_min_s, q + self.cfg.up_slack_s))

    def _learn(self, t: F64) -> None:
        """Learn the silences ending at ``t`` (activity times, at home) and the getting-up."""
        home = self.home
        prev = np.concatenate(([self.last_act if self.last_act is not None else np.nan], t[:-1]))
        gaps = t - prev
        learn = (
            (gaps >= self.cfg.min_gap_s)
            & (home.last_local(t, home.sleep) < prev)
            & ~home.asleep(t)
            & ~home.asleep(np.nan_to_num(prev))
        )
        hours = home.hours(np.nan_to_num(prev)).astype(int) % 24
        for h, g in zip(hours[learn].tolist(), gaps[learn].tolist(), strict=True):
            self.gaps[h].append(g)  # once per silence of a minute or more
            del self.gaps[h][: -self.cfg.history]
        if np.isnan(prev[0]):
            return  # first activity, or back from outside: no getting-up to learn
        wakes = home.last_local(t, home.wake)
        up = t >= wakes - self.cfg.early_s
        days = np.floor((wakes + home.offset(float(t[0]))) / DAY).astype(int)
        new_days, first = np.unique(days[up], return_index=True)
        for day, i in zip(new_days.tolist(), first.tolist(), strict=True):  # once per day
            delay = float(t[up][i] - wakes[up][i])
            if day > self.up_day and delay <= self.cfg.up_max_s:
                self.up_day = day
                self.up_delays.append(max(0.0, delay))
                del self.up_delays[: -self.cfg.up_days]

    def _learn_routine(self, t: F64, home_all_along: bool) -> None:
        """The silences at home ending in ``t`` teach sleep and wake (not while a sensor is
        silent: the nights it leaves out are not the resident's)."""
        if self.sensors.silent:
            return
        if self.last_act is None or not home_all_along:
            prev, t = t[:-1], t[1:]
        else:
            prev = np.concatenate(([self.last_act], t[:-1]))
        if self.routine.observe(self.base, prev, t):
            self._use_routine()

    def _use_routine(self) -> None:
        self.home = self.routine.context(self.base, self.cfg.bed_quantile, self.cfg.wake_quantile)

    # -- streaming -----------------------------------------------------------------------

    def feed(self, reading: Reading) -> list[Detection]:
        """Activity ends open conditions and teaches the profile."""
        self.sensors.feed(reading, self.type)
        inside, door = self.activity(reading, self.type)
        if len(door):
            self.last_door = max(float(door[-1]), self.last_door or -math.inf)
        if self.last_door is not None:
            inside = inside[inside > self.last_door + self.cfg.exit_grace_s]
        if not len(inside):
            return []
        t0 = float(inside[0])
        out = self.tick(t0)
        for kind, start in sorted(self.open.items()):
            out.append(self._det(AlarmKind(kind), t0, start, active=False))
        home_all_along = (
            self.last_act is None or self.last_door is None or self.last_door < self.last_act
        )
        self._learn_routine(inside, home_all_along)  # a false not-up still teaches the wake
        if not home_all_along or self.open or self.sensors.silent:
            # back home, or an alarm, or a sensor broken: that silence is not routine
            self.last_act = None
        self.open = {}
        self._learn(inside)
        self.last_act = float(inside[-1])
        return out

    def tick(self, now: float) -> list[Detection]:
        """Fire inactivity or not-up when their time has come."""
        last = self.last_act
        away = self.last_door is not None and (last is None or last <= self.last_door)
        if last is None or away or self.open:
            return []
        kind, ts = AlarmKind.INACTIVITY, last + self.cfg.ceiling_s
        if now < ts:  # within the ceiling: the routine, the hour and sleep decide
            if bool(self.home.asleep(np.array([now]))[0]):
                return []
            wake = float(self.home.last_local(np.array([now]), self.home.wake)[0])
            if last < wake - self.cfg.early_s:
                kind, ts = AlarmKind.NOT_UP, self.up_deadline(wake)
            else:
                ts = last + self.allowed(last)
            if now < ts:
                return []
        self.open[kind] = last
        return [self._det(kind, ts, last, active=True)]

    def _det(self, kind: AlarmKind, ts: float, start: float, *, active: bool) -> Detection:
        silent = ts - start
        what = "no activity" if kind == AlarmKind.INACTIVITY else "not up"
        return Detection(
            kind=kind,
            detector=self.type,
            ts=ts,
            active=active,
            message=f"{what} for {silent / HOUR:.1f} h" if active else "activity again",
            details={"silence_s": round(silent, 1), "last_activity": start},
            evidence=(
                {
                    "device_id": "home",
                    "kind": "motion",
                    "ts": start,
                    "summary": {"stillness_s": round(silent, 1)},
                },
            ),
        )

    # -- state ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """JSON state, including the learned profile."""
        return {
            "activity": self.activity.state(),
            "last_act": self.last_act,
            "last_door": self.last_door,
            "open": dict(self.open),
            "gaps": [list(g) for g in self.gaps],
            "up_delays": list(self.up_delays),
            "up_day": self.up_day,
            "routine": self.routine.state(),
            "sensors": self.sensors.state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.activity.restore(state["activity"])
        self.last_act = state["last_act"]
        self.last_door = state["last_door"]
        self.open = {str(k): float(v) for k, v in state["open"].items()}
        self.gaps = [[float(x) for x in g] for g in state["gaps"]]
        self.up_delays = [float(x) for x in state["up_delays"]]
        self.up_day = int(state["up_day"])
        self.routine.restore(state["routine"])
        self.sensors.restore(state["sensors"])
        self._use_routine()
