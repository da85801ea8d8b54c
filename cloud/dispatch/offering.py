"""Offering a task: the next worker(s), timeouts, escalation, the 30-minute clock.

Runs inside the caller's transaction with the task row locked; audit entries and outbox
rows are written in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.dispatch import audit
from cloud.dispatch.actors import Actor, worker_recipient
from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.facts import Home, load_home, task_facts
from cloud.dispatch.models import Offer, Task, TaskEvent, TaskKind, TaskState
from cloud.dispatch.nearest import WorkerIndex
from cloud.dispatch.selection import (
    Pick,
    busy_counts,
    pick_supervisor,
    pick_workers,
    worker_state,
)
from cloud.dispatch.staffing import any_supervisor, has_escalation_target
from cloud.models import Worker
from cloud.notify import texts
from cloud.notify.outbox import Message, enqueue, enqueue_many
from cloud.privacy.policy import Audience

logger = logging.getLogger(__name__)

PENDING = "pending"


class Offering:
    """Who is asked next, and what happens when nobody answers in time."""

    def __init__(self, config: DispatchConfig, index: WorkerIndex) -> None:
        self.config = config
        self.index = index
        self.index_synced: datetime | None = None  # when workers were last read into the index

    async def advance(self, session: AsyncSession, task: Task, now: datetime) -> None:
        """Handle a task whose timer is due: expire offers, offer on, or flag at risk."""
        if task.state in (TaskState.NEW, TaskState.OFFERED):
            pending = await self.pending_offers(session, task)
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
            await self.at_risk(session, task, now)

    async def offer_next(self, session: AsyncSession, task: Task, now: datetime) -> None:
        """Offer to the next worker(s), or escalate to a supervisor; never gives up.

        Past the worker rounds a supervisor is asked; where the home's district has none
        (the task is flagged ``unstaffed``), or no supervisor is left to ask, the offer
        also goes on to the remaining on-duty workers, then to those whose offers timed out.
        """
        home = await load_home(session, task.household_id)
        if home is None:  # deleted households take their tasks with them (cascade)
            logger.error("task %s: household %s is gone", task.number, task.household_id)
            task.next_action_at = None
            return
        offers = list(await session.scalars(select(Offer).where(Offer.task_id == task.id)))
        asked = {o.worker_id for o in offers}
        timeout = self.config.timeout_for(task.severity)
        k = self.config.parallel_for(task.severity) if task.kind == TaskKind.RESPONSE else 1
        picks: list[Pick] = []
        if task.escalation == 0 and task.offer_round < self.config.workers_before_escalation:
            picks = await self._workers(session, task, home, k, asked, now)
        if not picks:
            picks = await self._escalate(session, task, home, now)
            if not await has_escalation_target(session, home.household.district):
                self._flag_unstaffed(session, task, now)
            if task.unstaffed or not picks:
                again = {o.worker_id for o in offers if o.state in (PENDING, "declined")}
                more = await self._workers(session, task, home, k, asked, now) or (
                    await self._workers(session, task, home, k, again, now)
                )
                picks += [p for p in more if p.worker.id not in {q.worker.id for q in picks}]
        if not picks:
            task.next_action_at = now + timedelta(seconds=timeout)
            if await self._last_action(session, task) != "no_one_available":  # once per wait
                audit.append(
                    session, task, "no_one_available", actor="system", channel="system", ts=now
                )
            logger.warning(
                "task %s: nobody to offer to; retried when a worker becomes available or in %ss",
                task.number,
                timeout,
            )
            return
        task.offer_round += 1
        expires = now + timedelta(seconds=timeout)
        payload = {"task_id": task.id, "number": task.number, "url": "/app/"}
        minutes = max(1, int(timeout // 60))
        messages = []
        for p in picks:
            session.add(
                Offer(
                    task_id=task.id,
                    worker_id=p.worker.id,
                    round=task.offer_round,
                    escalation=task.escalation,
                    distance_km=p.km,
                    state=PENDING,
                    offered_at=now,
                    expires_at=expires,
                )
            )
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
            body = texts.offer(
                task_facts(task, home, Audience.SMS_OFFER, p.km), p.worker.language, minutes
            )
            messages.append(Message(worker_recipient(p.worker), body, payload))
        await enqueue_many(session, messages, purpose="offer", now=now, task_id=task.id)
        task.state = TaskState.OFFERED
        task.next_action_at = expires

    async def _workers(
        self,
        session: AsyncSession,
        task: Task,
        home: Home,
        k: int,
        exclude: set[int],
        now: datetime,
    ) -> list[Pick]:
        """The nearest eligible workers; when none, once more after catching up the index."""
        for attempt in range(2):
            picks = await pick_workers(
                session,
                self.index,
                self.config,
                task,
                home.household,
                k=k,
                exclude=exclude,
                now=now,
            )
            if picks or attempt or not await self.sync_workers(session, now):
                return picks
        return []

    async def sync_workers(
        self, session: AsyncSession, now: datetime, *, full: bool = False
    ) -> int:
        """Load workers changed since the last sync (all the first time); how many changed."""
        last = self.index_synced
        query = select(Worker).where(Worker.role == "worker")
        if last is not None and not full:
            query = query.where(Worker.updated_at >= last)
        workers = list(await session.scalars(query))
        busy = await busy_counts(session, [w.id for w in workers]) if workers else {}
        states = [worker_state(w, busy.get(w.id, 0)) for w in workers]
        if last is None or full:
            self.index.load(states)
        else:
            for state in states:
                self.index.upsert(state)
        self.index_synced = now
        return len(states)

    async def _last_action(self, session: AsyncSession, task: Task) -> str | None:
        """The action of the task's latest trail entry."""
        action = await session.scalar(
            select(TaskEvent.action).where(
                TaskEvent.task_id == task.id, TaskEvent.seq == task.last_seq
            )
        )
        return None if action is None else str(action)

    def _flag_unstaffed(self, session: AsyncSession, task: Task, now: datetime) -> None:
        """The home's district has no escalation target: say so once, on the console too."""
        if task.unstaffed:
            return
        task.unstaffed = True
        audit.append(session, task, "unstaffed", actor="system", channel="system", ts=now)
        logger.warning("task %s: district without an escalation target; unstaffed", task.number)

    async def _escalate(
        self, session: AsyncSession, task: Task, home: Home, now: datetime
    ) -> list[Pick]:
        """Supervisors: the district's first, then any, round and round, one at a time."""
        if not await any_supervisor(session):  # nobody to escalate to anywhere
            if task.escalation == 0:
                task.escalation = 1
                audit.append(
                    session, task, "escalated", actor="system", channel="system", ts=now, level=1
                )
            return []
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

    async def pending_offers(self, session: AsyncSession, task: Task) -> list[Offer]:
        """The task's offers still waiting for an answer (locked)."""
        rows = await session.scalars(
            select(Offer).where(Offer.task_id == task.id, Offer.state == PENDING).with_for_update()
        )
        return list(rows)

    async def withdraw_offers(
        self, session: AsyncSession, task: Task, now: datetime, reason: str, *, notify: str | None
    ) -> None:
        """Close every pending offer with ``reason``; tell those asked (``notify`` text)."""
        for offer in await self.pending_offers(session, task):
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

    async def at_risk(self, session: AsyncSession, task: Task, now: datetime) -> None:
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
            self.bump_capacity(Actor(f"worker:{old}", "system"), +1)
        task.worker_id = task.family_contact_id = None
        task.state, task.accepted_at = TaskState.OFFERED, None
        audit.append(session, task, "redispatched", actor="system", channel="system", ts=now)
        await self.offer_next(session, task, now)

    def bump_capacity(self, actor: Actor, delta: int) -> None:
        """Keep the index's free capacity of a worker current."""
        if actor.kind == "worker" and actor.id is not None:
            state = self.index.get(actor.id)
            if state is not None:
                self.index.upsert(replace(state, capacity_left=state.capacity_left + delta))
