"""Simulate a home over a span: readings and ground truth, with no broker and no encoding.

``simulate_readings`` is what detectors are tuned and scored against; ``HomeSim`` is the same
model cut into time windows, which the MQTT player and the fleet publish from.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from device_sim.devices import model_for
from device_sim.episodes import Episode, TruthEvent
from device_sim.household import HomeContext
from device_sim.incidents import bind_devices, episode_truth, overlay_episodes
from device_sim.profiles import home_specs
from device_sim.routine import RoutineModel
from device_sim.streams import DeviceReport, DeviceStreams, ProfileSpec
from device_sim.timeline import Timeline
from protocol.home import HomeManifest
from protocol.readings import Reading, ReadingKind

__all__ = [
    "Episode",
    "HomeSim",
    "SimResult",
    "TruthEvent",
    "random_episodes",
    "simulate_readings",
]


@dataclass(frozen=True, slots=True)
class SimResult:
    """Time-ordered readings of every device of the home, and what really happened."""

    readings: list[Reading]
    truth: list[TruthEvent]


# Episodes that take over the resident's whereabouts (routine events inside them do not happen).
_TIMELINE_KINDS = frozenset({"fall", "stop_moving", "night_wandering", "go_out"})


class HomeSim:
    """One home over [start, end): everything its devices send, available window by window."""

    def __init__(
        self,
        home: HomeManifest,
        *,
        start: float,
        end: float,
        seed: int,
        episodes: Sequence[Episode] = (),
        accel: bool = False,
        specs: Mapping[str, ProfileSpec] | None = None,
        datasets_dir: Path | None = None,
    ) -> None:
        if end <= start:
            raise ValueError(f"home {home.home_id}: end {end} is not after start {start}")
        for ep in episodes:
            if not start <= ep.at < end:
                raise ValueError(
                    f"home {home.home_id}: episode {ep.kind} at {ep.at} is outside the "
                    f"simulated span [{start}, {end})"
                )
        self.home = home
        self.start, self.end = start, end
        self.specs = dict(specs) if specs is not None else home_specs(home)
        eps = bind_devices(home, self.specs, list(episodes))
        self.episodes = eps
        rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(home.home_id.encode())])
        routine = RoutineModel(home, rng)
        plan = routine.plan(start, end)
        segments = overlay_episodes(plan.segments, eps, routine.roles, home.rooms, rng)
        self.ctx = HomeContext(
            home=home,
            specs=self.specs,
            timeline=Timeline.from_segments(segments),
            roles=routine.roles,
            start=start,
            end=end,
            seed=seed,
            episodes=eps,
            accel=accel,
            datasets_dir=datasets_dir,
        )
        self.devices: list[DeviceStreams] = []
        for dev in home.devices:
            spec = self.specs[dev.device_id]
            self.devices.append(model_for(spec.family)(self.ctx, dev, spec))
        dead_at = self._silence_devices()
        self.truth = self._truth(plan.events, dead_at)

    def _silence_devices(self) -> dict[str, float]:
        """Apply device_offline and battery_die: the device sends nothing while out."""
        dead_at: dict[str, float] = {}
        by_id = {d.device_id: d for d in self.devices}
        for ep in self.episodes:
            if ep.kind == "device_offline" and ep.device_id:
                by_id[ep.device_id].drop_between(ep.at, ep.at + ep.length_s)
            elif ep.kind == "battery_die" and ep.device_id:
                # A dead device stays dead: its first death counts, later ones cannot happen.
                death = ep.at + ep.length_s
                dead_at[ep.device_id] = min(dead_at.get(ep.device_id, death), death)
                by_id[ep.device_id].drop_between(death, self.end)
        return dead_at

    def _truth(self, routine: list[TruthEvent], dead_at: dict[str, float]) -> list[TruthEvent]:
        hid = self.home.home_id
        busy = [(e.at, e.at + e.length_s) for e in self.episodes if e.kind in _TIMELINE_KINDS]
        out = [e for e in routine if not any(a <= e.ts < b for a, b in busy)]  # did not happen
        for dev_id, spans in self.ctx.off_wrist.items():
            for a, b in spans:
                if not any(e.kind == "off_wrist" and e.at == a for e in self.episodes):
                    out.append(
                        TruthEvent(
                            a, hid, "charging", dev_id, None, 0.0, {"duration_s": round(b - a)}
                        )
                    )
        for ep in self.episodes:
            out += episode_truth(self.ctx, ep, dead_at)
        out = [e for e in out if self.start <= e.ts < self.end]
        out.sort(key=lambda e: e.ts)
        return out

    def reports(self, t0: float, t1: float) -> list[DeviceReport]:
        """Every device's reports with ``t0 <= ts < t1``, in time order."""
        out = [r for d in self.devices for r in d.reports(t0, t1)]
        out.sort(key=lambda r: r.ts)
        return out

    def readings(self, t0: float, t1: float) -> Iterator[Reading]:
        """The reports of [t0, t1) as normalized readings."""
        for rep in self.reports(t0, t1):
            yield from to_readings(rep, self.specs[rep.device_id])


