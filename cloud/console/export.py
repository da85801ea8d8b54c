"""CSV exports of the report sections (cells that a spreadsheet would run are defused)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from cloud.console.reports import ResponseRow
from cloud.console.schemas import DeviceHealth, FalseAlarms


class Section(StrEnum):
    """What a CSV export holds."""

    RESPONSES = "responses"
    FALSE_ALARMS = "false_alarms"
    DEVICES = "devices"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """RFC 4180 CSV text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buf.getvalue()


def responses_csv(rows: list[ResponseRow], now: datetime) -> str:
    """One line per response task of the period."""
    return to_csv(
        ["task", "household_id", "district", "created_at", "on_site_at", "response_s",
         "target_s", "within_target", "counted"],
        (
            [
                r.number, r.household_id, r.district, r.created_at, r.arrived_at,
                None if (s := r.seconds()) is None else round(s, 1), r.target_s,
                s is not None and s <= r.target_s, r.counted(now),
            ]
            for r in rows
        ),
    )  # fmt: skip


def false_alarms_csv(rates: FalseAlarms) -> str:
    """One line per detector and per device model."""
    rows = [("detector", r) for r in rates.by_detector] + [("model", r) for r in rates.by_model]
    return to_csv(
        ["group", "key", "resolved", "false_alarms", "rate"],
        ([group, r.key, r.total, r.false_alarms, round(r.rate, 4)] for group, r in rows),
    )


def devices_csv(health: DeviceHealth) -> str:
    """One line per device offline or low on battery."""
    rows = [("offline", d) for d in health.offline]
    rows += [("low_battery", d) for d in health.low_battery]
    return to_csv(
        ["issue", "device_id", "model", "household_id", "household", "district", "last_seen",
         "battery_pct"],
        (
            [issue, d.device_id, d.model, d.household_id, d.household_name, d.district,
             d.last_seen, d.battery_pct]
            for issue, d in rows
        ),
    )  # fmt: skip
