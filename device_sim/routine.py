"""The daily routine model: sleep, meals, bathroom visits, naps and outings, varied day to day."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from device_sim.episodes import TruthEvent
from device_sim.timeline import OUT, Activity, Segment, overlay
from protocol.home import HomeManifest

MIN = 60.0
HOUR = 3600.0

_ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "bedroom": ("bed",),
    "bathroom": ("bath", "toilet", "wc", "shower"),
    "kitchen": ("kitchen", "cook"),
    "living": ("living", "lounge", "sitting", "dining"),
    "entrance": ("entr", "hall", "door", "corridor"),
}


def room_roles(rooms: list[str]) -> dict[str, int]:
    """Map each routine role (bedroom, bathroom, ...) to a room index of the home."""
    roles: dict[str, int] = {}
    for role, words in _ROLE_WORDS.items():
        hit = next((i for i, r in enumerate(rooms) if any(w in r.lower() for w in words)), None)
        if hit is not None:
            roles[role] = hit
    fallback = roles.get("living", 0)
    for role in _ROLE_WORDS:
        roles.setdefault(role, fallback)
    return roles


def _hm(text: str) -> float:
    h, m = text.split(":")
    return int(h) * HOUR + int(m) * MIN


@dataclass(frozen=True, slots=True)
class RoutinePlan:
    """The resident's whereabouts over a span plus the normal events (truth without alarms)."""

    segments: list[Segment]
    events: list[TruthEvent]


