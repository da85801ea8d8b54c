"""The dispatcher: a database-driven loop over new alarms, due timers and the outbox.

Work is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite runs one
instance with ``BEGIN IMMEDIATE``), so several instances sharing a database never handle
the same task at once, and every timer is a column (``next_action_at``,
``expires_at``, ``next_attempt_at``): a restart loses nothing. The loop sleeps until the
nearest timer or until woken (a new alarm, an answer), at most ``idle_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.dispatch.actors import SYSTEM, Actor, TransitionError
from cloud.dispatch.clock import Clock, SystemClock
from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.lifecycle import Lifecycle
from cloud.dispatch.models import (
    NOBODY_GONE,
    OPEN_STATES,
    Clue,
    Offer,
    Outcome,
    Task,
    TaskAlarm,
    TaskKind,
    TaskState,
)
from cloud.dispatch.nearest import WorkerIndex, great_circle_km
from cloud.dispatch.replies import Command
from cloud.dispatch.selection import busy_counts, worker_state
from cloud.dispatch.staffing import retry_waiting
from cloud.models import Alarm, FamilyContact, Worker
from cloud.notify.models import PENDING, SENDING, Notification
from cloud.notify.outbox import OutboxSender
from protocol import AlarmKind, Severity

logger = logging.getLogger(__name__)

MOVED_KM = 1.0  # a position fix this far from the last one may bring new tasks into reach
DUE_STATES = (TaskState.NEW, TaskState.OFFERED, TaskState.ACCEPTED, TaskState.EN_ROUTE)


class Dispatcher:
    """Turns alarms into tasks and drives every task's timers; one per service instance."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: DispatchConfig,
        outbox: OutboxSender,
        *,
        clock: Clock | None = None,
        index: WorkerIndex | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.config = config
        self.outbox = outbox
        self.clock: Clock = clock or SystemClock()
        self.index = index or WorkerIndex()
        self.lifecycle = Lifecycle(config, self.index)
        self.wake = asyncio.Event()
        self._bad_alarms: set[int] = set()

    # ---- the loop -----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, new_alarm: asyncio.Event | None = None) -> None:
        """Step until ``stop`` is set; sleeps until the next timer or a wake-up."""
        events = [self.wake] + ([new_alarm] if new_alarm is not None else [])
        while not stop.is_set():
            for ev in events:
                ev.clear()  # before the step: a wake-up during the step is not lost
            try:
                worked = await self.step()
            except Exception:
                logger.exception("dispatch step failed")
                worked = False
                await asyncio.sleep(0.5)
            if worked:
                continue
            delay = self.config.idle_s
            due = await self.next_due()
            if due is not None:
                delay = min(delay, max(0.0, (due - self.clock.now()).total_seconds()))
            waits = [asyncio.ensure_future(ev.wait()) for ev in [*events, stop]]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()

    async def step(self) -> bool:
        """One pass over everything due now; True when anything was done."""
        await self.sync_index()
        worked = await self.intake()  # new tasks are offered in the same transaction
        worked = await self.run_due() or worked
        worked = await self.outbox.process(self.clock.now()) > 0 or worked
        worked = await self.cancel_cleared() or worked
        return worked

    async def next_due(self) -> datetime | None:
        """The earliest task timer or notification attempt."""
        async with self.sessionmaker() as session:
            t = await session.scalar(
                select(func.min(Task.next_action_at)).where(Task.state.in_(DUE_STATES))
            )
            n = await session.scalar(
                select(func.min(Notification.next_attempt_at)).where(
                    Notification.state.in_((PENDING, SENDING))
                )
            )
        times = [x for x in (t, n) if x is not None]
        return min(times) if times else None

    # ---- the worker index ---------------------------------------------------------------
    async def sync_index(self, *, full: bool = False) -> None:
        """Load workers changed since the last sync (all of them the first time)."""
        now = self.clock.now()
        last = self.lifecycle.index_synced
        if (
            not full
            and last is not None
            and (now - last).total_seconds() < self.config.index_refresh_s
        ):
            return
        async with self.sessionmaker() as session:
            await self.lifecycle.sync_workers(session, now, full=full)

    async def worker_changed(self, worker: Worker, *, retry: bool = True) -> int:
        """A worker's row changed (duty, location, registration): index it; when ``retry``
        and they are available (or a supervisor), make every task waiting for someone due.

        The caller decides ``retry`` from the row as it was (see ``position_fix_matters``):
        the index may already hold the new state, read by a sync in between. Returns how
        many waiting tasks were made due.
        """
        now = self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            busy = (await busy_counts(session, [worker.id])).get(worker.id, 0)
            state = worker_state(worker, busy)
            if worker.role == "worker":
                self.index.upsert(state)
            helps = state.available or (worker.role == "supervisor" and worker.active)
            due = await retry_waiting(session, now) if retry and helps else 0
        if due:
            self.wake.set()
        return due

    def position_fix_matters(
        self, before: tuple[float | None, float | None, datetime | None], worker: Worker
    ) -> bool:
        """Whether a position fix can bring someone new into reach: the worker had no
        fresh position before (``before`` = lat, lon, location_at), or moved ``MOVED_KM``.
        """
        lat, lon, at = before
        if lat is None or lon is None or at is None or worker.lat is None or worker.lon is None:
            return True
        if (self.clock.now() - at).total_seconds() > self.config.max_location_age_s:
            return True
        return great_circle_km(lat, lon, worker.lat, worker.lon) >= MOVED_KM

    # ---- alarms -------------------------------------------------------------------------
    def classify(self, alarm: Alarm) -> str:
        """response, maintenance, hint or ignore, by kind and severity."""
        if alarm.kind in self.config.hint_kinds:
            return "hint"
        held_emergency = alarm.kind == AlarmKind.DELIVERY_FAILED and alarm.severity == "critical"
        if alarm.kind in self.config.maintenance_kinds and not held_emergency:
            return "maintenance"
        if alarm.severity in self.config.response_severities:
            return "response"
        if alarm.severity == Severity.INFO and alarm.kind != "test":
            return "hint"
        return "ignore"

    async def intake(self, batch: int = 100) -> bool:
        """Turn new alarms into tasks (or clues); True when any were taken.

        A batch that fails is retried alarm by alarm; an alarm that still fails is logged
        and left ``new`` (retried after a restart), so it cannot stall the others.
        """
        now = self.clock.now()
        try:
            return await self._intake(now, batch, None)
        except Exception:
            logger.exception("alarm batch failed; taking alarms one by one")
        async with self.sessionmaker() as session:
            ids = list(await session.scalars(self._new_alarms(batch, None, Alarm.id)))
        for alarm_pk in ids:
            try:
                await self._intake(now, 1, alarm_pk)
            except Exception:
                logger.exception("alarm %s could not be dispatched; skipped", alarm_pk)
                self._bad_alarms.add(alarm_pk)
        return bool(ids)

    def _new_alarms(self, batch: int, only: int | None, what: Any = Alarm) -> Select[Any]:
        query = (
            select(what)
            .where(Alarm.dispatch_state == "new")
            .order_by(Alarm.received_at, Alarm.id)
            .limit(batch)
        )
        if only is not None:
            query = query.where(Alarm.id == only)
        elif self._bad_alarms:
            query = query.where(Alarm.id.not_in(self._bad_alarms))
        return query

    async def _intake(self, now: datetime, batch: int, only: int | None) -> bool:
        async with self.sessionmaker() as session, session.begin():
            query = self._new_alarms(batch, only).with_for_update(skip_locked=True)
            alarms = list(await session.scalars(query))
            with session.no_autoflush:  # inserts go out in batches (tasks flush themselves)
                for alarm in alarms:
                    await self._take(session, alarm, now)
        return bool(alarms)

    async def _take(self, session: AsyncSession, alarm: Alarm, now: datetime) -> None:
        cls = self.classify(alarm)
        if alarm.household_id is None or cls == "ignore":
            alarm.dispatch_state = "ignored"
            return
        await self._repeat_hint(session, alarm, now)
        if cls == "hint":
            session.add(
                Clue(
                    household_id=alarm.household_id,
                    alarm_pk=alarm.id,
                    kind=alarm.kind,
                    note=alarm.message,
                    created_at=now,
                )
            )
            alarm.dispatch_state = "done"
            return
        if alarm.status != "open":
            alarm.dispatch_state = "done"  # cleared before dispatch saw it
            return
        kind = TaskKind.RESPONSE if cls == "response" else TaskKind.MAINTENANCE
        task = await self.lifecycle.open_or_join(session, alarm, kind, now)
        alarm.dispatch_state = "queued"
        if task.state == TaskState.NEW and task.offer_round == 0:
            await self.lifecycle.offer_next(session, task, now)  # no extra pass before the SMS
        logger.info("alarm %s -> task %s", alarm.alarm_id, task.number)

    async def _repeat_hint(self, session: AsyncSession, alarm: Alarm, now: datetime) -> None:
        """A pattern over days (e.g. night wandering again and again) is a clue of its own."""
        threshold = self.config.repeat_hints.get(alarm.kind)
        if threshold is None or alarm.household_id is None:
            return
        kind = f"{alarm.kind}_repeated"
        week = select(func.count()).where(
            Alarm.household_id == alarm.household_id,
            Alarm.kind == alarm.kind,
            Alarm.raised_at >= now - timedelta(days=7),
        )
        open_clue = select(Clue.id).where(
            Clue.household_id == alarm.household_id, Clue.kind == kind, Clue.closed_at.is_(None)
        )
        if (await session.scalar(week) or 0) >= threshold and (
            await session.scalar(open_clue.limit(1))
        ) is None:
            session.add(
                Clue(
                    household_id=alarm.household_id,
                    alarm_pk=alarm.id,
                    kind=kind,
                    note=f"{alarm.kind.replace('_', ' ')}: {threshold}+ times in 7 days",
                    created_at=now,
                )
            )
            await session.flush()

    async def cancel_cleared(self) -> bool:
        """Cancel tasks nobody has gone to whose alarms were all cleared or cancelled."""
        now = self.clock.now()
        still_open = exists().where(
            TaskAlarm.task_id == Task.id, TaskAlarm.alarm_pk == Alarm.id, Alarm.status == "open"
        )
        async with self.sessionmaker() as session, session.begin():
            tasks = list(
                await session.scalars(
                    select(Task)
                    .where(Task.state.in_(NOBODY_GONE), ~still_open)
                    .limit(50)
                    .with_for_update(skip_locked=True)
                )
            )
            for task in tasks:
                await self.lifecycle.cancel(session, task, SYSTEM, now, reason="alarm cleared")
        return bool(tasks)

    # ---- timers -------------------------------------------------------------------------
    async def run_due(self, batch: int = 20) -> bool:
        """Advance tasks whose timer has come.

        A batch that fails is retried task by task; a task that still fails is logged and
        looked at again a minute later, so it cannot stall the others.
        """
        now = self.clock.now()
        try:
            return await self._run_due(now, batch, None)
        except Exception:
            logger.exception("task batch failed; advancing tasks one by one")
        async with self.sessionmaker() as session:
            ids = list(await session.scalars(self._due_tasks(now, batch, None, Task.id)))
        for task_id in ids:
            try:
                await self._run_due(now, 1, task_id)
            except Exception:
                logger.exception("task %s failed; retried in 60 s", task_id)
                async with self.sessionmaker() as session, session.begin():
                    await session.execute(
                        update(Task)
                        .where(Task.id == task_id)
                        .values(next_action_at=now + timedelta(seconds=60))
                    )
        return bool(ids)

    def _due_tasks(
        self, now: datetime, batch: int, only: int | None, what: Any = Task
    ) -> Select[Any]:
        query = (
            select(what)
            .where(Task.state.in_(DUE_STATES), Task.next_action_at <= now)
            .order_by(Task.next_action_at)
            .limit(batch)
        )
        return query if only is None else query.where(Task.id == only)

    async def _run_due(self, now: datetime, batch: int, only: int | None) -> bool:
        async with self.sessionmaker() as session, session.begin():
            query = self._due_tasks(now, batch, only).with_for_update(skip_locked=True)
            tasks = list(await session.scalars(query))
            with session.no_autoflush:  # offers, trail and outbox rows inserted in batches
                for task in tasks:
                    await self.lifecycle.advance(session, task, now)
        return bool(tasks)

    # ---- answers from people ------------------------------------------------------------
    async def act(
        self,
        task_id: int,
        actor: Actor,
        command: str,
        *,
        outcome: str | None = None,
        reason: str = "",
    ) -> Task:
        """Apply ``accept|decline|en_route|arrived|done|cancel`` to a task, serialised per task."""
        now = self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            task = await session.get(Task, task_id, with_for_update=True)
            if task is None:
                raise TransitionError("no_task", f"task {task_id} not found")
            lc = self.lifecycle
            if command == Command.ACCEPT:
                await lc.accept(session, task, actor, now)
            elif command == Command.DECLINE:
                await lc.decline(session, task, actor, now)
            elif command == "en_route":
                await lc.en_route(session, task, actor, now)
            elif command == Command.ARRIVED:
                await lc.arrived(session, task, actor, now)
            elif command == Command.DONE:
                await lc.resolve(session, task, actor, Outcome(outcome) if outcome else None, now)
            elif command == "cancel":
                await lc.cancel(session, task, actor, now, reason=reason or "cancelled")
            else:
                raise TransitionError("unknown", f"command {command!r} unknown")
        self.wake.set()
        return task

    async def find_task(self, actor: Actor, command: Command, ref: int | None) -> Task | None:
        """The task a reply is about: the actor's latest fitting task (matching ``ref``)."""
        async with self.sessionmaker() as session:
            if command in (Command.ACCEPT, Command.DECLINE) and actor.kind == "worker":
                query = (
                    select(Task)
                    .join(Offer, Offer.task_id == Task.id)
                    .where(Offer.worker_id == actor.id, Offer.state == "pending")
                )
            elif command == Command.ACCEPT and actor.kind == "family":
                contact = await session.get(FamilyContact, actor.id)
                if contact is None or not contact.may_claim or not self.config.family_may_claim:
                    return None
                query = select(Task).where(
                    Task.household_id == contact.household_id,
                    Task.state.in_((TaskState.NEW, TaskState.OFFERED)),
                    Task.kind == TaskKind.RESPONSE,
                )
            else:
                owner = Task.worker_id if actor.kind == "worker" else Task.family_contact_id
                query = select(Task).where(owner == actor.id, Task.state.in_(OPEN_STATES))
            if ref is not None:
                query = query.where(Task.number.like(f"%-{ref:04d}"))
            return await session.scalar(query.order_by(Task.id.desc()).limit(1))
