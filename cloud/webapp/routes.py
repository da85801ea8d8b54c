"""``/api/v1/worker``: what the worker web app calls (the logged-in worker only)."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import Field
from sqlalchemy import select, update

from cloud.auth.deps import Role, require_roles
from cloud.auth.models import User
from cloud.db import SessionDep
from cloud.dispatch.actors import Actor, TransitionError
from cloud.dispatch.engine import Dispatcher
from cloud.dispatch.facts import load_home, open_clues
from cloud.dispatch.models import OPEN_STATES, Clue, Offer, Outcome, Task
from cloud.models import Household, Worker
from cloud.notify.endpoints import policy_from
from cloud.notify.subscriptions import register_subscription
from cloud.privacy.access_log import Read, record_reads
from cloud.privacy.policy import Audience, render
from cloud.privacy.scope import worker_households
from cloud.schemas import Public, Strict

router = APIRouter(prefix="/api/v1/worker", tags=["worker app"])
WorkerUser = Annotated[User, Depends(require_roles(Role.WORKER, Role.SUPERVISOR))]
TaskId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CARD_HOUSEHOLD = ("address", "access_notes", "lat", "lon")
CARD_RESIDENT = ("first_name", "conditions")


class MePublic(Public):
    """The worker's own profile."""

    id: int
    name: str
    role: str
    district: str
    duty_status: str
    language: str
    lat: float | None
    lon: float | None
    location_at: datetime | None


class DutyIn(Strict):
    """Go on or off duty."""

    on_duty: bool


class LocationIn(Strict):
    """A position fix from the phone."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ActionIn(Strict):
    """An answer to a task; ``outcome`` is required for ``resolve``."""

    outcome: Outcome | None = None


class SubscriptionKeys(Strict):
    """Keys of a browser push subscription."""

    p256dh: str = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_\-=]+$")
    auth: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-=]+$")


class SubscriptionIn(Strict):
    """``PushSubscription.toJSON()`` from the browser."""

    endpoint: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    keys: SubscriptionKeys
    expirationTime: float | None = None


async def _worker(session: SessionDep, user: User) -> Worker:
    if user.worker_id is None:
        raise HTTPException(403, "worker_id: this login is not linked to a worker")
    worker = await session.get(Worker, user.worker_id)
    if worker is None or not worker.active:
        raise HTTPException(403, "worker_id: worker not found or inactive")
    return worker


def _dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


@router.get("/me", response_model=MePublic)
async def me(session: SessionDep, user: WorkerUser) -> Worker:
    """The logged-in worker."""
    return await _worker(session, user)


@router.post("/duty", response_model=MePublic)
async def set_duty(body: DutyIn, request: Request, session: SessionDep, user: WorkerUser) -> Worker:
    """Go on or off duty."""
    worker = await _worker(session, user)
    now = _dispatcher(request).clock.now()
    came_on = body.on_duty and worker.duty_status != "on"
    worker.duty_status = "on" if body.on_duty else "off"
    worker.updated_at = now
    await session.commit()
    await _reindex(request, session, worker, retry=came_on)
    return worker


@router.post("/location", response_model=MePublic)
async def set_location(
    body: LocationIn, request: Request, session: SessionDep, user: WorkerUser
) -> Worker:
    """Report the phone's position; the spatial index is updated at once."""
    worker = await _worker(session, user)
    dispatcher = _dispatcher(request)
    now = dispatcher.clock.now()
    before = (worker.lat, worker.lon, worker.location_at)
    worker.lat, worker.lon, worker.location_at, worker.updated_at = body.lat, body.lon, now, now
    await session.commit()
    await _reindex(request, session, worker, retry=dispatcher.position_fix_matters(before, worker))
    return worker


async def _reindex(request: Request, session: SessionDep, worker: Worker, *, retry: bool) -> None:
    """Index the worker; ``retry``: they may have become available for waiting tasks."""
    await session.close()  # the dispatcher writes in its own transaction
    await _dispatcher(request).worker_changed(worker, retry=retry)


