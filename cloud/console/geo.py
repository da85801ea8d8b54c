"""Map data (households, workers, open alarms) and an alarm's candidate workers.

Candidates are the workers dispatch offered the task to, plus whom dispatch's own
selection (``pick_workers``) would choose now. The workers index is the running
dispatcher's (``app.state.dispatcher.index``) once it holds workers, else a small one built
from the workers inside a box around the home that grows until enough are found.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.alarms.models import OPEN, Alarm
from cloud.console.live import Targets
from cloud.console.schemas import (
    CandidateOut,
    Candidates,
    MapAlarm,
    MapData,
    MapHousehold,
    MapWorker,
)
from cloud.db import utcnow
from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.models import Offer, Task, TaskAlarm
from cloud.dispatch.nearest import WorkerIndex, great_circle_km
from cloud.dispatch.selection import busy_counts, pick_workers, worker_state
from cloud.registry.models import Household, Worker
from protocol.envelopes import Severity

LIMIT = 2000
CANDIDATES = 5
_RANK = {s.value: s.rank for s in Severity}


async def _open_alarm_rows(session: AsyncSession) -> list[Any]:
    """Open alarms with a known home, most urgent first."""
    rows = list(
        await session.execute(
            select(
                Alarm.alarm_id,
                Alarm.kind,
                Alarm.severity,
                Alarm.raised_at,
                Alarm.received_at,
                Alarm.clock_suspect,
                Alarm.household_id,
            )
            .where(Alarm.status == OPEN, Alarm.household_id.is_not(None))
            .order_by(Alarm.raised_at)
            .limit(LIMIT)
        )
    )
    rows.sort(key=lambda r: (_RANK.get(r.severity, 9), r.raised_at))
    return rows


async def _homes(
    session: AsyncSession, district: str | None, must: set[str]
) -> tuple[dict[str, Household], bool]:
    """Up to ``LIMIT`` households (of the district), plus those in ``must``; truncated?"""
    query = select(Household)
    total = select(func.count()).select_from(Household)
    if district:
        query = query.where(Household.district == district)
        total = total.where(Household.district == district)
    homes = {h.id: h for h in await session.scalars(query.order_by(Household.id).limit(LIMIT))}
    missing = must - set(homes)
    if missing:
        extra = await session.scalars(select(Household).where(Household.id.in_(missing)))
        homes.update({h.id: h for h in extra})
    return homes, len(homes) < (await session.scalar(total) or 0)


async def map_data(session: AsyncSession, targets: Targets, district: str | None) -> MapData:
    """Households and located workers (bounded; homes with open alarms always included)."""
    alarm_rows = await _open_alarm_rows(session)
    urgent: dict[str, str] = {}
    counts: dict[str, int] = {}
    for r in alarm_rows:
        urgent.setdefault(r.household_id, r.alarm_id)
        counts[r.household_id] = counts.get(r.household_id, 0) + 1
    homes, more_homes = await _homes(session, district, set(urgent))
    wquery = select(Worker).where(
        Worker.active.is_(True), Worker.lat.is_not(None), Worker.lon.is_not(None)
    )
    if district:
        wquery = wquery.where(Worker.district == district)
    workers = list(await session.scalars(wquery.order_by(Worker.id).limit(LIMIT + 1)))
    busy = await busy_counts(session, [w.id for w in workers[:LIMIT]])
    now = utcnow()
    return MapData(
        households=[
            MapHousehold(
                id=h.id,
                name=h.name or h.id,
                district=h.district,
                lat=h.lat,
                lon=h.lon,
                open_alarms=counts.get(h.id, 0),
                alarm_id=urgent.get(h.id),
            )
            for h in homes.values()
        ],
        workers=[
            MapWorker(
                id=w.id,
                name=w.name,
                district=w.district,
                lat=w.lat,
                lon=w.lon,
                on_duty=w.duty_status == "on",
                busy=busy.get(w.id, 0) >= w.capacity,
            )
            for w in workers[:LIMIT]
            if w.lat is not None and w.lon is not None
        ],
        alarms=[
            MapAlarm(
                id=r.alarm_id,
                kind=r.kind,
                severity=r.severity,
                age_s=(now - (r.received_at if r.clock_suspect else r.raised_at)).total_seconds(),
                target_s=targets.for_severity(r.severity),
                household_id=r.household_id,
                household_name=(homes[r.household_id].name if r.household_id in homes else "")
                or r.household_id,
            )
            for r in alarm_rows[:200]
        ],
        truncated=more_homes or len(workers) > LIMIT,
    )


async def _local_index(
    session: AsyncSession, home: Household, config: DispatchConfig, need: int
) -> WorkerIndex:
    """An index of the on-duty workers near ``home``, widening the box up to the max range."""
    km = min(2.0, config.max_distance_km)
    while True:
        dlat = km / 111.0
        dlon = km / (111.0 * max(0.05, math.cos(math.radians(home.lat))))
        rows = list(
            await session.scalars(
                select(Worker).where(
                    Worker.active.is_(True),
                    Worker.duty_status == "on",
                    Worker.lat.between(home.lat - dlat, home.lat + dlat),
                    Worker.lon.between(home.lon - dlon, home.lon + dlon),
                )
            )
        )
        if len(rows) >= need or km >= config.max_distance_km:
            break
        km = min(km * 3, config.max_distance_km)
    busy = await busy_counts(session, [w.id for w in rows])
    index = WorkerIndex()
    index.load(worker_state(w, busy.get(w.id, 0)) for w in rows)
    return index


async def candidates(
    session: AsyncSession, state: Any, config: DispatchConfig, alarm_id: str
) -> Candidates:
    """The alarm's offered and currently selectable workers, nearest first."""
    row = (
        await session.execute(
            select(Alarm, Household, Task)
            .outerjoin(Household, Household.id == Alarm.household_id)
            .outerjoin(TaskAlarm, TaskAlarm.alarm_pk == Alarm.id)
            .outerjoin(Task, Task.id == TaskAlarm.task_id)
            .where(Alarm.alarm_id == alarm_id)
            .order_by(Alarm.id)  # ids are unique per gateway: the first one raised
        )
    ).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"alarm_id: no alarm {alarm_id}")
    alarm, home, task = row
    if home is None:
        return Candidates(alarm_id=alarm_id, household_id=None, lat=None, lon=None, candidates=[])
    offers: dict[int, Offer] = {}
    if task is not None:
        for offer in await session.scalars(
            select(Offer).where(Offer.task_id == task.id).order_by(Offer.offered_at)
        ):
            offers[offer.worker_id] = offer
    probe = task or Task(skills=config.kind_skills.get(alarm.kind, []))
    index = getattr(getattr(state, "dispatcher", None), "index", None)
    if not isinstance(index, WorkerIndex) or len(index) == 0:
        index = await _local_index(session, home, config, CANDIDATES + 3)
    picks = await pick_workers(
        session, index, config, probe, home, k=CANDIDATES, exclude=(), now=utcnow()
    )
    people = {p.worker.id: p.worker for p in picks}
    missing = set(offers) - set(people)
    if missing:
        people.update(
            {w.id: w for w in await session.scalars(select(Worker).where(Worker.id.in_(missing)))}
        )
    busy = await busy_counts(session, list(people))

    def km(w: Worker) -> float:
        if w.lat is None or w.lon is None:
            offer = offers.get(w.id)
            return offer.distance_km if offer and offer.distance_km is not None else math.inf
        return great_circle_km(home.lat, home.lon, w.lat, w.lon)

    ordered = sorted(people.values(), key=lambda w: (km(w), w.id))
    return Candidates(
        alarm_id=alarm_id,
        household_id=home.id,
        lat=home.lat,
        lon=home.lon,
        candidates=[
            CandidateOut(
                rank=i,
                worker_id=w.id,
                name=w.name,
                distance_m=round(km(w) * 1000, 1) if math.isfinite(km(w)) else -1.0,
                busy=busy.get(w.id, 0) >= w.capacity,
                offer_state=offers[w.id].state if w.id in offers else None,
            )
            for i, w in enumerate(ordered, start=1)
        ],
    )
