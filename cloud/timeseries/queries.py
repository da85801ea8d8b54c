"""Downsampled reads of a home's time series, for charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cloud.timeseries.writer import InfluxWriter

INTERVALS = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "6h": 21600,
    "1d": 86400,
}
MAX_POINTS = 500


def pick_interval(start: datetime, end: datetime) -> str:
    """The smallest interval giving at most ``MAX_POINTS`` buckets."""
    span = (end - start).total_seconds()
    for name, seconds in INTERVALS.items():
        if span / seconds <= MAX_POINTS:
            return name
    return "1d"


def _ns(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000_000


async def downsample(
    writer: InfluxWriter,
    *,
    measurement: str,
    home_id: str,
    metric: str,
    start: datetime,
    end: datetime,
    interval: str,
    by: str | None = None,
) -> list[dict[str, Any]]:
    """Per-bucket min / mean / max / count of ``metric`` (one series per ``by`` tag value)."""
    if interval not in INTERVALS or measurement not in {"vitals", "activity", "device"}:
        raise ValueError("interval or measurement not allowed")
    group = f"time({interval})" + (f', "{by}"' if by in {"room", "device_id"} else "")
    q = (
        'SELECT min("min") AS "min", mean("mean") AS "mean", max("max") AS "max", '
        f'sum("count") AS "count" FROM "{measurement}" '
        'WHERE "home_id" = $home AND "metric" = $metric '
        f"AND time >= {_ns(start)} AND time < {_ns(end)} GROUP BY {group} fill(none)"
    )
    out = []
    for series in await writer.query(q, {"home": home_id, "metric": metric}):
        cols = series["columns"]
        points = [
            {**dict(zip(cols, row, strict=True)), "time": _iso(row[0])} for row in series["values"]
        ]
        out.append({"tags": series.get("tags", {}), "points": points})
    return out


def _iso(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat()
