"""Registry tables: households, residents, devices, family contacts, workers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db import Base, UTCDateTime, utcnow


class Household(Base):
    """One monitored home; ``id`` is the ``home_id`` the gateway reports."""

    __tablename__ = "households"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    address: Mapped[str] = mapped_column(String(256), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    district: Mapped[str] = mapped_column(String(64), default="", index=True)
    risk_level: Mapped[str] = mapped_column(String(16), default="medium")
    access_notes: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Resident(Base):
    """A person watched over; phone and ID number are personal data (masked by role)."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[str] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    first_name: Mapped[str] = mapped_column(String(64))
    last_name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    id_number: Mapped[str] = mapped_column(String(32), default="")
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(1))
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    """A sensor paired to a household's gateway; ``device_id`` is unique within the home."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("household_id", "device_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[str] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    gateway_id: Mapped[str | None] = mapped_column(
        ForeignKey("gateways.id", ondelete="SET NULL"), index=True
    )
    device_id: Mapped[str] = mapped_column(String(128))
    profile: Mapped[str] = mapped_column(String(128))
    room: Mapped[str] = mapped_column(String(64), default="")
    worn_by_resident: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FamilyContact(Base):
    """A relative or neighbour and what they agreed to receive."""

    __tablename__ = "family_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[str] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    relation: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2), default="zh")
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    alarm_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every kind
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", home's local time
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    may_claim: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Worker(Base):
    """A community (grid) worker or supervisor who can be sent to a door."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32), index=True, unique=True)
    language: Mapped[str] = mapped_column(String(2), default="zh")
    role: Mapped[str] = mapped_column(String(16), default="worker")
    district: Mapped[str] = mapped_column(String(64), default="", index=True)
    duty_status: Mapped[str] = mapped_column(String(8), default="off")
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    location_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
