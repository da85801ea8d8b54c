"""Reports: response times, false-alarm rates, devices needing an installer.

- Response time is task created → worker on site, for response tasks created in the
  period. A task counts against the target once a worker arrived, or once it is older
  than its target without one (cancelled tasks without a visit do not count).
- False-alarm rate is, over the alarms of tasks resolved in the period, the share whose
  task was resolved with outcome ``false_alarm``, by detector and by device model.
- Devices offline: open ``device_offline`` alarms and gateways marked offline. Low
  battery: open ``battery_low`` alarms and devices whose last battery reading in InfluxDB
  is under ``LOW_BATTERY_PCT``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Integer, case, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.alarms.models import OPEN, Alarm
from cloud.console.schemas import (
    Bin,
    DeviceHealth,
    DeviceIssue,
    FalseAlarms,
    Rate,
    Report,
    ResponseStats,
)
from cloud.dispatch.models import Outcome, Task, TaskAlarm, TaskKind, TaskState
from cloud.gateways.models import Gateway
from cloud.registry.models import Device, Household
from cloud.timeseries.writer import InfluxError, InfluxWriter
from protocol.envelopes import AlarmKind

log = logging.getLogger(__name__)

BIN_S = 300
BINS = 12  # 0–60 min; slower responses go to a last "60+" bin
LOW_BATTERY_PCT = 20.0
ISSUES = 1000


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """One response task of the period."""

    number: str
    household_id: str
    district: str
    created_at: datetime
    arrived_at: datetime | None
    state: str
    target_s: float

    def seconds(self) -> float | None:
        """Created → on site, if a worker arrived."""
        return (self.arrived_at - self.created_at).total_seconds() if self.arrived_at else None

    def counted(self, now: datetime) -> bool:
        """Whether it counts against the target yet."""
        if self.arrived_at is not None:
            return True
        overdue = (now - self.created_at).total_seconds() > self.target_s
        return overdue and self.state != TaskState.CANCELLED


async def response_rows(session: AsyncSession, start: datetime, end: datetime) -> list[ResponseRow]:
    """Response tasks created in ``[start, end)``."""
    rows = await session.execute(
        select(
            Task.number,
            Task.household_id,
            Household.district,
            Task.created_at,
            Task.arrived_at,
            Task.state,
            Task.deadline_at,
        )
        .join(Household, Household.id == Task.household_id)
        .where(Task.kind == TaskKind.RESPONSE, Task.created_at >= start, Task.created_at < end)
        .order_by(Task.created_at)
    )
    return [
        ResponseRow(
            number=number,
            household_id=household_id,
            district=district,
            created_at=created,
            arrived_at=arrived,
            state=state,
            target_s=(deadline - created).total_seconds(),
        )
        for number, household_id, district, created, arrived, state, deadline in rows
    ]


def _quantile(sorted_values: list[float], q: float) -> float:
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def response_stats(rows: list[ResponseRow], now: datetime) -> ResponseStats:
    """Distribution and share within target of the counted tasks."""
    counted = [r for r in rows if r.counted(now)]
    arrived = sorted(s for r in counted if (s := r.seconds()) is not None)
    within = sum(1 for r in counted if (s := r.seconds()) is not None and s <= r.target_s)
    counts = [0] * (BINS + 1)
    for s in arrived:
        counts[min(int(s // BIN_S), BINS)] += 1
    bins = [Bin(lo=i * BIN_S, hi=(i + 1) * BIN_S, count=n) for i, n in enumerate(counts)]
    return ResponseStats(
        count=len(counted),
        within_target=within,
        missed=len(counted) - within,
        share_within_target=within / len(counted) if counted else None,
        median_s=_quantile(arrived, 0.5) if arrived else None,
        p90_s=_quantile(arrived, 0.9) if arrived else None,
        bins=bins if arrived else [],
    )


async def false_alarm_rates(session: AsyncSession, start: datetime, end: datetime) -> FalseAlarms:
    """False-alarm share of resolved tasks' alarms, by detector and by device model."""
    false = func.sum(case((Task.outcome == Outcome.FALSE_ALARM, 1), else_=0)).cast(Integer)
    base = (
        select(func.count(), false)
        .select_from(TaskAlarm)
        .join(Task, Task.id == TaskAlarm.task_id)
        .join(Alarm, Alarm.id == TaskAlarm.alarm_pk)
        .where(Task.state == TaskState.RESOLVED, Task.closed_at >= start, Task.closed_at < end)
    )
    detector = func.coalesce(func.nullif(Alarm.detector, ""), "unknown")
    model = func.coalesce(Device.profile, "unknown")
    by_detector = await session.execute(base.add_columns(detector).group_by(detector))
    by_model = await session.execute(
        base.add_columns(model)
        .outerjoin(
            Device,
            (Device.household_id == Alarm.household_id) & (Device.device_id == Alarm.device_id),
        )
        .group_by(model)
    )

    def rates(rows: Any) -> list[Rate]:
        out = [
            Rate(key=key, total=total, false_alarms=f or 0, rate=(f or 0) / total)
            for total, f, key in rows
            if total
        ]
        return sorted(out, key=lambda r: (-r.rate, r.key))

    return FalseAlarms(by_detector=rates(by_detector), by_model=rates(by_model))


