"""Storing alarms and alarm updates from gateways, idempotently (by alarm and update id)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.alarms.models import CANCELLED, CLEARED, OPEN, Alarm, AlarmEvent
from cloud.db import insert_ignoring_conflicts, utcnow
from cloud.errors import field_name
from cloud.gateways.auth import GatewayIdentity
from cloud.schemas import nul_path
from protocol import Alarm as AlarmIn
from protocol import AlarmAction, AlarmUpdate, IngestAck, IngestRejection

log = logging.getLogger(__name__)

FUTURE_SLACK = timedelta(minutes=5)  # a device time later than the cloud's by more: suspect
PAST_LIMIT = timedelta(days=30)  # longer than any outbox holds an alarm: suspect
MAX_EVIDENCE = 200

M = TypeVar("M", bound=BaseModel)


def _item_id(raw: Any, key: str, index: int) -> str:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, str) and value else f"#{index}"


def parse_items(raws: list[Any], model: type[M], key: str, ack: IngestAck) -> list[M]:
    """Validate each item on its own; failures go to ``ack.rejected`` naming the field."""
    good: list[M] = []
    for i, raw in enumerate(raws):
        item_id = _item_id(raw, key, i)
        bad = nul_path(raw)
        if bad:
            ack.rejected.append(
                IngestRejection(id=item_id, error=f"{bad}: contains a NUL character")
            )
            continue
        try:
            good.append(model.model_validate(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            ack.rejected.append(
                IngestRejection(id=item_id, error=f"{field_name(err['loc'])}: {err['msg']}")
            )
    return good


def clock_suspect(ts: datetime, received_at: datetime) -> bool:
    """A device time too far from the cloud's own to count ages from."""
    return not received_at - PAST_LIMIT <= ts <= received_at + FUTURE_SLACK


def alarm_suspect(a: AlarmIn, received_at: datetime) -> bool:
    """The gateway marked the alarm's time suspect, or the cloud finds it so."""
    return (
        a.clock_suspect
        or any(e.clock_suspect for e in a.evidence)
        or clock_suspect(a.raised_at, received_at)
    )


def trusted_time(ts: datetime, received_at: datetime, *, suspect: bool = False) -> datetime:
    """``ts``, or the cloud's receive time when ``ts`` is not to be trusted."""
    return received_at if suspect or clock_suspect(ts, received_at) else ts


async def store_alarms(
    session: AsyncSession, gw: GatewayIdentity, raws: list[Any]
) -> tuple[IngestAck, list[AlarmIn]]:
    """Insert new alarms, skip known ones; returns the answer and the alarms stored now.

    Only alarms for the gateway's own household are taken (the routes refuse a gateway
    without one before this is called).
    """
    ack = IngestAck()
    fresh: dict[str, AlarmIn] = {}
    for alarm in parse_items(raws, AlarmIn, "alarm_id", ack):
        if alarm.gateway_id != gw.gateway_id:
            ack.rejected.append(
                IngestRejection(
                    id=alarm.alarm_id, error="gateway_id: does not match the credential"
                )
            )
        elif alarm.home_id != gw.household_id:
            ack.rejected.append(
                IngestRejection(
                    id=alarm.alarm_id,
                    error=f"home_id: {alarm.home_id!r} is not this gateway's household",
                )
            )
        elif alarm.alarm_id in fresh:
            ack.duplicates.append(alarm.alarm_id)
        else:
            fresh[alarm.alarm_id] = alarm
    if not fresh:
        return ack, []
    now = utcnow()
    rows = [_alarm_row(a, now, gw.household_id) for a in fresh.values()]
    stmt = insert_ignoring_conflicts(session, Alarm, "gateway_id", "alarm_id").returning(
        Alarm.id, Alarm.alarm_id
    )
    inserted = {aid: pk for pk, aid in (await session.execute(stmt, rows)).all()} if rows else {}
    if inserted:
        events = [
            {
                "alarm_pk": pk,
                "action": "raised",
                "ts": fresh[aid].raised_at,
                "received_at": now,
                "severity": str(fresh[aid].severity),
                "reason": fresh[aid].message,
                "evidence": [],
            }
            for aid, pk in inserted.items()
        ]
        await session.execute(insert(AlarmEvent), events)
    ack.duplicates.extend(aid for aid in fresh if aid not in inserted)  # this gateway's own
    await session.commit()
    ack.accepted.extend(aid for aid in fresh if aid in inserted)
    return ack, [fresh[aid] for aid in fresh if aid in inserted]


