"""Which households a worker login may see: those of tasks offered or assigned to them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.models import User
from cloud.dispatch.models import Offer, Task, TaskState
from cloud.privacy.policy import Audience
from cloud.registry.models import Worker

ASSIGNED_STATES = (TaskState.ACCEPTED, TaskState.EN_ROUTE, TaskState.ON_SITE)
OFFERED_STATES = (TaskState.NEW, TaskState.OFFERED)


async def active_worker(session: AsyncSession, user: User) -> Worker | None:
    """The active worker behind a login (``None``: unlinked, deleted or deactivated)."""
    if user.worker_id is None or not user.active:
        return None
    worker = await session.get(Worker, user.worker_id)
    return worker if worker is not None and worker.active else None


async def worker_households(session: AsyncSession, user: User) -> dict[str, Audience]:
    """Household id -> what the worker sees there (assigned beats offered); empty if none."""
    worker = await active_worker(session, user)
    if worker is None:
        return {}
    out: dict[str, Audience] = {}
    offered = await session.scalars(
        select(Task.household_id)
        .join(Offer, Offer.task_id == Task.id)
        .where(
            Offer.worker_id == worker.id,
            Offer.state == "pending",
            Task.state.in_(OFFERED_STATES),
        )
    )
    for hid in offered:
        out[hid] = Audience.WORKER_OFFERED
    assigned = await session.scalars(
        select(Task.household_id).where(
            Task.worker_id == worker.id, Task.state.in_(ASSIGNED_STATES)
        )
    )
    for hid in assigned:
        out[hid] = Audience.WORKER_ASSIGNED
    return out