def _device_issue(
    device_id: str,
    model: str,
    home: Household,
    last_seen: datetime | None,
    battery: float | None = None,
) -> DeviceIssue:
    return DeviceIssue(
        device_id=device_id,
        model=model,
        household_id=home.id,
        household_name=home.name or home.id,
        district=home.district,
        last_seen=last_seen,
        battery_pct=battery,
    )


def _alarm_issue(alarm: Alarm, dev: Device | None, home: Household) -> DeviceIssue:
    level = (alarm.details or {}).get("battery_pct")
    battery = None
    if isinstance(level, int | float) and not isinstance(level, bool):
        battery = float(level)
    model = dev.profile if dev else "unknown"
    return _device_issue(alarm.device_id or "", model, home, alarm.raised_at, battery)


async def _alarm_issues(session: AsyncSession, kind: AlarmKind) -> list[DeviceIssue]:
    rows = await session.execute(
        select(Alarm, Device, Household)
        .join(Household, Household.id == Alarm.household_id)
        .outerjoin(
            Device,
            (Device.household_id == Alarm.household_id) & (Device.device_id == Alarm.device_id),
        )
        .where(Alarm.status == OPEN, Alarm.kind == kind)
        .order_by(Alarm.raised_at)
        .limit(ISSUES)
    )
    return [_alarm_issue(a, d, h) for a, d, h in rows]


async def _influx_low_battery(
    session: AsyncSession, influx: InfluxWriter, now: datetime
) -> list[DeviceIssue]:
    since = int((now - timedelta(days=7)).timestamp()) * 1_000_000_000
    series = await influx.query(
        'SELECT "b" FROM (SELECT last("mean") AS "b" FROM "device" '
        f'WHERE "metric" = \'battery\' AND time >= {since} GROUP BY "home_id", "device_id") '
        f'WHERE "b" < {LOW_BATTERY_PCT} GROUP BY "home_id", "device_id" LIMIT 1'
    )
    found: dict[tuple[str, str], tuple[int, float]] = {}
    for s in series[:ISSUES]:
        tags = s.get("tags", {})
        for when, value in s.get("values", [])[:1]:
            found[(tags.get("home_id", ""), tags.get("device_id", ""))] = (when, value)
    if not found:
        return []
    rows = await session.execute(
        select(Device, Household)
        .join(Household, Household.id == Device.household_id)
        .where(tuple_(Device.household_id, Device.device_id).in_(list(found)))
    )
    out = []
    for dev, home in rows:
        when, value = found[(home.id, dev.device_id)]
        seen = datetime.fromtimestamp(when / 1000, now.tzinfo)
        out.append(_device_issue(dev.device_id, dev.profile, home, seen, value))
    return out


async def device_health(
    session: AsyncSession, influx: InfluxWriter | None, now: datetime
) -> DeviceHealth:
    """Devices offline or low on battery, for installers."""
    offline = await _alarm_issues(session, AlarmKind.DEVICE_OFFLINE)
    gateways = await session.execute(
        select(Gateway, Household)
        .join(Household, Household.id == Gateway.household_id)
        .where(Gateway.offline_since.is_not(None), Gateway.revoked_at.is_(None))
        .limit(ISSUES)
    )
    offline += [_device_issue(g.id, "gateway", h, g.last_seen_at) for g, h in gateways]
    low = await _alarm_issues(session, AlarmKind.BATTERY_LOW)
    if influx is not None:
        try:
            measured = await _influx_low_battery(session, influx, now)
        except (InfluxError, httpx.HTTPError) as exc:
            log.warning("battery levels unavailable: %s", exc)
            measured = []
        seen = {(i.household_id, i.device_id) for i in low}
        low += [i for i in measured if (i.household_id, i.device_id) not in seen]
    return DeviceHealth(offline=offline, low_battery=low)


async def build_report(
    session: AsyncSession, influx: InfluxWriter | None, target_s: float, days: int, now: datetime
) -> Report:
    """The whole reports page for the last ``days`` days."""
    start = now - timedelta(days=days)
    return Report(
        start=start,
        end=now,
        target_s=target_s,
        response=response_stats(await response_rows(session, start, now), now),
        false_alarms=await false_alarm_rates(session, start, now),
        devices=await device_health(session, influx, now),
    )
