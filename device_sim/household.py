"""Per-home facts every device model needs: timeline, rooms, clock offset, episodes, battery."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from device_sim.episodes import Episode
from device_sim.streams import ProfileSpec
from device_sim.timeline import Timeline
from protocol.home import HomeManifest, PairedDevice

F64 = npt.NDArray[np.float64]


@dataclass(slots=True)
class HomeContext:
    """One simulated home over [start, end): what device models read."""

    home: HomeManifest
    specs: dict[str, ProfileSpec]
    timeline: Timeline
    roles: dict[str, int]
    start: float
    end: float
    seed: int
    episodes: Sequence[Episode]
    accel: bool
    datasets_dir: Path | None = None
    # device_id -> [(t0, t1)] when a wearable is off the wrist (charging or an episode)
    off_wrist: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    @property
    def utc_offset_s(self) -> float:
        """The home's UTC offset at the start of the span (seconds)."""
        off = datetime.fromtimestamp(self.start, ZoneInfo(self.home.timezone)).utcoffset()
        return off.total_seconds() if off is not None else 0.0

    def rng(self, device_id: str, purpose: str) -> np.random.Generator:
        """An independent, repeatable random stream for one device and purpose."""
        key = zlib.crc32(f"{self.home.home_id}/{device_id}/{purpose}".encode())
        return np.random.default_rng([self.seed & 0xFFFFFFFF, key])

    def room_index(self, dev: PairedDevice) -> int:
        """Index of the device's room in the manifest's room list."""
        return self.home.rooms.index(dev.room)

    def episodes_for(self, kind: str, device_id: str | None = None) -> list[Episode]:
        """Episodes of ``kind`` (bound to ``device_id`` when given)."""
        return [
            e
            for e in self.episodes
            if e.kind == kind and (device_id is None or e.device_id == device_id)
        ]

    def grid(self, period_s: float, device_id: str, purpose: str) -> F64:
        """Regular report times over the span with a per-device phase and small jitter."""
        rng = self.rng(device_id, purpose + "/grid")
        n = int((self.end - self.start) / period_s) + 2
        t = self.start + rng.uniform(0, period_s) + period_s * np.arange(n)
        t = t + rng.normal(0, 0.02 * period_s, n)
        t = np.sort(t)
        return np.asarray(t[(t >= self.start) & (t < self.end)], dtype=np.float64)


def battery_curve_coin(ctx: HomeContext, device_id: str, times: F64) -> F64:
    """A coin-cell battery: slow drain from a random level."""
    rng = ctx.rng(device_id, "battery")
    level0 = rng.uniform(55, 100)
    per_day = rng.uniform(0.05, 0.2)
    return np.asarray(np.clip(level0 - per_day * (times - ctx.start) / 86400.0, 0, 100), np.float64)


def apply_battery_die(level: F64, times: F64, ep: Episode) -> tuple[F64, float]:
    """Battery falling linearly to 0 over the episode; returns levels and the time of death."""
    if not len(times):
        return level, ep.at + ep.length_s
    at_start = float(np.interp(ep.at, times, level))
    dead_at = ep.at + ep.length_s
    frac = np.clip((times - ep.at) / ep.length_s, 0, 1)
    dying = at_start * (1 - frac)
    return np.asarray(
        np.where(times >= ep.at, np.minimum(level, dying), level), np.float64
    ), dead_at
