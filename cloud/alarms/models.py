"""Alarms (unique by gateway and ``alarm_id``) and their lifecycle events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import ColumnElement, and_
from sqlalchemy.sql.expression import false as sql_false

from cloud.db import Base, UTCDateTime, utcnow

OPEN, CLEARED, CANCELLED, RESOLVED = "open", "cleared", "cancelled", "resolved"


class Alarm(Base):
    """An alarm from a gateway (``source='gateway'``) or raised by the cloud (``'cloud'``).

    ``dispatch_state`` belongs to dispatch: new -> queued -> done, or ignored. An
    ``alarm_id`` is unique per gateway only: one gateway's ids never block another's.
    ``clock_suspect``: ``raised_at`` is the device's time and not to be trusted; the
    alarm's age counts from ``received_at`` (the cloud's own clock) instead.
    """

    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_dispatch", "dispatch_state", "received_at"),
        Index("ix_alarms_gateway_kind_status", "gateway_id", "kind", "status"),
        UniqueConstraint("gateway_id", "alarm_id", name="uq_alarms_gateway_alarm"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[str] = mapped_column(String(128), index=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateways.id", ondelete="CASCADE"))
    home_id: Mapped[str] = mapped_column(String(128), index=True)
    household_id: Mapped[str | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True
    )
    device_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    source: Mapped[str] = mapped_column(String(16), default="gateway")
    detector: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    room: Mapped[str | None] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dispatch_state: Mapped[str] = mapped_column(String(16), default="new")
    clock_suspect: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql_false())

    @property
    def started_at(self) -> datetime:
        """When the alarm began as far as anyone can tell: the device's time, or the
        cloud's receive time when the device's clock is suspect."""
        return self.received_at if self.clock_suspect else self.raised_at


def open_cloud_alarm(gateway_id: str, kind: str) -> ColumnElement[bool]:
    """The condition for the gateway's open cloud-side alarm of ``kind``."""
    return and_(
        Alarm.gateway_id == gateway_id,
        Alarm.kind == kind,
        Alarm.source == "cloud",
        Alarm.status == OPEN,
    )


class AlarmEvent(Base):
    """One step of an alarm's life: raised, update, clear, cancel (``update_id`` is unique
    per alarm)."""

    __tablename__ = "alarm_events"
    __table_args__ = (
        UniqueConstraint("alarm_pk", "update_id", name="uq_alarm_events_alarm_update"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_pk: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    update_id: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    severity: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