def _alarm_row(a: AlarmIn, now: datetime, household_id: str | None) -> dict[str, Any]:
    return {
        "alarm_id": a.alarm_id,
        "gateway_id": a.gateway_id,
        "home_id": a.home_id,
        "household_id": household_id,
        "device_id": a.device_id,
        "kind": str(a.kind),
        "severity": str(a.severity),
        "status": OPEN,
        "source": "gateway",
        "detector": a.detector,
        "message": a.message,
        "room": a.room,
        "raised_at": a.raised_at,
        "received_at": now,
        "updated_at": now,
        "evidence": [e.model_dump(mode="json") for e in a.evidence],
        "details": dict(a.details),
        "dispatch_state": "new",
        "clock_suspect": alarm_suspect(a, now),
    }


async def store_updates(
    session: AsyncSession, gw: GatewayIdentity, raws: list[Any]
) -> tuple[IngestAck, list[tuple[AlarmUpdate, Alarm]]]:
    """Apply updates once each (by ``update_id``); the answer and (update, alarm) applied."""
    ack = IngestAck()
    updates: list[AlarmUpdate] = []
    seen: set[str] = set()
    for upd in parse_items(raws, AlarmUpdate, "update_id", ack):
        if upd.gateway_id != gw.gateway_id:
            ack.rejected.append(
                IngestRejection(id=upd.update_id, error="gateway_id: does not match the credential")
            )
        elif upd.update_id in seen:
            ack.duplicates.append(upd.update_id)
        else:
            seen.add(upd.update_id)
            updates.append(upd)
    if not updates:
        return ack, []
    alarm_ids = {u.alarm_id for u in updates}
    alarms = {
        a.alarm_id: a
        for a in (
            await session.scalars(
                select(Alarm)
                .where(Alarm.alarm_id.in_(alarm_ids), Alarm.gateway_id == gw.gateway_id)
                .with_for_update()
            )
        ).all()
    }
    applied: list[tuple[AlarmUpdate, Alarm]] = []
    now = utcnow()
    for upd in updates:
        alarm = alarms.get(upd.alarm_id)
        if alarm is None:
            ack.rejected.append(
                IngestRejection(id=upd.update_id, error="alarm_id: no such alarm from this gateway")
            )
            continue
        stmt = insert_ignoring_conflicts(session, AlarmEvent, "alarm_pk", "update_id").returning(
            AlarmEvent.id
        )
        new = await session.scalar(
            stmt,
            {
                "alarm_pk": alarm.id,
                "update_id": upd.update_id,
                "action": str(upd.action),
                "ts": upd.ts,
                "received_at": now,
                "severity": str(upd.severity) if upd.severity else None,
                "reason": upd.reason,
                "evidence": [e.model_dump(mode="json") for e in upd.evidence],
            },
        )
        if new is None:
            ack.duplicates.append(upd.update_id)
            continue
        _apply(alarm, upd, now)
        ack.accepted.append(upd.update_id)
        applied.append((upd, alarm))
    await session.commit()
    return ack, applied


def _apply(alarm: Alarm, upd: AlarmUpdate, now: datetime) -> None:
    alarm.updated_at = now
    if upd.evidence:
        evidence = [*alarm.evidence, *(e.model_dump(mode="json") for e in upd.evidence)]
        alarm.evidence = evidence[-MAX_EVIDENCE:]
    if upd.action is AlarmAction.UPDATE:
        if upd.severity is not None:
            alarm.severity = str(upd.severity)
    elif alarm.status == OPEN:
        alarm.status = CLEARED if upd.action is AlarmAction.CLEAR else CANCELLED
        alarm.closed_at = trusted_time(upd.ts, now)