class RoutineModel:
    """Generates day plans for one resident from the manifest's routine, with daily variation."""

    def __init__(self, home: HomeManifest, rng: np.random.Generator) -> None:
        self.home = home
        self.rng = rng
        self.tz = ZoneInfo(home.timezone)
        self.roles = room_roles(home.rooms)
        r = home.resident.routine
        self.wake = _hm(r.wake)
        self.sleep = _hm(r.sleep)
        if self.sleep <= self.wake:
            self.sleep += 24 * HOUR
        self.meals = sorted(_hm(m) for m in r.meals)
        self.outing_p = r.outings_per_week / 7.0

    def midnight(self, day: date) -> float:
        """Epoch of local midnight starting ``day``."""
        return datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp()

    def plan(self, start: float, end: float) -> RoutinePlan:
        """Segments covering [start, end) and the routine's normal events in that span."""
        first = datetime.fromtimestamp(start, self.tz).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end, self.tz).date()
        segments: list[Segment] = []
        events: list[TruthEvent] = []
        day = first
        wake_t = self.midnight(day) + self.wake
        while day <= last:
            next_wake = self.midnight(day + timedelta(days=1)) + self.wake
            next_wake += float(np.clip(self.rng.normal(0, 20 * MIN), -90 * MIN, 90 * MIN))
            segs, evs = self._day(day, wake_t, next_wake)
            segments += segs
            events += evs
            wake_t = next_wake
            day += timedelta(days=1)
        kept = [
            Segment(max(s.t0, start), min(s.t1, end), s.room, s.activity, s.tag)
            for s in segments
            if s.t1 > start and s.t0 < end
        ]
        return RoutinePlan(kept, [e for e in events if start <= e.ts < end])

    def _event(self, ts: float, event: str, **details: object) -> TruthEvent:
        return TruthEvent(ts, self.home.home_id, event, None, None, 0.0, dict(details))

    def _day(
        self, day: date, wake: float, next_wake: float
    ) -> tuple[list[Segment], list[TruthEvent]]:
        rng, roles = self.rng, self.roles
        mid = self.midnight(day)
        bed = mid + self.sleep + float(np.clip(rng.normal(0, 25 * MIN), -2 * HOUR, 2 * HOUR))
        bed = min(max(bed, wake + 10 * HOUR), next_wake - 5 * HOUR)
        segs = self._filler(wake, bed)
        events = [self._event(wake, "wake"), self._event(bed, "sleep")]
        up = wake + rng.uniform(8, 20) * MIN
        segs = self._meals(segs, mid, up, bed)
        segs = overlay(segs, Segment(wake, up, roles["bathroom"], Activity.ACTIVE, "morning_wash"))
        if rng.random() < 0.3:
            t = mid + rng.uniform(13.5, 15.0) * HOUR
            nap_room = roles["bedroom"] if rng.random() < 0.5 else roles["living"]
            length = rng.uniform(20, 90) * MIN
            segs = overlay(segs, Segment(t, t + length, nap_room, Activity.SLEEP, "nap"))
            events.append(self._event(t, "nap", duration_s=round(length)))
        segs, outings = self._outings(segs, up, bed)
        events += outings
        segs = overlay(
            segs,
            Segment(
                bed - rng.uniform(5, 10) * MIN,
                bed,
                roles["bathroom"],
                Activity.ACTIVE,
                "evening_bathroom",
            ),
        )
        segs = overlay(segs, Segment(bed, next_wake, roles["bedroom"], Activity.SLEEP, "sleep"))
        visits = np.sort(rng.uniform(bed + 30 * MIN, next_wake - 20 * MIN, rng.poisson(1.1)))
        visits = visits[np.diff(visits, prepend=-np.inf) > 60 * MIN]  # not twice in an hour
        for t in visits:
            length = rng.uniform(3, 8) * MIN
            segs = overlay(
                segs, Segment(t, t + length, roles["bathroom"], Activity.ACTIVE, "night_bathroom")
            )
            events.append(self._event(float(t), "night_bathroom", duration_s=round(length)))
        return segs, events

    def _meals(self, segs: list[Segment], mid: float, up: float, bed: float) -> list[Segment]:
        """Cooking in the kitchen, then eating in the kitchen or the living room."""
        rng, roles = self.rng, self.roles
        for meal in self.meals:
            t = mid + meal + rng.normal(0, 15 * MIN)
            prep = rng.uniform(10, 30) * MIN
            t = max(t, up + prep)  # breakfast waits for the morning wash
            if t > bed - 30 * MIN:
                continue
            eat_room = roles["kitchen"] if rng.random() < 0.5 else roles["living"]
            segs = overlay(segs, Segment(t - prep, t, roles["kitchen"], Activity.ACTIVE, "cook"))
            eat = Segment(t, t + rng.uniform(15, 30) * MIN, eat_room, Activity.REST, "meal")
            segs = overlay(segs, eat)
        return segs

    def _outings(
        self, segs: list[Segment], up: float, bed: float
    ) -> tuple[list[Segment], list[TruthEvent]]:
        """Zero, one or two trips out that never overlap (meals out replace meals in)."""
        rng = self.rng
        events: list[TruthEvent] = []
        busy: list[tuple[float, float]] = []
        n_out = int(rng.random() < self.outing_p) + int(rng.random() < self.outing_p**2)
        for _ in range(n_out):
            length = float(np.clip(rng.lognormal(np.log(100 * MIN), 0.5), 30 * MIN, 5 * HOUR))
            latest = bed - length - 60 * MIN
            if latest <= up + 30 * MIN:
                continue
            t = float(rng.uniform(up + 30 * MIN, latest))
            if any(t < b + 30 * MIN and t + length > a - 30 * MIN for a, b in busy):
                continue
            busy.append((t, t + length))
            segs = self._outing(segs, t, length)
            events += [
                self._event(t, "go_out", duration_s=round(length)),
                self._event(t + length, "come_home"),
            ]
        return segs, events

    def _outing(self, segs: list[Segment], t: float, length: float) -> list[Segment]:
        entrance = self.roles["entrance"]
        prep = self.rng.uniform(1, 4) * MIN
        back = self.rng.uniform(1, 3) * MIN
        segs = overlay(segs, Segment(t - prep, t, entrance, Activity.ACTIVE, "leaving"))
        segs = overlay(segs, Segment(t, t + length, OUT, Activity.OUT, "out"))
        return overlay(
            segs, Segment(t + length, t + length + back, entrance, Activity.ACTIVE, "arriving")
        )

    def _filler(self, t0: float, t1: float) -> list[Segment]:
        """Daytime moves between rooms with plausible dwell times (a small Markov walk)."""
        rng, roles = self.rng, self.roles
        # role, activity, mean dwell (min), weight
        choices = [
            ("living", Activity.REST, 35.0, 0.45),
            ("kitchen", Activity.ACTIVE, 10.0, 0.2),
            ("bedroom", Activity.ACTIVE, 12.0, 0.12),
            ("bathroom", Activity.ACTIVE, 6.0, 0.1),
            ("entrance", Activity.ACTIVE, 2.0, 0.08),
        ]
        weights = np.array([c[3] for c in choices])
        # cumulative choice tables: row k never picks k again (no two stays in one room)
        table = np.tile(weights, (len(choices) + 1, 1))
        table[np.arange(len(choices)), np.arange(len(choices))] = 0.0
        table = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
        n = int((t1 - t0) / (5 * MIN)) + 4  # more than enough stays (mean ~18 min)
        u = rng.random(n).tolist()
        spread = rng.gamma(2.0, 0.5, size=n).tolist()
        rows = table.tolist()
        segs: list[Segment] = []
        t, prev = t0, len(choices)  # the row with no previous room
        for i in range(n):
            prev = min(bisect.bisect_right(rows[prev], u[i]), len(choices) - 1)
            role, act, mean_min, _ = choices[prev]
            end = t + max(mean_min * MIN * spread[i], 30.0)
            segs.append(Segment(t, min(end, t1), roles[role], act, "day"))
            t = end
            if t >= t1:
                break
        last = segs[-1]
        segs[-1] = Segment(last.t0, t1, last.room, last.activity, last.tag)
        return segs
