"""The live snapshot: open alarms and open tasks with their clocks against the target."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.alarms.models import OPEN, Alarm
from cloud.console.schemas import Live, LiveAlarm, LiveTask
from cloud.db import utcnow
from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.models import OPEN_STATES, Task, TaskAlarm
from cloud.registry.models import Household, Resident, Worker
from protocol.envelopes import Severity

LIMIT = 500
_RANK = {s.value: s.rank for s in Severity}


@dataclass(frozen=True, slots=True)
class Targets:
    """Response and maintenance targets, seconds."""

    response_s: float
    maintenance_s: float

    @classmethod
    def from_config(cls, config: DispatchConfig) -> Targets:
        """The targets dispatch works to."""
        return cls(config.response_minutes * 60, config.maintenance_hours * 3600)

    def for_severity(self, severity: str) -> float:
        """Target of an alarm not yet in a task."""
        urgent = severity in (Severity.CRITICAL, Severity.HIGH)
        return self.response_s if urgent else self.maintenance_s


def full_name(first: str, last: str) -> str:
    """First and last name joined."""
    return f"{first} {last}".strip()


async def first_residents(
    session: AsyncSession, household_ids: Iterable[str | None]
) -> dict[str, tuple[int, str]]:
    """The first resident (id, name) of each household."""
    ids = {h for h in household_ids if h}
    if not ids:
        return {}
    rows = await session.execute(
        select(Resident.household_id, Resident.id, Resident.first_name, Resident.last_name)
        .where(Resident.household_id.in_(ids))
        .order_by(Resident.id)
    )
    out: dict[str, tuple[int, str]] = {}
    for hid, rid, first, last in rows:
        out.setdefault(hid, (rid, full_name(first, last)))
    return out


async def open_alarms(
    session: AsyncSession, targets: Targets, limit: int = LIMIT
) -> tuple[list[LiveAlarm], bool]:
    """Open alarms, most urgent first, and whether more exist."""
    rows = (
        await session.execute(
            select(Alarm, Household.name, Household.district, Task)
            .outerjoin(Household, Household.id == Alarm.household_id)
            .outerjoin(TaskAlarm, TaskAlarm.alarm_pk == Alarm.id)
            .outerjoin(Task, Task.id == TaskAlarm.task_id)
            .where(Alarm.status == OPEN)
            .order_by(Alarm.raised_at)
            .limit(limit + 1)
        )
    ).all()
    residents = await first_residents(session, (r[0].household_id for r in rows))
    alarms = []
    for alarm, hname, district, task in rows[:limit]:
        rid, rname = residents.get(alarm.household_id or "", (None, None))
        target = (
            (task.deadline_at - task.created_at).total_seconds()
            if task
            else targets.for_severity(alarm.severity)
        )
        alarms.append(
            LiveAlarm(
                id=alarm.alarm_id,
                kind=alarm.kind,
                severity=alarm.severity,
                status=alarm.status,
                detector=alarm.detector,
                started_at=alarm.started_at,
                clock_suspect=alarm.clock_suspect,
                stopped_at=task.arrived_at if task else None,
                target_s=target,
                household_id=alarm.household_id,
                household_name=hname or alarm.home_id,
                district=district or "",
                resident_id=rid,
                resident_name=rname,
                task_number=task.number if task else None,
                task_state=task.state if task else None,
            )
        )
    alarms.sort(key=lambda a: (_RANK.get(a.severity, 9), a.started_at))
    return alarms, len(rows) > limit


async def open_tasks(session: AsyncSession, limit: int = LIMIT) -> tuple[list[LiveTask], bool]:
    """Open tasks, oldest first, and whether more exist."""
    rows = (
        await session.execute(
            select(Task, Household.name, Worker.name)
            .join(Household, Household.id == Task.household_id)
            .outerjoin(Worker, Worker.id == Task.worker_id)
            .where(Task.state.in_([str(s) for s in OPEN_STATES]))
            .order_by(Task.created_at)
            .limit(limit + 1)
        )
    ).all()
    tasks = [
        LiveTask(
            number=t.number,
            kind=t.kind,
            state=t.state,
            alarm_kind=t.alarm_kind,
            severity=t.severity,
            at_risk=t.at_risk,
            unstaffed=t.unstaffed,
            started_at=t.created_at,
            stopped_at=t.arrived_at,
            target_s=(t.deadline_at - t.created_at).total_seconds(),
            household_id=t.household_id,
            household_name=hname,
            worker_name=wname,
        )
        for t, hname, wname in rows[:limit]
    ]
    return tasks, len(rows) > limit


async def snapshot(session: AsyncSession, targets: Targets) -> Live:
    """Everything open now."""
    alarms, more_alarms = await open_alarms(session, targets)
    tasks, more_tasks = await open_tasks(session)
    return Live(
        now=utcnow(),
        target_s=targets.response_s,
        alarms=alarms,
        tasks=tasks,
        truncated=more_alarms or more_tasks,
    )
