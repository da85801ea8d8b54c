"""InfluxDB reads for the resident page: downsampled vitals and activity (through
``cloud.timeseries.queries.downsample``) and each device's last values.

Measurements are those of ``cloud.timeseries.points``: per-minute aggregates with tags
``home_id``, ``device_id``, ``metric`` and fields ``min``, ``mean``, ``max``, ``count``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cloud.console.schemas import CountPoint, Series, SeriesPoint
from cloud.timeseries.queries import INTERVALS, downsample
from cloud.timeseries.writer import InfluxWriter

RANGES: dict[str, tuple[timedelta, str]] = {
    "6h": (timedelta(hours=6), "5m"),
    "24h": (timedelta(hours=24), "15m"),
    "7d": (timedelta(days=7), "1h"),
    "30d": (timedelta(days=30), "6h"),
}
VITAL_METRICS = ("heart_rate", "spo2")
UNITS = {"heart_rate": "bpm", "spo2": "%", "battery": "%", "temperature": "°C", "steps": "steps"}
LAST_SEEN_WINDOW = timedelta(days=30)


def _ns(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000_000


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _rows(series: dict[str, Any]) -> list[dict[str, Any]]:
    cols = series["columns"]
    return [dict(zip(cols, v, strict=True)) for v in series.get("values", [])]


async def household_series(
    influx: InfluxWriter, home_id: str, range_key: str, now: datetime
) -> Series:
    """Vitals (mean with min/max band) and motion counts, bucketed for ``range_key``."""
    span, interval = RANGES[range_key]
    bucket = INTERVALS[interval]
    end = datetime.fromtimestamp((int(now.timestamp()) // bucket + 1) * bucket, UTC)
    start = end - span
    window: dict[str, Any] = {"home_id": home_id, "start": start, "end": end, "interval": interval}
    vitals: dict[str, list[SeriesPoint]] = {}
    for metric in VITAL_METRICS:
        found = await downsample(influx, measurement="vitals", metric=metric, **window)
        vitals[metric] = [
            SeriesPoint(t=p["time"], mean=p["mean"], min=p["min"], max=p["max"])
            for s in found
            for p in s["points"]
        ]
    motion = await downsample(influx, measurement="activity", metric="motion", **window)
    activity = [
        CountPoint(t=p["time"], value=float(p["count"] or 0)) for s in motion for p in s["points"]
    ]
    return Series(start=start, end=end, bucket_s=bucket, vitals=vitals, activity=activity)


async def last_values(
    influx: InfluxWriter, home_id: str, now: datetime
) -> dict[str, dict[str, tuple[datetime, float | None]]]:
    """Per device, per metric: time and mean of the last per-minute aggregate."""
    since = now - LAST_SEEN_WINDOW
    series = await influx.query(
        'SELECT "count", "mean" FROM "vitals", "activity", "device" '
        f'WHERE time >= {_ns(since)} AND "home_id" = $home GROUP BY "device_id", "metric" '
        "ORDER BY time DESC LIMIT 1",
        {"home": home_id},
    )
    out: dict[str, dict[str, tuple[datetime, float | None]]] = {}
    for s in series:
        tags = s.get("tags", {})
        for r in _rows(s):
            per = out.setdefault(tags.get("device_id", ""), {})
            metric = tags.get("metric", "")
            when = _when(r["time"])
            if metric not in per or per[metric][0] < when:
                per[metric] = (when, r["mean"])
    return out
