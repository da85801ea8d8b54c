"""Task transitions: open or join, offer, time out, escalate, accept, arrive, resolve, cancel.

Every function runs inside the caller's transaction with the task row locked, writes its
audit entry, and queues its notifications in the outbox in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.dispatch import audit
from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.facts import Home, load_home, task_facts
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
from cloud.dispatch.nearest import WorkerIndex
from cloud.dispatch.selection import Pick, pick_supervisor, pick_workers
from cloud.models import Alarm, FamilyContact, Worker
from cloud.notify import texts
from cloud.notify.outbox import Recipient, enqueue
from protocol import Severity

logger = logging.getLogger(__name__)

PENDING = "pending"


class TransitionError(Exception):
    """A command that does not fit the task's state; ``key`` names the reply text."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: ``worker:12``, ``family:3``, ``user:5`` or ``system``."""

    key: str
    channel: str  # sms | app | console | system

    @property
    def kind(self) -> str:
        """worker, family, user or system."""
        return self.key.split(":", 1)[0]

    @property
    def id(self) -> int | None:
        """The numeric id, if any."""
        _, _, ident = self.key.partition(":")
        return int(ident) if ident.isdigit() else None


SYSTEM = Actor("system", "system")


def worker_recipient(w: Worker) -> Recipient:
    """Outbox recipient of a worker."""
    return Recipient(f"worker:{w.id}", w.phone, w.language)


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


