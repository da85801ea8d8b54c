"""Who a task can still go to: escalation targets per district, and waiting tasks retried.

A task nobody could be offered to waits with its timer in the database; the moment a
worker becomes available (goes on duty, reports a location, closes a task, is
registered) every waiting task is made due now, so whichever instance runs next offers
it. Rows another instance holds are skipped: that instance is offering them already.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.dispatch.models import Offer, Task, TaskState
from cloud.registry.models import Household, Worker

WAITING_STATES = (TaskState.NEW, TaskState.OFFERED)


async def retry_waiting(session: AsyncSession, now: datetime) -> int:
    """Make every task with nobody to offer to due now; the number of tasks (caller commits)."""
    pending = exists().where(Offer.task_id == Task.id, Offer.state == "pending")
    ids = list(
        await session.scalars(
            select(Task.id)
            .where(Task.state.in_(WAITING_STATES), Task.next_action_at > now, ~pending)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        await session.execute(update(Task).where(Task.id.in_(ids)).values(next_action_at=now))
    return len(ids)


async def has_escalation_target(session: AsyncSession, district: str) -> bool:
    """True when the district has an active supervisor to escalate to."""
    found = await session.scalar(
        select(Worker.id)
        .where(Worker.role == "supervisor", Worker.active.is_(True), Worker.district == district)
        .limit(1)
    )
    return found is not None


async def any_supervisor(session: AsyncSession) -> bool:
    """True when any district has an active supervisor."""
    found = await session.scalar(
        select(Worker.id).where(Worker.role == "supervisor", Worker.active.is_(True)).limit(1)
    )
    return found is not None


async def districts_without_target(session: AsyncSession) -> list[tuple[str, int]]:
    """Districts with households but no active supervisor: (district, households), sorted."""
    covered = select(Worker.district).where(Worker.role == "supervisor", Worker.active.is_(True))
    rows = await session.execute(
        select(Household.district, func.count())
        .where(Household.district.not_in(covered))
        .group_by(Household.district)
        .order_by(Household.district)
    )
    return [(str(d), int(n)) for d, n in rows.all()]
