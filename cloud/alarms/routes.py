"""``/api/v1/alarms``: what operators see of alarms and their events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import Field
from sqlalchemy import select

from cloud.alarms.models import Alarm, AlarmEvent
from cloud.auth.deps import Role, require_roles
from cloud.auth.models import User
from cloud.db import SessionDep
from cloud.schemas import Public, QueryTime
from protocol import AlarmKind

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])

Reader = Annotated[User, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR))]


class AlarmEventPublic(Public):
    """One step of an alarm."""

    action: str
    ts: datetime
    received_at: datetime
    severity: str | None
    reason: str
    evidence: list[dict[str, Any]]


class AlarmPublic(Public):
    """An alarm."""

    id: int
    alarm_id: str
    gateway_id: str
    home_id: str
    household_id: str | None
    device_id: str | None
    kind: str
    severity: str
    status: str
    source: str
    detector: str
    message: str
    room: str | None
    raised_at: datetime = Field(description="The device's time of the condition.")
    received_at: datetime = Field(description="When the cloud received it (its own clock).")
    clock_suspect: bool = Field(description="raised_at is not to be trusted; see started_at.")
    started_at: datetime = Field(description="raised_at, or received_at when clock_suspect.")
    updated_at: datetime
    closed_at: datetime | None
    evidence: list[dict[str, Any]]
    details: dict[str, Any]
    dispatch_state: str


class AlarmDetail(AlarmPublic):
    """An alarm with its events."""

    events: list[AlarmEventPublic]


@router.get("", response_model=list[AlarmPublic])
async def list_alarms(
    _: Reader,
    session: SessionDep,
    status_: Annotated[
        Literal["open", "cleared", "cancelled", "resolved"] | None, Query(alias="status")
    ] = None,
    kind: AlarmKind | None = None,
    home_id: Annotated[str | None, Query(max_length=128)] = None,
    since: QueryTime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[Alarm]:
    """Newest first, filtered."""
    stmt = select(Alarm).order_by(Alarm.received_at.desc(), Alarm.id.desc())
    if status_:
        stmt = stmt.where(Alarm.status == status_)
    if kind:
        stmt = stmt.where(Alarm.kind == str(kind))
    if home_id:
        stmt = stmt.where(Alarm.home_id == home_id)
    if since:
        stmt = stmt.where(Alarm.received_at >= since)
    return list((await session.scalars(stmt.limit(limit).offset(offset))).all())


@router.get("/{alarm_id}", response_model=AlarmDetail)
async def get_alarm(
    alarm_id: str, _: Reader, session: SessionDep, gateway_id: str | None = None
) -> dict[str, Any]:
    """One alarm by its ``alarm_id`` (and ``gateway_id``: ids are unique per gateway only),
    with its events in order; 409 when the id alone names alarms of several gateways."""
    stmt = select(Alarm).where(Alarm.alarm_id == alarm_id).order_by(Alarm.id).limit(2)
    if gateway_id is not None:
        stmt = stmt.where(Alarm.gateway_id == gateway_id)
    found = list(await session.scalars(stmt))
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"alarm_id: no such alarm {alarm_id!r}")
    if len(found) > 1:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"alarm_id: {alarm_id!r} names alarms of several gateways; add ?gateway_id=",
        )
    alarm = found[0]
    events = (
        await session.scalars(
            select(AlarmEvent).where(AlarmEvent.alarm_pk == alarm.id).order_by(AlarmEvent.id)
        )
    ).all()
    return {
        **AlarmPublic.model_validate(alarm).model_dump(),
        "events": [AlarmEventPublic.model_validate(e).model_dump() for e in events],
    }