_KINDS = {k.value: k for k in ReadingKind}


def to_readings(rep: DeviceReport, spec: ProfileSpec) -> Iterator[Reading]:
    """One report as readings, one per key (an accelerometer block stays one reading)."""
    for key, value in rep.values.items():
        kind = _KINDS[key]
        if kind is ReadingKind.ACCEL:
            yield Reading(rep.device_id, rep.ts, kind, samples=value, rate_hz=spec.sample_rate_hz)
        else:
            yield Reading(rep.device_id, rep.ts, kind, value=value)


def simulate_readings(
    home: HomeManifest,
    *,
    start: float,
    days: float,
    seed: int,
    episodes: Sequence[Episode] = (),
    accel: bool = False,
    datasets_dir: Path | None = None,
) -> SimResult:
    """Simulate ``days`` of ``home`` from epoch ``start``: readings and ground truth."""
    sim = HomeSim(
        home,
        start=start,
        end=start + days * 86400.0,
        seed=seed,
        episodes=episodes,
        accel=accel,
        datasets_dir=datasets_dir,
    )
    return SimResult(list(sim.readings(sim.start, sim.end)), sim.truth)


# Relative frequency of each random incident kind.
_RANDOM_WEIGHTS: dict[str, float] = {
    "fall": 3.0,
    "stop_moving": 1.0,
    "night_wandering": 2.0,
    "tachycardia": 1.0,
    "bradycardia": 0.5,
    "spo2_low": 1.0,
    "sos": 2.0,
    "device_offline": 1.0,
    "battery_die": 0.5,
    "off_wrist": 1.0,
    "go_out": 2.0,
}
_NEEDS = {
    "tachycardia": "heart_rate",
    "bradycardia": "heart_rate",
    "spo2_low": "spo2",
    "sos": "sos",
    "off_wrist": "worn",
    "battery_die": "battery",
}


def random_episodes(
    home: HomeManifest,
    *,
    start: float,
    days: float,
    seed: int,
    per_day: float,
    specs: Mapping[str, ProfileSpec] | None = None,
) -> list[Episode]:
    """Random incidents (about ``per_day`` a day) of the kinds this home's devices can show.

    Episodes never overlap; night wandering starts between 01:00 and 04:00 local time.
    """
    specs = dict(specs) if specs is not None else home_specs(home)
    have = {str(k) for s in specs.values() for k in s.kinds}
    kinds = [k for k in _RANDOM_WEIGHTS if _NEEDS.get(k, "motion") in have or k not in _NEEDS]
    weights = np.array([_RANDOM_WEIGHTS[k] for k in kinds])
    rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(home.home_id.encode()), 7])
    end = start + days * 86400.0
    n = rng.poisson(per_day * days)
    picks = rng.choice(len(kinds), size=n, p=weights / weights.sum())
    times = np.sort(rng.uniform(start, end, n))
    routine = RoutineModel(home, rng)
    out: list[Episode] = []
    free_from = start
    for t, k in zip(times, picks, strict=True):
        kind = kinds[int(k)]
        at = float(t)
        if kind == "night_wandering":
            mid = routine.midnight(_local_date(routine, at))
            at = mid + 86400.0 + rng.uniform(1.0, 4.0) * 3600.0
        length = Episode(kind, at).length_s * float(rng.uniform(0.7, 1.5))
        if at < free_from or at + length >= end:
            continue
        out.append(Episode(kind, at, length))
        free_from = at + length + 3600.0
    return out


def _local_date(routine: RoutineModel, t: float) -> date:
    return datetime.fromtimestamp(t, routine.tz).date()
