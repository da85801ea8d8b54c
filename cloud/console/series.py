"""InfluxQL for the resident page: downsampled vitals and activity, devices' last values.

Measurements are those of ``cloud.timeseries.points``: per-minute aggregates with tags
``home_id``, ``device_id``, ``metric`` and fields ``min``, ``mean``, ``max``, ``count``.
The home id is always a bound parameter; times are integer literals we format ourselves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cloud.console.schemas import CountPoint, Series, SeriesPoint

RANGES: dict[str, tuple[timedelta, int]] = {
    "6h": (timedelta(hours=6), 300),
    "24h": (timedelta(hours=24), 900),
    "7d": (timedelta(days=7), 3600),
    "30d": (timedelta(days=30), 6 * 3600),
}
VITAL_METRICS = ("heart_rate", "spo2")
ACTIVITY_METRICS = ("motion",)
UNITS = {"heart_rate": "bpm", "spo2": "%", "battery": "%", "temperature": "°C", "steps": "steps"}
LAST_SEEN_WINDOW = timedelta(days=30)


class Querier(Protocol):
    """Anything that runs InfluxQL like ``InfluxWriter.query``."""

    async def query(self, q: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Series of the first statement (epoch milliseconds)."""
        ...


def _ns(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000_000


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _rows(series: dict[str, Any]) -> list[dict[str, Any]]:
    cols = series["columns"]
    return [dict(zip(cols, v, strict=True)) for v in series.get("values", [])]


def _in(metrics: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"\"metric\" = '{m}'" for m in metrics) + ")"


async def household_series(influx: Querier, home_id: str, range_key: str, now: datetime) -> Series:
    """Vitals (mean with min/max band) and motion counts, bucketed for ``range_key``."""
    span, bucket = RANGES[range_key]
    end = datetime.fromtimestamp((int(now.timestamp()) // bucket + 1) * bucket, UTC)
    start = end - span
    window = f'time >= {_ns(start)} AND time < {_ns(end)} AND "home_id" = $home'
    vitals = await influx.query(
        'SELECT mean("mean") AS "mean", min("min") AS "min", max("max") AS "max" '
        f'FROM "vitals" WHERE {window} AND {_in(VITAL_METRICS)} '
        f'GROUP BY time({bucket}s), "metric" fill(none)',
        {"home": home_id},
    )
    activity = await influx.query(
        f'SELECT sum("count") AS "n" FROM "activity" WHERE {window} AND {_in(ACTIVITY_METRICS)} '
        f"GROUP BY time({bucket}s) fill(none)",
        {"home": home_id},
    )
    out: dict[str, list[SeriesPoint]] = {m: [] for m in VITAL_METRICS}
    for s in vitals:
        metric = s.get("tags", {}).get("metric", "")
        out.setdefault(metric, []).extend(
            SeriesPoint(t=_when(r["time"]), mean=r["mean"], min=r["min"], max=r["max"])
            for r in _rows(s)
        )
    counts = [
        CountPoint(t=_when(r["time"]), value=float(r["n"] or 0)) for s in activity for r in _rows(s)
    ]
    return Series(start=start, end=end, bucket_s=bucket, vitals=out, activity=counts)


async def last_values(
    influx: Querier, home_id: str, now: datetime
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
