"""The resident page: person, household, contacts, devices with last readings, alarms."""

from __future__ import annotations

import logging
from datetime import datetime

import httpx
from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.alarms.models import OPEN, Alarm
from cloud.console.access import Viewer
from cloud.console.live import full_name
from cloud.console.schemas import (
    AlarmOut,
    Contact,
    DeviceOut,
    HouseholdOut,
    ReadingOut,
    ResidentDetail,
    ResidentOut,
)
from cloud.console.series import UNITS, last_values
from cloud.dispatch.models import Task, TaskAlarm
from cloud.gateways.models import Gateway
from cloud.privacy.access_log import Read, record_reads
from cloud.registry.models import Device, FamilyContact, Household, Resident
from cloud.timeseries.writer import InfluxError, InfluxWriter
from protocol.envelopes import AlarmKind

log = logging.getLogger(__name__)

HISTORY = 100
RESIDENT_COLUMNS = ("first_name", "last_name", "birth_year", "phone", "id_number", "conditions")
HOUSEHOLD_COLUMNS = ("name", "address", "access_notes")
CONTACT_COLUMNS = ("name", "relation", "phone")


async def resident_or_404(session: AsyncSession, resident_id: int) -> tuple[Resident, Household]:
    """The resident and their household (404 naming the id)."""
    row = (
        await session.execute(
            select(Resident, Household)
            .join(Household, Household.id == Resident.household_id)
            .where(Resident.id == resident_id)
        )
    ).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"resident_id: no resident {resident_id}")
    return row[0], row[1]


async def _devices(
    session: AsyncSession, influx: InfluxWriter | None, home: Household, now: datetime
) -> list[DeviceOut]:
    devices = list(
        await session.scalars(
            select(Device).where(Device.household_id == home.id).order_by(Device.device_id)
        )
    )
    offline = set(
        await session.scalars(
            select(Alarm.device_id).where(
                Alarm.household_id == home.id,
                Alarm.status == OPEN,
                Alarm.kind == AlarmKind.DEVICE_OFFLINE,
            )
        )
    )
    gateway_down = bool(
        await session.scalar(
            select(Gateway.id).where(
                Gateway.household_id == home.id, Gateway.offline_since.is_not(None)
            )
        )
    )
    last: dict[str, dict[str, tuple[datetime, float | None]]] = {}
    if influx is not None:
        try:
            last = await last_values(influx, home.id, now)
        except (InfluxError, httpx.HTTPError) as exc:
            log.warning("last readings of household %s unavailable: %s", home.id, exc)
    out = []
    for d in devices:
        per = last.get(d.device_id, {})
        battery = per.get("battery", (now, None))[1]
        out.append(
            DeviceOut(
                id=d.device_id,
                model=d.profile,
                room=d.room,
                last_seen=max((t for t, _ in per.values()), default=None),
                online=d.device_id not in offline and not gateway_down,
                battery_pct=battery,
                readings=[
                    ReadingOut(
                        metric=m,
                        value=None if v is None else round(v, 1),
                        unit=UNITS.get(m, ""),
                        at=t,
                    )
                    for m, (t, v) in sorted(per.items())
                ],
            )
        )
    return out


async def _history(session: AsyncSession, home_id: str) -> list[AlarmOut]:
    rows = await session.execute(
        select(Alarm, Task.number, Task.outcome)
        .outerjoin(TaskAlarm, TaskAlarm.alarm_pk == Alarm.id)
        .outerjoin(Task, Task.id == TaskAlarm.task_id)
        .where(Alarm.household_id == home_id)
        .order_by(Alarm.raised_at.desc())
        .limit(HISTORY)
    )
    return [
        AlarmOut(
            id=a.alarm_id,
            kind=a.kind,
            severity=a.severity,
            status=a.status,
            raised_at=a.started_at,
            task_number=number,
            outcome=outcome,
        )
        for a, number, outcome in rows
    ]


async def resident_detail(
    session: AsyncSession,
    viewer: Viewer,
    influx: InfluxWriter | None,
    resident_id: int,
    now: datetime,
) -> ResidentDetail:
    """Everything on the resident page, personal numbers masked by role."""
    person, home = await resident_or_404(session, resident_id)
    contacts = list(
        await session.scalars(
            select(FamilyContact)
            .where(FamilyContact.household_id == home.id)
            .order_by(FamilyContact.id)
        )
    )
    f = viewer.field
    reads = [
        Read("resident", str(person.id), viewer.audience, RESIDENT_COLUMNS),
        Read("household", home.id, viewer.audience, HOUSEHOLD_COLUMNS),
        *(Read("contact", str(c.id), viewer.audience, CONTACT_COLUMNS) for c in contacts),
    ]
    record_reads(session, viewer.user, "GET /api/v1/console/residents/{id}", reads, now)
    await session.commit()
    return ResidentDetail(
        resident=ResidentOut(
            id=person.id,
            name=full_name(
                f("resident.first_name", person.first_name) or "",
                f("resident.last_name", person.last_name) or "",
            ),
            birth_year=f("resident.birth_year", person.birth_year),
            phone=f("resident.phone", person.phone),
            id_number=f("resident.id_number", person.id_number),
            conditions=f("resident.conditions", list(person.conditions or [])) or [],
            household=HouseholdOut(
                id=home.id,
                name=f("household.name", home.name) or "",
                address=f("household.address", home.address) or "",
                district=home.district,
                risk=home.risk_level,
                access_notes=f("household.access_notes", home.access_notes) or "",
            ),
            contacts=[
                Contact(
                    name=f("contact.name", c.name) or "",
                    relation=f("contact.relation", c.relation) or "",
                    phone=f("contact.phone", c.phone),
                )
                for c in contacts
            ],
        ),
        devices=await _devices(session, influx, home, now),
        alarms=await _history(session, home.id),
    )
