"""Who gets an offer next: nearest eligible workers, then the district's supervisors."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.models import Task, TaskState
from cloud.dispatch.nearest import WorkerIndex, WorkerState, great_circle_km
from cloud.models import Household, Worker

BUSY_STATES = (TaskState.ACCEPTED, TaskState.EN_ROUTE, TaskState.ON_SITE)


@dataclass(frozen=True, slots=True)
class Pick:
    """A chosen recipient of an offer."""

    worker: Worker
    km: float | None


def worker_state(w: Worker, busy: int) -> WorkerState:
    """The index entry of a worker row (no location: never eligible)."""
    return WorkerState(
        worker_id=w.id,
        lat=w.lat if w.lat is not None else 0.0,
        lon=w.lon if w.lon is not None else 0.0,
        location_at=w.location_at.timestamp() if w.location_at else float("-inf"),
        on_duty=w.active and w.role == "worker" and w.duty_status == "on" and w.lat is not None,
        capacity_left=w.capacity - busy,
        skills=frozenset(w.skills or ()),
        district=w.district,
    )


async def busy_counts(session: AsyncSession, worker_ids: Collection[int]) -> dict[int, int]:
    """Open tasks assigned to each worker."""
    if not worker_ids:
        return {}
    rows = await session.execute(
        select(Task.worker_id, func.count())
        .where(Task.worker_id.in_(list(worker_ids)), Task.state.in_(BUSY_STATES))
        .group_by(Task.worker_id)
    )
    return {int(wid): int(n) for wid, n in rows.all() if wid is not None}


async def pick_workers(
    session: AsyncSession,
    index: WorkerIndex,
    config: DispatchConfig,
    task: Task,
    home: Household,
    *,
    k: int,
    exclude: Collection[int],
    now: datetime,
) -> list[Pick]:
    """Up to ``k`` nearest eligible workers, re-checked against the database."""
    want = k + 3
    cands = index.nearest(
        home.lat,
        home.lon,
        want,
        now=now.timestamp(),
        max_age_s=config.max_location_age_s,
        skills=task.skills,
        exclude=exclude,
        max_km=config.max_distance_km,
    )
    if not cands:
        return []
    rows = {
        w.id: w
        for w in await session.scalars(
            select(Worker).where(Worker.id.in_([c.worker_id for c in cands]))
        )
    }
    busy = await busy_counts(session, rows)
    picks: list[Pick] = []
    for c in cands:
        w = rows.get(c.worker_id)
        if w is None:
            index.remove(c.worker_id)
            continue
        state = worker_state(w, busy.get(w.id, 0))
        index.upsert(state)  # the database is the truth; keep the index honest
        fresh = now.timestamp() - state.location_at <= config.max_location_age_s
        if state.available and fresh and set(task.skills) <= state.skills:
            picks.append(Pick(w, c.km))
    if home.district and picks:
        nearest = picks[0].km or 0.0
        local = [
            p
            for p in picks
            if p.worker.district == home.district
            and (p.km or 0.0) <= nearest + config.prefer_district_km
        ]
        picks = local + [p for p in picks if p not in local]
    return picks[:k]


async def pick_supervisor(
    session: AsyncSession, home: Household, *, district_only: bool, exclude: Collection[int]
) -> Pick | None:
    """The nearest active supervisor not yet asked (of the home's district, or any)."""
    query = select(Worker).where(Worker.role == "supervisor", Worker.active.is_(True))
    if district_only:
        query = query.where(Worker.district == home.district)
    if exclude:
        query = query.where(Worker.id.not_in(list(exclude)))
    sups = list(await session.scalars(query.order_by(Worker.id)))
    if not sups:
        return None

    def km(w: Worker) -> float:
        if w.lat is None or w.lon is None:
            return float("inf")
        return great_circle_km(home.lat, home.lon, w.lat, w.lon)

    best = min(sups, key=lambda w: (km(w), w.id))
    d = km(best)
    return Pick(best, d if d != float("inf") else None)
