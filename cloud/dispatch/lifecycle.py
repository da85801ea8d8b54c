"""Task transitions: open or join, accept, decline, en route, arrive, resolve, cancel.

Every function runs inside the caller's transaction with the task row locked, writes its
audit entry, and queues its notifications in the outbox in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.dispatch import audit
from cloud.dispatch.actors import Actor, TransitionError, worker_recipient
from cloud.dispatch.facts import load_home, task_facts
from cloud.dispatch.family import notify_family
from cloud.dispatch.models import (
    OPEN_STATES,
    Clue,
    Offer,
    Outcome,
    Task,
    TaskAlarm,
    TaskKind,
    TaskState,
)
from cloud.dispatch.offering import PENDING, Offering
from cloud.dispatch.staffing import retry_waiting
from cloud.models import Alarm, FamilyContact, Worker
from cloud.notify import texts
from cloud.notify.outbox import enqueue
from cloud.privacy.policy import Audience, render
from protocol import Severity

logger = logging.getLogger(__name__)


async def next_number(session: AsyncSession, now: datetime) -> str:
    """``T<yyyymmdd>-<nnnn>``: a per-day counter, atomic on PostgreSQL and SQLite."""
    day = now.strftime("%Y%m%d")
    last = await session.scalar(
        text(
            "INSERT INTO dispatch_task_counters (day, last) VALUES (:day, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = dispatch_task_counters.last + 1 "
            "RETURNING last"
        ),
        {"day": day},
    )
    return f"T{day}-{int(last or 0):04d}"


class Lifecycle(Offering):
    """The dispatch policy applied to one locked task at a time."""

    # ---- opening ------------------------------------------------------------------------
    async def open_or_join(
        self, session: AsyncSession, alarm: Alarm, kind: TaskKind, now: datetime
    ) -> Task:
        """Join the household's open task of this kind, or open a new one."""
        assert alarm.household_id is not None
        task = await session.scalar(
            select(Task)
            .where(
                Task.household_id == alarm.household_id,
                Task.kind == kind,
                Task.state.in_(OPEN_STATES),
            )
            .order_by(Task.id)
            .limit(1)
            .with_for_update()
        )
        if task is not None:
            session.add(TaskAlarm(task_id=task.id, alarm_pk=alarm.id, joined_at=now))
            detail: dict[str, object] = {"alarm_id": alarm.alarm_id, "kind": alarm.kind}
            if Severity(alarm.severity).rank < Severity(task.severity).rank:
                detail["severity_from"] = task.severity
                task.severity = alarm.severity
                if task.state in (TaskState.NEW, TaskState.OFFERED):
                    task.next_action_at = now  # offer the more urgent case at once
            audit.append(
                session, task, "alarm_joined", actor="system", channel="system", ts=now, **detail
            )
            return task
        response = kind == TaskKind.RESPONSE
        skills = list(self.config.kind_skills.get(alarm.kind, []))
        if not response:
            skills = sorted({*skills, self.config.installer_skill})
        span = (
            timedelta(minutes=self.config.response_minutes)
            if response
            else timedelta(hours=self.config.maintenance_hours)
        )
        task = Task(
            number=await next_number(session, now),
            household_id=alarm.household_id,
            kind=kind,
            alarm_kind=alarm.kind,
            severity=alarm.severity,
            state=TaskState.NEW,
            skills=skills,
            created_at=now,
            deadline_at=now + span,
            next_action_at=now,
            last_hash="",
            last_seq=0,
            offer_round=0,
            escalation=0,
            at_risk=False,
        )
        session.add(task)
        await session.flush()
        session.add(TaskAlarm(task_id=task.id, alarm_pk=alarm.id, joined_at=now))
        audit.append(
            session,
            task,
            "created",
            actor="system",
            channel="system",
            ts=now,
            alarm_id=alarm.alarm_id,
            kind=alarm.kind,
            severity=alarm.severity,
            task_kind=kind,
            deadline_at=task.deadline_at.isoformat(),
        )
        if response:
            await notify_family(session, self.config, task, "opened", now)
        return task

    # ---- offering -----------------------------------------------------------------------
    # ---- answers ------------------------------------------------------------------------
    async def accept(self, session: AsyncSession, task: Task, actor: Actor, now: datetime) -> None:
        """A worker (with a pending offer) or a family member (claim) takes the task."""
        if task.state not in (TaskState.NEW, TaskState.OFFERED):
            raise TransitionError("taken", f"task {task.number} is {task.state}")
        if actor.kind == "worker":
            offer = await session.scalar(
                select(Offer)
                .where(
                    Offer.task_id == task.id, Offer.worker_id == actor.id, Offer.state == PENDING
                )
                .with_for_update()
            )
            if offer is None:
                raise TransitionError(
                    "no_task", f"no pending offer of {task.number} for {actor.key}"
                )
            offer.state, offer.answered_at, offer.channel = "accepted", now, actor.channel
            task.worker_id = actor.id
        else:
            task.family_contact_id = actor.id
        await self.withdraw_offers(session, task, now, "withdrawn", notify="taken")
        task.state, task.accepted_at = TaskState.ACCEPTED, now
        task.next_action_at = (
            task.created_at + timedelta(minutes=self.config.at_risk_minutes)
            if task.kind == TaskKind.RESPONSE
            else None
        )
        audit.append(session, task, "accepted", actor=actor.key, channel=actor.channel, ts=now)
        self.bump_capacity(actor, -1)
        home = await load_home(session, task.household_id)
        if home is None:
            return
        if actor.kind == "worker":
            w = await session.get(Worker, actor.id)
            if w is not None:
                await enqueue(
                    session,
                    worker_recipient(w),
                    purpose="accepted",
                    body=texts.accepted_help(
                        task_facts(task, home, Audience.SMS_ACCEPTED), w.language
                    ),
                    now=now,
                    task_id=task.id,
                    push=False,
                )
        await notify_family(
            session, self.config, task, "on_the_way", now, who=await self._who(session, actor)
        )

    async def decline(self, session: AsyncSession, task: Task, actor: Actor, now: datetime) -> None:
        """A worker declines; the next worker is asked at once when nobody else holds it."""
        offer = await session.scalar(
            select(Offer)
            .where(Offer.task_id == task.id, Offer.worker_id == actor.id, Offer.state == PENDING)
            .with_for_update()
        )
        if offer is None:
            raise TransitionError("no_task", f"no pending offer of {task.number} for {actor.key}")
        offer.state, offer.answered_at, offer.channel = "declined", now, actor.channel
        audit.append(session, task, "declined", actor=actor.key, channel=actor.channel, ts=now)
        others = [o for o in await self.pending_offers(session, task) if o.id != offer.id]
        if not others:
            task.next_action_at = now

    async def en_route(
        self, session: AsyncSession, task: Task, actor: Actor, now: datetime
    ) -> None:
        """The assignee set off."""
        self._require_assignee(task, actor, (TaskState.ACCEPTED,))
        task.state = TaskState.EN_ROUTE
        audit.append(session, task, "en_route", actor=actor.key, channel=actor.channel, ts=now)

    async def arrived(self, session: AsyncSession, task: Task, actor: Actor, now: datetime) -> None:
        """The assignee is at the door; the 30-minute clock stops."""
        self._require_assignee(task, actor, (TaskState.ACCEPTED, TaskState.EN_ROUTE))
        task.state, task.arrived_at, task.next_action_at = TaskState.ON_SITE, now, None
        minutes = (now - task.created_at).total_seconds() / 60
        audit.append(
            session,
            task,
            "arrived",
            actor=actor.key,
            channel=actor.channel,
            ts=now,
            minutes=round(minutes, 1),
            within_target=now <= task.deadline_at,
        )

    async def resolve(
        self,
        session: AsyncSession,
        task: Task,
        actor: Actor,
        outcome: Outcome | None,
        now: datetime,
    ) -> None:
        """Close with an outcome code (required)."""
        if outcome is None:
            raise TransitionError("need_outcome", "outcome: required to resolve")
        self._require_assignee(
            task, actor, (TaskState.ACCEPTED, TaskState.EN_ROUTE, TaskState.ON_SITE)
        )
        task.state, task.outcome, task.closed_at, task.next_action_at = (
            TaskState.RESOLVED,
            outcome,
            now,
            None,
        )
        audit.append(
            session,
            task,
            "resolved",
            actor=actor.key,
            channel=actor.channel,
            ts=now,
            outcome=outcome,
        )
        await self._close_alarms(session, task, now, "resolved")
        self.bump_capacity(actor, +1)
        await self._freed(session, task.worker_id, now)
        if outcome == Outcome.FALSE_ALARM:
            session.add(
                Clue(
                    household_id=task.household_id,
                    kind="false_alarm",
                    note=f"{task.number}: {task.alarm_kind} resolved as a false alarm",
                    created_at=now,
                )
            )
        await notify_family(session, self.config, task, "closed", now, who=str(outcome))

    async def cancel(
        self, session: AsyncSession, task: Task, actor: Actor, now: datetime, *, reason: str
    ) -> None:
        """Cancel an open task; the assignee and pending offerees are told."""
        if task.state not in OPEN_STATES:
            raise TransitionError("no_task", f"task {task.number} is already {task.state}")
        await self.withdraw_offers(session, task, now, "withdrawn", notify="cancelled")
        if task.worker_id is not None:
            w = await session.get(Worker, task.worker_id)
            if w is not None:
                await enqueue(
                    session,
                    worker_recipient(w),
                    purpose="cancelled",
                    body=texts.simple("cancelled", w.language, task.number),
                    now=now,
                    task_id=task.id,
                )
            self.bump_capacity(Actor(f"worker:{task.worker_id}", "system"), +1)
        task.state, task.closed_at, task.next_action_at = TaskState.CANCELLED, now, None
        await self._freed(session, task.worker_id, now)
        audit.append(
            session,
            task,
            "cancelled",
            actor=actor.key,
            channel=actor.channel,
            ts=now,
            reason=reason,
        )
        await self._close_alarms(session, task, now, None)
        if task.kind == TaskKind.RESPONSE:
            await notify_family(session, self.config, task, "closed", now, who=reason)

    # ---- helpers ------------------------------------------------------------------------
    async def _freed(self, session: AsyncSession, worker_id: int | None, now: datetime) -> None:
        """A worker closed a task: other instances re-read them, waiting tasks are due now."""
        if worker_id is None:
            return
        await session.execute(update(Worker).where(Worker.id == worker_id).values(updated_at=now))
        await retry_waiting(session, now)

    def _require_assignee(self, task: Task, actor: Actor, states: tuple[TaskState, ...]) -> None:
        mine = (actor.kind == "worker" and task.worker_id == actor.id) or (
            actor.kind == "family" and task.family_contact_id == actor.id
        )
        if actor.kind not in ("user", "system") and not mine:
            raise TransitionError(
                "reassigned", f"task {task.number} is not assigned to {actor.key}"
            )
        if task.state not in states:
            raise TransitionError("no_task", f"task {task.number} is {task.state}")

    async def _close_alarms(
        self, session: AsyncSession, task: Task, now: datetime, status: str | None
    ) -> None:
        ids = select(TaskAlarm.alarm_pk).where(TaskAlarm.task_id == task.id)
        values: dict[str, object] = {"dispatch_state": "done"}
        await session.execute(update(Alarm).where(Alarm.id.in_(ids)).values(**values))
        if status:
            await session.execute(
                update(Alarm)
                .where(Alarm.id.in_(ids), Alarm.status == "open")
                .values(status=status, closed_at=now, updated_at=now)
            )

    async def _who(self, session: AsyncSession, actor: Actor) -> str:
        """Who is on the way, as the family texts may name them (privacy policy)."""
        name = None
        if actor.kind == "worker" and actor.id is not None:
            w = await session.get(Worker, actor.id)
            name = render(Audience.SMS_FAMILY, "worker.name", w.name) if w else None
        elif actor.kind == "family" and actor.id is not None:
            c = await session.get(FamilyContact, actor.id)
            name = render(Audience.SMS_FAMILY, "contact.name", c.name) if c else None
        return str(name) if name else actor.key
