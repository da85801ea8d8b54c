"""A task's detail: summary, the merged timeline of its case, and its verified audit trail."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.alarms.models import Alarm, AlarmEvent
from cloud.console.access import Viewer
from cloud.console.live import first_residents
from cloud.console.schemas import AuditEntry, TaskDetail, TaskSummary, TimelineEntry
from cloud.dispatch.audit import verify_events
from cloud.dispatch.models import Task, TaskAlarm, TaskEvent
from cloud.registry.models import Household, Worker

NUMBER_PATTERN = r"^T\d{8}-\d{4,6}$"
_WORKER_ACTOR = re.compile(r"^worker:(\d+)$")


def _words(value: str) -> str:
    return value.replace("_", " ")


async def _worker_names(session: AsyncSession, actors: set[str]) -> dict[str, str]:
    """``worker:12`` -> ``Li Na (worker:12)`` for the workers among ``actors``."""
    ids = {int(m.group(1)) for a in actors if (m := _WORKER_ACTOR.match(a))}
    if not ids:
        return {}
    rows = await session.execute(select(Worker.id, Worker.name).where(Worker.id.in_(ids)))
    return {f"worker:{wid}": f"{name} (worker:{wid})" for wid, name in rows}


def _detail_text(viewer: Viewer, detail: dict[str, Any]) -> str:
    parts = [
        f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
        for k, v in sorted(detail.items())
    ]
    return viewer.text(", ".join(parts))[:300]


def _alarm_steps(viewer: Viewer, alarm: Alarm, events: list[AlarmEvent]) -> list[TimelineEntry]:
    where = f"{alarm.detector}" + (f" in {alarm.room}" if alarm.room else "")
    steps = [
        TimelineEntry(
            at=alarm.started_at,
            label=f"Alarm raised: {_words(alarm.kind)} ({alarm.severity})",
            actor=alarm.gateway_id,
            note=viewer.text(where)
            + (
                f" (device clock suspect: {alarm.raised_at.isoformat()})"
                if alarm.clock_suspect
                else ""
            ),
        ),
        TimelineEntry(
            at=alarm.received_at, label="Alarm received by the cloud", actor="cloud", note=""
        ),
    ]
    steps += [
        TimelineEntry(
            at=e.ts,
            label=f"Alarm {_words(e.action)}" + (f" ({e.severity})" if e.severity else ""),
            actor=alarm.gateway_id,
            note=viewer.text(e.reason)[:300],
        )
        for e in events
        if e.action != "raised"
    ]
    return steps


async def task_detail(session: AsyncSession, viewer: Viewer, number: str) -> TaskDetail:
    """Everything about one task (404 naming the number when unknown)."""
    row = (
        await session.execute(
            select(Task, Household.name, Worker.name)
            .join(Household, Household.id == Task.household_id)
            .outerjoin(Worker, Worker.id == Task.worker_id)
            .where(Task.number == number)
        )
    ).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"number: no task {number}")
    task, hname, wname = row
    alarms = list(
        await session.scalars(
            select(Alarm)
            .join(TaskAlarm, TaskAlarm.alarm_pk == Alarm.id)
            .where(TaskAlarm.task_id == task.id)
            .order_by(Alarm.raised_at)
        )
    )
    alarm_events = list(
        await session.scalars(
            select(AlarmEvent)
            .where(AlarmEvent.alarm_pk.in_([a.id for a in alarms]))
            .order_by(AlarmEvent.ts)
        )
    )
    events = list(
        await session.scalars(
            select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.seq)
        )
    )
    check = verify_events(task, events)
    names = await _worker_names(session, {e.actor for e in events})
    residents = await first_residents(session, [task.household_id])
    timeline = [
        step
        for a in alarms
        for step in _alarm_steps(viewer, a, [e for e in alarm_events if e.alarm_pk == a.id])
    ]
    timeline += [
        TimelineEntry(
            at=e.ts,
            label=_words(e.action).capitalize(),
            actor=viewer.text(names.get(e.actor, e.actor)),
            note=_detail_text(viewer, e.detail),
        )
        for e in events
    ]
    timeline.sort(key=lambda t: t.at)
    return TaskDetail(
        task=TaskSummary(
            number=task.number,
            kind=task.kind,
            state=task.state,
            outcome=task.outcome,
            alarm_kind=task.alarm_kind,
            severity=task.severity,
            household_id=task.household_id,
            household_name=hname,
            resident_id=residents.get(task.household_id, (None,))[0],
            worker_name=wname,
            created_at=task.created_at,
            deadline_at=task.deadline_at,
            arrived_at=task.arrived_at,
            closed_at=task.closed_at,
            response_s=(task.arrived_at - task.created_at).total_seconds()
            if task.arrived_at
            else None,
        ),
        timeline=timeline,
        audit=[
            AuditEntry(
                seq=e.seq,
                at=e.ts,
                action=e.action,
                actor=viewer.text(names.get(e.actor, e.actor)),
                channel=e.channel,
                detail=_detail_text(viewer, e.detail),
                prev_hash=e.prev_hash,
                hash=e.hash,
            )
            for e in events
        ],
        chain_ok=check.ok,
        chain_reason=check.reason,
    )
