"""Dispatch tables: tasks, their alarms, offers, the audit trail, clues, the number counter."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db import Base, UTCDateTime, utcnow


class TaskState(StrEnum):
    """Where a task is in its life."""

    NEW = "new"  # waiting for a first offer (or no one available yet)
    OFFERED = "offered"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


OPEN_STATES = (
    TaskState.NEW,
    TaskState.OFFERED,
    TaskState.ACCEPTED,
    TaskState.EN_ROUTE,
    TaskState.ON_SITE,
)
NOBODY_GONE = (TaskState.NEW, TaskState.OFFERED, TaskState.ACCEPTED)


class TaskKind(StrEnum):
    """Response tasks go to the nearest worker; maintenance tasks to installers."""

    RESPONSE = "response"
    MAINTENANCE = "maintenance"


class Outcome(StrEnum):
    """Why a resolved task was closed; SMS replies use the number in ``OUTCOME_CODES``."""

    ASSISTED = "assisted"
    FALSE_ALARM = "false_alarm"
    HOSPITAL = "hospital"
    RESIDENT_AWAY = "resident_away"
    DEVICE_FAULT = "device_fault"
    NO_ANSWER = "no_answer"
    REPAIRED = "repaired"


OUTCOME_CODES: dict[str, Outcome] = {str(i): o for i, o in enumerate(Outcome, start=1)}


class Task(Base):
    """A case that needs a person at the door (or an installer), with its timers."""

    __tablename__ = "dispatch_tasks"
    __table_args__ = (
        Index("ix_dispatch_tasks_due", "state", "next_action_at"),
        Index("ix_dispatch_tasks_household_state", "household_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default=TaskKind.RESPONSE)
    alarm_kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=TaskState.NEW)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"))
    family_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("family_contacts.id", ondelete="SET NULL")
    )
    outcome: Mapped[str | None] = mapped_column(String(32))
    offer_round: Mapped[int] = mapped_column(Integer, default=0)
    escalation: Mapped[int] = mapped_column(Integer, default=0)
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    unstaffed: Mapped[bool] = mapped_column(Boolean, default=False)  # no escalation target
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_hash: Mapped[str] = mapped_column(String(64), default="")
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class TaskAlarm(Base):
    """An alarm that opened or joined a task."""

    __tablename__ = "dispatch_task_alarms"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    alarm_pk: Mapped[int] = mapped_column(
        ForeignKey("alarms.id", ondelete="CASCADE"), primary_key=True, unique=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Offer(Base):
    """A task offered to one person, with the moment it times out."""

    __tablename__ = "dispatch_offers"
    __table_args__ = (
        Index("ix_dispatch_offers_worker_state", "worker_id", "state"),
        UniqueConstraint("task_id", "worker_id", "round"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_tasks.id", ondelete="CASCADE"), index=True
    )
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    escalation: Mapped[int] = mapped_column(Integer, default=0)
    distance_km: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(16))


class TaskEvent(Base):
    """One audit-trail entry; ``hash`` chains it to the task's previous entry."""

    __tablename__ = "dispatch_task_events"
    __table_args__ = (UniqueConstraint("task_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("dispatch_tasks.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Clue(Base):
    """A hint for the next routine visit to a household; closed by that visit."""

    __tablename__ = "dispatch_clues"
    __table_args__ = (Index("ix_dispatch_clues_open", "household_id", "closed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    alarm_pk: Mapped[int | None] = mapped_column(ForeignKey("alarms.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))


class TaskCounter(Base):
    """Last task number used per day (``T<yyyymmdd>-<nnnn>``)."""

    __tablename__ = "dispatch_task_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
