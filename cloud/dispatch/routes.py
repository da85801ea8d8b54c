"""Operator API: tasks with their trail, audit verification, cancel, notifications, clues."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import Field
from sqlalchemy import select

from cloud.auth.deps import Role, require_roles
from cloud.auth.models import User
from cloud.db import SessionDep
from cloud.dispatch.actors import Actor, TransitionError
from cloud.dispatch.audit import verify_task
from cloud.dispatch.engine import Dispatcher
from cloud.dispatch.facts import open_clues
from cloud.dispatch.models import Offer, Task, TaskAlarm, TaskEvent, TaskState
from cloud.models import Alarm, FamilyContact, Household
from cloud.notify.endpoints import policy_from
from cloud.notify.models import Notification
from cloud.notify.subscriptions import register_subscription
from cloud.privacy.policy import Show, render, role_audience, show
from cloud.schemas import Public, Strict

router = APIRouter(prefix="/api/v1", tags=["dispatch"])
Operator = Annotated[User, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR))]


class TaskPublic(Public):
    """A task as the console lists it."""

    id: int
    number: str
    household_id: str
    kind: str
    alarm_kind: str
    severity: str
    state: str
    worker_id: int | None
    family_contact_id: int | None
    outcome: str | None
    offer_round: int
    escalation: int
    at_risk: bool
    unstaffed: bool
    created_at: datetime
    deadline_at: datetime
    next_action_at: datetime | None
    accepted_at: datetime | None
    arrived_at: datetime | None
    closed_at: datetime | None


class EventPublic(Public):
    """One audit entry."""

    seq: int
    ts: datetime
    action: str
    actor: str
    channel: str
    detail: dict[str, Any]
    hash: str


class OfferPublic(Public):
    """One offer."""

    id: int
    worker_id: int
    round: int
    escalation: int
    distance_km: float | None
    state: str
    offered_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    channel: str | None


class TaskDetail(TaskPublic):
    """A task with its alarms, offers and audit trail."""

    alarm_ids: list[str]
    offers: list[OfferPublic]
    events: list[EventPublic]


class VerifyOut(Public):
    """Result of recomputing a task's hash chain."""

    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str


class CancelIn(Strict):
    """Why an operator cancels a task."""

    reason: str = Field(min_length=1, max_length=200)


class NotificationPublic(Public):
    """What was sent, to whom (masked), and what came back."""

    id: int
    task_id: int | None
    recipient: str
    channel: str
    address: str
    purpose: str
    body: str
    state: str
    attempts: int
    last_error: str | None
    provider_id: str | None
    provider_status: str | None
    created_at: datetime
    sent_at: datetime | None


class FamilySubscriptionIn(Strict):
    """A family member's browser push subscription, registered by an operator."""

    endpoint: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    p256dh: str = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_\-=]+$")
    auth: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-=]+$")


class CluePublic(Public):
    """A hint for the next routine visit."""

    id: int
    household_id: str
    kind: str
    note: str
    created_at: datetime


async def _task(session: SessionDep, task_id: int) -> Task:
    task = await session.get(Task, task_id)
    if task is None:
        raise HTTPException(404, f"task_id: task {task_id} not found")
    return task


ACCESS_PURPOSE = "accepted"  # the one text that carries access notes (to the assignee)
ACCESS_NOTES = "household.access_notes"
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/tasks", response_model=list[TaskPublic])
async def list_tasks(
    session: SessionDep,
    _: Operator,
    state: Annotated[TaskState | None, Query()] = None,
    household_id: Annotated[str | None, Query(max_length=128)] = None,
    at_risk: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Task]:
    """Tasks, newest first, filtered by state, household or at-risk flag."""
    query = select(Task).order_by(Task.id.desc()).limit(limit)
    if state is not None:
        query = query.where(Task.state == state)
    if household_id is not None:
        query = query.where(Task.household_id == household_id)
    if at_risk is not None:
        query = query.where(Task.at_risk.is_(at_risk))
    return list(await session.scalars(query))