async def _card(
    session: SessionDep, user: User, task: Task, offer: Offer | None, reads: list[Read]
) -> dict[str, Any]:
    """A task as the worker sees it: offered, only what decides yes or no; theirs, the door."""
    audience = Audience.WORKER_OFFERED if offer is not None else Audience.WORKER_ASSIGNED
    home = await load_home(session, task.household_id)
    hh = home.household if home else None
    f = partial(render, audience)
    if hh is not None:
        reads.append(Read("household", hh.id, audience, CARD_HOUSEHOLD))
    if home is not None and home.resident_id is not None:
        reads.append(Read("resident", str(home.resident_id), audience, CARD_RESIDENT))
    return {
        "id": task.id,
        "number": task.number,
        "kind": task.kind,
        "alarm_kind": task.alarm_kind,
        "severity": task.severity,
        "state": task.state,
        "deadline_at": task.deadline_at.isoformat(),
        "at_risk": task.at_risk,
        "address": (f("household.address", hh.address) or "") if hh else "",
        "access_notes": (f("household.access_notes", hh.access_notes) or "") if hh else "",
        "lat": f("household.lat", hh.lat) if hh else None,
        "lon": f("household.lon", hh.lon) if hh else None,
        "first_name": (f("resident.first_name", home.first_name) or "") if home else "",
        "conditions": list(f("resident.conditions", home.conditions) or ()) if home else [],
        "clues": [c.note or c.kind for c in await open_clues(session, task.household_id)],
        "offer_expires_at": offer.expires_at.isoformat() if offer else None,
        "distance_km": offer.distance_km if offer else None,
    }


@router.get("/tasks")
async def my_tasks(session: SessionDep, user: WorkerUser) -> dict[str, list[dict[str, Any]]]:
    """Tasks offered to me (pending) and tasks I accepted (open)."""
    worker = await _worker(session, user)
    offered = await session.execute(
        select(Task, Offer)
        .join(Offer, Offer.task_id == Task.id)
        .where(Offer.worker_id == worker.id, Offer.state == "pending")
        .order_by(Task.id)
    )
    mine = await session.scalars(
        select(Task)
        .where(Task.worker_id == worker.id, Task.state.in_(OPEN_STATES))
        .order_by(Task.id)
    )
    reads: list[Read] = []
    out = {
        "offered": [await _card(session, user, t, o, reads) for t, o in offered.all()],
        "active": [await _card(session, user, t, None, reads) for t in mine],
    }
    record_reads(session, user, "GET /api/v1/worker/tasks", reads)
    await session.commit()
    return out


ACTIONS: dict[str, str] = {
    "accept": "accept",
    "decline": "decline",
    "en_route": "en_route",
    "arrived": "arrived",
    "resolve": "done",
}


@router.post("/tasks/{task_id}/{action}")
async def task_action(
    task_id: TaskId,
    action: Literal["accept", "decline", "en_route", "arrived", "resolve"],
    request: Request,
    session: SessionDep,
    user: WorkerUser,
    body: ActionIn | None = None,
) -> dict[str, Any]:
    """Answer a task from the app."""
    worker = await _worker(session, user)
    await session.close()
    outcome = body.outcome if body else None
    if action == "resolve" and outcome is None:
        raise HTTPException(422, "outcome: required to resolve a task")
    try:
        task = await _dispatcher(request).act(
            task_id, Actor(f"worker:{worker.id}", "app"), ACTIONS[action], outcome=outcome
        )
    except TransitionError as exc:
        status = 404 if exc.key == "no_task" and "not found" in str(exc) else 409
        raise HTTPException(status, f"task_id: {exc}") from exc
    return {"id": task.id, "number": task.number, "state": task.state}


@router.post("/households/{household_id}/visit")
async def routine_visit(
    household_id: Annotated[str, Path(max_length=128)],
    request: Request,
    session: SessionDep,
    user: WorkerUser,
) -> dict[str, int]:
    """A routine visit: closes the household's open clues.

    A worker may close only the clues of a household of a task offered or assigned to them
    (the reads' scope); any other household is 404, as if it did not exist.
    """
    worker = await _worker(session, user)
    in_scope = user.role != Role.WORKER or household_id in await worker_households(session, user)
    if not in_scope or await session.get(Household, household_id) is None:
        raise HTTPException(404, f"household_id: {household_id!r} not found")
    now = _dispatcher(request).clock.now()
    res = await session.execute(
        update(Clue)
        .where(Clue.household_id == household_id, Clue.closed_at.is_(None))
        .values(closed_at=now, closed_by=f"worker:{worker.id}")
    )
    await session.commit()
    return {"closed": int(getattr(res, "rowcount", 0) or 0)}


@router.get("/push/key")
async def push_key(request: Request, _: WorkerUser) -> dict[str, str | None]:
    """The VAPID public key the page subscribes with."""
    return {"public_key": request.app.state.settings.vapid_public_key}


@router.post("/push/subscriptions", status_code=201)
async def subscribe(
    body: SubscriptionIn, request: Request, session: SessionDep, user: WorkerUser
) -> dict[str, int]:
    """Store a browser's push subscription for me (409 when it is someone else's)."""
    worker = await _worker(session, user)
    sub = await register_subscription(
        session,
        owner=f"worker:{worker.id}",
        endpoint=body.endpoint,
        p256dh=body.keys.p256dh,
        auth=body.keys.auth,
        policy=policy_from(request.app.state.settings),
        now=_dispatcher(request).clock.now(),
    )
    await session.commit()
    return {"id": sub.id}
