"""Per-minute aggregates of the readings (event time): vitals min/mean/max, motion counts,
battery, signal. The gateway ships these, never raw samples."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from protocol import HomeManifest, Reading, ReadingKind, TelemetryBatch, TelemetryPoint
from protocol.envelopes import from_epoch
from protocol.readings import kind_info

NUMERIC = frozenset(
    {
        ReadingKind.HEART_RATE,
        ReadingKind.SPO2,
        ReadingKind.BREATHING_RATE,
        ReadingKind.BATTERY,
        ReadingKind.TEMPERATURE,
        ReadingKind.LINK_QUALITY,
        ReadingKind.ILLUMINANCE,
        ReadingKind.DISTANCE,
    }
)
EVENTS = frozenset({ReadingKind.MOTION, ReadingKind.PRESENCE, ReadingKind.DOOR_OPEN})


_NUMERIC_NAMES = frozenset(k.value for k in NUMERIC)


def _numeric(metric: str) -> bool:
    """A metric aggregated as min/mean/max (else a count): built in, or declared a number."""
    info = kind_info(metric)
    return metric in _NUMERIC_NAMES or (info is not None and info.value_class == "number")


@dataclass(slots=True)
class _Agg:
    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)


class TelemetryAggregator:
    """Accumulates readings per (minute, device, metric); closes minutes as event time passes."""

    def __init__(self, home: HomeManifest, *, lateness_s: float = 30.0) -> None:
        self.home = home
        self.lateness_s = lateness_s
        self._rooms = {d.device_id: d.room for d in home.devices}
        self._aggs: dict[tuple[int, str, str], _Agg] = {}
        self._watermark = -math.inf
        self.late = 0

    def set_rooms(self, home: HomeManifest) -> None:
        """Rooms of a new manifest's devices (hot reload)."""
        self.home = home
        self._rooms = {d.device_id: d.room for d in home.devices}

    def add(self, reading: Reading) -> None:
        """Count one reading into its minute (late readings for a closed minute are counted)."""
        kind = reading.kind
        declared = kind_info(kind)  # a kind a profile declares as data: by its value class
        if _numeric(kind.value):
            value = reading.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                return
            if not math.isfinite(value):
                return
            number = float(value)
        elif kind in EVENTS or (declared is not None and declared.value_class == "bool"):
            if reading.value is not True:
                return
            number = 1.0
        else:
            return
        minute = int(reading.ts // 60)
        if minute * 60 + 60 + self.lateness_s <= self._watermark:
            self.late += 1
            return
        key = (minute, reading.device_id, kind.value)
        agg = self._aggs.get(key)
        if agg is None:
            agg = self._aggs[key] = _Agg()
        agg.add(number)

    def flush(self, now: float, *, force: bool = False) -> TelemetryBatch | None:
        """A batch of every minute that closed by event time ``now`` (all of them if forced)."""
        self._watermark = max(self._watermark, now)
        points = []
        for key in sorted(self._aggs):
            minute, device_id, metric = key
            if not force and minute * 60 + 60 + self.lateness_s > self._watermark:
                continue
            agg = self._aggs.pop(key)
            numeric = _numeric(metric)
            points.append(
                TelemetryPoint(
                    minute=from_epoch(minute * 60),
                    device_id=device_id,
                    metric=metric,
                    room=self._rooms.get(device_id),
                    count=agg.count,
                    min=agg.low if numeric else None,
                    mean=agg.total / agg.count if numeric else None,
                    max=agg.high if numeric else None,
                )
            )
        if not points:
            return None
        return TelemetryBatch(
            batch_id=str(uuid.uuid4()),
            gateway_id=self.home.gateway_id,
            home_id=self.home.home_id,
            points=points[:5000],
        )