@router.get("/tasks/{task_id}", response_model=TaskDetail)
async def get_task(task_id: PathId, session: SessionDep, _: Operator) -> dict[str, Any]:
    """A task with its alarms, offers and audit trail."""
    task = await _task(session, task_id)
    alarm_ids = await session.scalars(
        select(Alarm.alarm_id)
        .join(TaskAlarm, TaskAlarm.alarm_pk == Alarm.id)
        .where(TaskAlarm.task_id == task.id)
    )
    offers = await session.scalars(select(Offer).where(Offer.task_id == task.id).order_by(Offer.id))
    events = await session.scalars(
        select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.seq)
    )
    return {
        **TaskPublic.model_validate(task).model_dump(),
        "alarm_ids": list(alarm_ids),
        "offers": list(offers),
        "events": list(events),
    }


@router.get("/tasks/{task_id}/audit/verify", response_model=VerifyOut)
async def verify_audit(task_id: PathId, session: SessionDep, _: Operator) -> VerifyOut:
    """Recompute the hash chain of the task's trail; ``ok`` is false after any tampering."""
    task = await _task(session, task_id)
    v = await verify_task(session, task)
    return VerifyOut(ok=v.ok, entries=v.entries, first_bad_seq=v.first_bad_seq, reason=v.reason)


@router.post("/tasks/{task_id}/cancel", response_model=TaskPublic)
async def cancel_task(
    task_id: PathId, body: CancelIn, request: Request, session: SessionDep, user: Operator
) -> Task:
    """Cancel an open task (operator decision)."""
    await _task(session, task_id)
    await session.close()
    dispatcher: Dispatcher = request.app.state.dispatcher
    try:
        return await dispatcher.act(
            task_id, Actor(f"user:{user.id}", "console"), "cancel", reason=body.reason
        )
    except TransitionError as exc:
        raise HTTPException(409, f"state: {exc}") from exc


@router.get("/notifications", response_model=list[NotificationPublic])
async def list_notifications(
    session: SessionDep,
    user: Operator,
    task_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationPublic]:
    """The outbox: what was sent, to whom (addresses masked), and the provider's answer."""
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if task_id is not None:
        query = query.where(Notification.task_id == task_id)
    if state is not None:
        query = query.where(Notification.state == state)
    audience = role_audience(user.role)
    out = []
    for n in await session.scalars(query):
        item = NotificationPublic.model_validate(n)
        if n.channel == "sms":
            item.address = render(audience, "notification.address", n.address) or ""
        else:
            item.address = n.address.split("/push/")[0]
        if (
            n.purpose == ACCESS_PURPOSE
            and show(audience, "household.access_notes") is not Show.CLEAR
        ):
            item.body = "(withheld: the text carries the home's access notes)"
        out.append(item)
    return out


@router.get("/households/{household_id}/clues", response_model=list[CluePublic])
async def household_clues(household_id: str, session: SessionDep, _: Operator) -> list[Any]:
    """Open clues of a household (for the next routine visit)."""
    if len(household_id) > 128 or await session.get(Household, household_id) is None:
        raise HTTPException(404, f"household_id: {household_id[:128]!r} not found")
    return list(await open_clues(session, household_id))


@router.post("/family-contacts/{contact_id}/push-subscriptions", status_code=201)
async def family_subscription(
    contact_id: PathId,
    body: FamilySubscriptionIn,
    request: Request,
    session: SessionDep,
    _: Operator,
) -> dict[str, int]:
    """Register a family member's push subscription (they then also get app push)."""
    if await session.get(FamilyContact, contact_id) is None:
        raise HTTPException(404, f"contact_id: family contact {contact_id} not found")
    sub = await register_subscription(
        session,
        owner=f"family:{contact_id}",
        endpoint=body.endpoint,
        p256dh=body.p256dh,
        auth=body.auth,
        policy=policy_from(request.app.state.settings),
        now=request.app.state.dispatcher.clock.now(),
    )
    await session.commit()
    return {"id": sub.id}
