"""What a gateway holds that the cloud refused: a ``delivery_failed`` alarm for its home.

A gateway keeps every envelope the cloud refused for a reason it could not mend and says
how many in each heartbeat (``outbox_failed``, the latest in ``failed``). While it holds
any, its household has one open cloud-side ``delivery_failed`` alarm (high; critical when a
critical alarm is among them), which dispatch turns into a task; updates follow as more
are refused, and it clears once the gateway holds none (``outbox --retry-failed``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.alarms.models import CLEARED, OPEN, Alarm, AlarmEvent, open_cloud_alarm
from cloud.gateways.auth import GatewayIdentity
from protocol import AlarmKind, GatewayHeartbeat, Severity

log = logging.getLogger(__name__)

KIND = str(AlarmKind.DELIVERY_FAILED)


def severity_of(hb: GatewayHeartbeat) -> Severity:
    """High, or critical when a critical alarm is among those held."""
    worst = any(f.severity is Severity.CRITICAL for f in hb.failed)
    return Severity.CRITICAL if worst else Severity.HIGH


def _message(hb: GatewayHeartbeat) -> str:
    text = f"{hb.outbox_failed} envelopes refused by the cloud are held on the gateway"
    if hb.failed:
        first = hb.failed[0]
        text += f"; latest: {first.table} {first.kind or ''} {first.error}"
    return text[:500]


class DeliveryWatch:
    """Remembers, per gateway, what it last reported, so only a change costs a query (and
    a gateway holding nothing, with no open alarm at start, none at all)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._seen: dict[str, tuple[int, Severity]] = {}
        self._open: set[str] | None = None  # gateways with an open alarm, read once

    async def heartbeat(self, gw: GatewayIdentity, hb: GatewayHeartbeat, now: datetime) -> bool:
        """Raise, update or clear the gateway's delivery_failed alarm; True when changed."""
        seen = (hb.outbox_failed, severity_of(hb))
        last = self._seen.get(gw.gateway_id)
        if last == seen:
            return False
        try:
            fresh = last is None and hb.outbox_failed == 0
            if fresh and gw.gateway_id not in await self._open_at_start():
                self._seen[gw.gateway_id] = seen
                return False
            async with self._sessionmaker() as session, session.begin():
                changed = await _apply(session, gw, hb, now)
        except SQLAlchemyError:
            log.exception("delivery_failed for gateway %s not recorded; next heartbeat", gw)
            return False
        self._seen[gw.gateway_id] = seen
        return changed

    async def _open_at_start(self) -> set[str]:
        if self._open is None:
            async with self._sessionmaker() as session:
                query = select(Alarm.gateway_id).where(
                    Alarm.kind == KIND, Alarm.source == "cloud", Alarm.status == OPEN
                )
                self._open = set((await session.scalars(query)).all())
        return self._open


async def _apply(
    session: AsyncSession, gw: GatewayIdentity, hb: GatewayHeartbeat, now: datetime
) -> bool:
    current = await session.scalar(
        select(Alarm)
        .where(open_cloud_alarm(gw.gateway_id, KIND))
        .order_by(Alarm.id)
        .limit(1)
        .with_for_update()
    )
    severity = str(severity_of(hb))
    if hb.outbox_failed == 0:
        if current is None:
            return False
        current.status, current.closed_at, current.updated_at = CLEARED, now, now
        session.add(_event(current, "clear", now, None, "the gateway holds no refused envelope"))
        log.info("delivery_failed cleared gateway=%s", gw.gateway_id)
        return True
    if current is None:
        current = Alarm(
            alarm_id=f"cloud.delivery_failed.{gw.gateway_id}.{int(now.timestamp())}",
            gateway_id=gw.gateway_id,
            home_id=gw.household_id or hb.home_id,
            household_id=gw.household_id,
            kind=KIND,
            severity=severity,
            status=OPEN,
            source="cloud",
            detector="cloud.delivery",
            message=_message(hb),
            raised_at=now,
            received_at=now,
            updated_at=now,
            evidence=[],
            details={"outbox_failed": hb.outbox_failed},
        )
        session.add(current)
        await session.flush()
        session.add(_event(current, "raised", now, severity, current.message))
        log.warning(
            "delivery_failed raised gateway=%s held=%d severity=%s",
            gw.gateway_id,
            hb.outbox_failed,
            severity,
        )
        return True
    raised = Severity(severity).rank < Severity(current.severity).rank
    current.details = {**current.details, "outbox_failed": hb.outbox_failed}
    current.updated_at = now
    if raised:
        current.severity = severity
    session.add(_event(current, "update", now, severity if raised else None, _message(hb)))
    return True


def _event(
    alarm: Alarm, action: str, now: datetime, severity: str | None, reason: str
) -> AlarmEvent:
    return AlarmEvent(
        alarm_pk=alarm.id,
        action=action,
        ts=now,
        received_at=now,
        severity=severity,
        reason=reason,
        evidence=[],
    )