class Lifecycle:
    """The dispatch policy applied to one locked task at a time."""

    def __init__(self, config: DispatchConfig, index: WorkerIndex) -> None:
        self.config = config
        self.index = index

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
            await self._notify_family(session, task, "opened", now)
        return task

    # ---- offering -----------------------------------------------------------------------
    async def advance(self, session: AsyncSession, task: Task, now: datetime) -> None:
        """Handle a task whose timer is due: expire offers, offer on, or flag at risk."""
        if task.state in (TaskState.NEW, TaskState.OFFERED):
            pending = await self._pending_offers(session, task)
            live = []
            for offer in pending:
                if offer.expires_at <= now:
                    offer.state, offer.answered_at = "timeout", now
                    audit.append(
                        session,
                        task,
                        "offer_timeout",
                        actor=f"worker:{offer.worker_id}",
                        channel="system",
                        ts=now,
                    )
                else:
                    live.append(offer)
            if live:
                task.next_action_at = min(o.expires_at for o in live)
                return
            await self.offer_next(session, task, now)
        elif task.state in (TaskState.ACCEPTED, TaskState.EN_ROUTE):
            await self._at_risk(session, task, now)

    async def offer_next(self, session: AsyncSession, task: Task, now: datetime) -> None:
        """Offer to the next worker(s), or escalate to a supervisor; never gives up."""
        home = await load_home(session, task.household_id)
        if home is None:
            await self.cancel(session, task, SYSTEM, now, reason="household removed")
            return
        asked = set(await session.scalars(select(Offer.worker_id).where(Offer.task_id == task.id)))
        timeout = self.config.timeout_for(task.severity)
        picks: list[Pick] = []
        if task.escalation == 0 and task.offer_round < self.config.workers_before_escalation:
            k = self.config.parallel_for(task.severity) if task.kind == TaskKind.RESPONSE else 1
            picks = await pick_workers(
                session, self.index, self.config, task, home.household, k=k, exclude=asked, now=now
            )
        if not picks:
            picks = await self._escalate(session, task, home, now)
        if not picks:
            task.next_action_at = now + timedelta(seconds=timeout)
            audit.append(
                session, task, "no_one_available", actor="system", channel="system", ts=now
            )
            logger.warning("task %s: nobody to offer to; retrying in %ss", task.number, timeout)
            return
        task.offer_round += 1
        expires = now + timedelta(seconds=timeout)
        facts_by = {p.worker.id: task_facts(task, home, p.km) for p in picks}
        for p in picks:
            offer = Offer(
                task_id=task.id,
                worker_id=p.worker.id,
                round=task.offer_round,
                escalation=task.escalation,
                distance_km=p.km,
                state=PENDING,
                offered_at=now,
                expires_at=expires,
            )
            session.add(offer)
            audit.append(
                session,
                task,
                "offered",
                actor=f"worker:{p.worker.id}",
                channel="system",
                ts=now,
                round=task.offer_round,
                escalation=task.escalation,
                distance_km=None if p.km is None else round(p.km, 3),
                expires_at=expires.isoformat(),
            )
            body = texts.offer(facts_by[p.worker.id], p.worker.language, max(1, int(timeout // 60)))
            await enqueue(
                session,
                worker_recipient(p.worker),
                purpose="offer",
                body=body,
                now=now,
                task_id=task.id,
                payload={"task_id": task.id, "number": task.number, "url": "/app/"},
            )
        task.state = TaskState.OFFERED
        task.next_action_at = expires

    async def _escalate(
        self, session: AsyncSession, task: Task, home: Home, now: datetime
    ) -> list[Pick]:
        """Supervisors: the district's first, then any, round and round, one at a time."""
        for _ in range(3):
            if task.escalation == 0:
                task.escalation = 1
                audit.append(
                    session, task, "escalated", actor="system", channel="system", ts=now, level=1
                )
            asked_here = set(
                await session.scalars(
                    select(Offer.worker_id).where(
                        Offer.task_id == task.id,
                        # level 2 (any district) skips who level 1 asked; from 3 on, all again
                        Offer.escalation.in_({task.escalation, 1 if task.escalation == 2 else 0}),
                        Offer.escalation > 0,
                    )
                )
            )
            pick = await pick_supervisor(
                session, home.household, district_only=task.escalation == 1, exclude=asked_here
            )
            if pick is not None:
                return [pick]
            task.escalation += 1
            audit.append(
                session,
                task,
                "escalated",
                actor="system",
                channel="system",
                ts=now,
                level=task.escalation,
            )
        return []

    async def _pending_offers(self, session: AsyncSession, task: Task) -> list[Offer]:
        rows = await session.scalars(
            select(Offer).where(Offer.task_id == task.id, Offer.state == PENDING).with_for_update()
        )
        return list(rows)

    async def _withdraw_offers(
        self, session: AsyncSession, task: Task, now: datetime, reason: str, *, notify: str | None
    ) -> None:
        for offer in await self._pending_offers(session, task):
            offer.state, offer.answered_at = reason, now
            if notify:
                w = await session.get(Worker, offer.worker_id)
                if w is not None:
                    await enqueue(
                        session,
                        worker_recipient(w),
                        purpose=notify,
                        body=texts.simple(notify, w.language, task.number),
                        now=now,
                        task_id=task.id,
                        sms=notify == "cancelled",
                        required=False,
                    )

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
        await self._withdraw_offers(session, task, now, "withdrawn", notify="taken")
        task.state, task.accepted_at = TaskState.ACCEPTED, now
        task.next_action_at = (
            task.created_at + timedelta(minutes=self.config.at_risk_minutes)
            if task.kind == TaskKind.RESPONSE
            else None
        )
        audit.append(session, task, "accepted", actor=actor.key, channel=actor.channel, ts=now)
        await self._bump_capacity(actor, -1)
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
                    body=texts.accepted_help(task_facts(task, home), w.language),
                    now=now,
                    task_id=task.id,
                    push=False,
                )
        await self._notify_family(
            session, task, "on_the_way", now, who=await self._who(session, actor)
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
        others = [o for o in await self._pending_offers(session, task) if o.id != offer.id]
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
        await self._bump_capacity(actor, +1)
        if outcome == Outcome.FALSE_ALARM:
            session.add(
                Clue(
                    household_id=task.household_id,
                    kind="false_alarm",
                    note=f"{task.number}: {task.alarm_kind} resolved as a false alarm",
                    created_at=now,
                )
            )
        await self._notify_family(session, task, "closed", now, who=str(outcome).replace("_", " "))

    async def cancel(
        self, session: AsyncSession, task: Task, actor: Actor, now: datetime, *, reason: str
    ) -> None:
        """Cancel an open task; the assignee and pending offerees are told."""
        if task.state not in OPEN_STATES:
            raise TransitionError("no_task", f"task {task.number} is already {task.state}")
        await self._withdraw_offers(session, task, now, "withdrawn", notify="cancelled")
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
            await self._bump_capacity(Actor(f"worker:{task.worker_id}", "system"), +1)
        task.state, task.closed_at, task.next_action_at = TaskState.CANCELLED, now, None
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
            await self._notify_family(session, task, "closed", now, who=reason)

    # ---- the 30-minute clock ------------------------------------------------------------
    async def _at_risk(self, session: AsyncSession, task: Task, now: datetime) -> None:
        """Not on site in time: flag, release the assignee, offer to the next worker."""
        task.at_risk = True
        old = task.worker_id
        audit.append(
            session,
            task,
            "at_risk",
            actor="system",
            channel="system",
            ts=now,
            assignee=f"worker:{old}" if old else f"family:{task.family_contact_id}",
        )
        if old is not None:
            w = await session.get(Worker, old)
            if w is not None:
                await enqueue(
                    session,
                    worker_recipient(w),
                    purpose="reassigned",
                    body=texts.simple("reassigned", w.language, task.number),
                    now=now,
                    task_id=task.id,
                )
            await self._bump_capacity(Actor(f"worker:{old}", "system"), +1)
        task.worker_id = task.family_contact_id = None
        task.state, task.accepted_at = TaskState.OFFERED, None
        audit.append(session, task, "redispatched", actor="system", channel="system", ts=now)
        await self.offer_next(session, task, now)

    # ---- helpers ------------------------------------------------------------------------
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

    async def _bump_capacity(self, actor: Actor, delta: int) -> None:
        if actor.kind == "worker" and actor.id is not None:
            state = self.index.get(actor.id)
            if state is not None:
                self.index.upsert(replace(state, capacity_left=state.capacity_left + delta))

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
        if actor.kind == "worker" and actor.id is not None:
            w = await session.get(Worker, actor.id)
            return w.name if w else actor.key
        if actor.kind == "family" and actor.id is not None:
            c = await session.get(FamilyContact, actor.id)
            return c.name if c else actor.key
        return actor.key

    async def _notify_family(
        self, session: AsyncSession, task: Task, purpose: str, now: datetime, *, who: str = ""
    ) -> None:
        """Tell each family contact who wants this kind, by their channels and hours."""
        home = await load_home(session, task.household_id)
        if home is None:
            return
        contacts = await session.scalars(
            select(FamilyContact).where(FamilyContact.household_id == task.household_id)
        )
        for c in contacts:
            if c.alarm_kinds and task.alarm_kind not in c.alarm_kinds:
                continue
            if task.family_contact_id == c.id and purpose == "on_the_way":
                continue
            channels = set(c.channels or ["sms"])
            may_claim = c.may_claim and self.config.family_may_claim
            body = texts.family(
                purpose, task_facts(task, home), c.language, who=who, may_claim=may_claim
            )
            not_before = None
            if task.severity != Severity.CRITICAL:
                not_before = quiet_until(now, c.quiet_start, c.quiet_end, home.household.timezone)
            await enqueue(
                session,
                Recipient(f"family:{c.id}", c.phone, c.language),
                purpose=f"family_{purpose}",
                body=body,
                now=now,
                task_id=task.id,
                sms="sms" in channels,
                push="push" in channels,
                not_before=not_before,
            )


def quiet_until(now: datetime, start: str | None, end: str | None, tz: str) -> datetime | None:
    """The end of the contact's quiet hours if ``now`` falls inside them, else None."""
    if not start or not end:
        return None
    try:
        zone = ZoneInfo(tz or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    sh, sm = (int(x) for x in start.split(":"))
    eh, em = (int(x) for x in end.split(":"))
    cur, s, e = local.hour * 60 + local.minute, sh * 60 + sm, eh * 60 + em
    inside = s <= cur < e if s <= e else (cur >= s or cur < e)
    if not inside:
        return None
    end_local = local.replace(hour=eh, minute=em, second=0, microsecond=0)
    if end_local <= local:
        end_local += timedelta(days=1)
    return end_local.astimezone(now.tzinfo)
