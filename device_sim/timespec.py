"""Durations and times as written in scenario files.

Durations: ``90``, ``45s``, ``20m``, ``1h30m``, ``2d``. Times: ``+10m`` (offset from the start),
``14:30`` (the next such local time), an ISO local datetime, or seconds from the start.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_HM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def parse_duration(value: float | int | str) -> float:
    """Seconds in ``value`` (a number of seconds or text like ``1h30m``); ValueError if bad."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().replace(" ", "")
        parts = _PART.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{value!r} is not a duration (use e.g. 90, 45s, 20m, 1h30m, 2d)")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds < 0:
        raise ValueError(f"duration {value!r} is negative")
    return seconds


def parse_start(value: str | datetime, tz: str) -> float:
    """Epoch of an ISO local datetime in the home's zone (an explicit offset wins)."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.timestamp()


def parse_at(value: float | int | str | datetime, start: float, tz: str) -> float:
    """Epoch of an episode or fault time relative to a run starting at ``start``."""
    if isinstance(value, datetime):
        return parse_start(value, tz)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return start + float(value)
    text = str(value).strip()
    if text.startswith("+"):
        return start + parse_duration(text[1:])
    m = _HM.match(text)
    if m:
        zone = ZoneInfo(tz)
        base = datetime.fromtimestamp(start, zone)
        cand = base.replace(hour=int(m[1]), minute=int(m[2]), second=int(m[3] or 0), microsecond=0)
        if cand.timestamp() < start:
            cand = cand + timedelta(days=1)
        return cand.timestamp()
    try:
        return parse_start(text, tz)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a time (use +20m, 14:30, 2025-11-24T14:30 or seconds from start)"
        ) from None
