"""Create / Update / Public schemas of the registry resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from cloud.schemas import Public, Strict
from protocol import AlarmKind

Id = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
]
Phone = Annotated[
    str,
    StringConstraints(max_length=32, pattern=r"^(\+?[0-9][0-9 \-]{2,30})?$"),
    AfterValidator(lambda v: v.replace(" ", "").replace("-", "")),  # one spelling per number
]
HourMinute = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Text64 = Annotated[str, StringConstraints(max_length=64)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
RiskLevel = Literal["low", "medium", "high", "critical"]
Language = Literal["zh", "en"]
Channel = Literal["sms", "push", "voice"]
PkInt = Annotated[int, Field(ge=1, le=2**31 - 1)]


class HouseholdCreate(Strict):
    """A new household; ``id`` is the home_id its gateway reports."""

    id: Id
    name: str = Field(default="", max_length=128)
    address: str = Field(default="", max_length=256)
    lat: Lat
    lon: Lon
    district: Text64 = ""
    risk_level: RiskLevel = "medium"
    access_notes: str = Field(default="", max_length=2000)
    timezone: Text64 = "UTC"


class HouseholdUpdate(Strict):
    """Fields to change on a household."""

    name: str | None = Field(default=None, max_length=128)
    address: str | None = Field(default=None, max_length=256)
    lat: Lat | None = None
    lon: Lon | None = None
    district: Text64 | None = None
    risk_level: RiskLevel | None = None
    access_notes: str | None = Field(default=None, max_length=2000)
    timezone: Text64 | None = None


class HouseholdPublic(Public):
    """A household."""

    id: str
    name: str
    address: str
    lat: float
    lon: float
    district: str
    risk_level: str
    access_notes: str
    timezone: str
    created_at: datetime
    updated_at: datetime


class ResidentCreate(Strict):
    """A new resident of a household."""

    household_id: Id
    first_name: str = Field(min_length=1, max_length=64)
    last_name: Text64 = ""
    phone: Phone = ""
    id_number: Annotated[str, StringConstraints(max_length=32, pattern=r"^[0-9A-Za-z]*$")] = ""
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sex: Literal["f", "m", "x"] | None = None
    conditions: list[Text64] = Field(default_factory=list, max_length=50)
    consent: bool = False
    consent_at: AwareDatetime | None = None
    notes: str = Field(default="", max_length=2000)


class ResidentUpdate(Strict):
    """Fields to change on a resident."""

    first_name: str | None = Field(default=None, min_length=1, max_length=64)
    last_name: Text64 | None = None
    phone: Phone | None = None
    id_number: (
        Annotated[str, StringConstraints(max_length=32, pattern=r"^[0-9A-Za-z]*$")] | None
    ) = None
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sex: Literal["f", "m", "x"] | None = None
    conditions: list[Text64] | None = Field(default=None, max_length=50)
    consent: bool | None = None
    consent_at: AwareDatetime | None = None
    notes: str | None = Field(default=None, max_length=2000)


class ResidentPublic(Public):
    """A resident; ``phone`` and ``id_number`` are masked unless the role needs them."""

    id: int
    household_id: str
    first_name: str
    last_name: str
    phone: str
    id_number: str
    birth_year: int | None
    sex: str | None
    conditions: list[str]
    consent: bool
    consent_at: datetime | None
    notes: str


class DeviceCreate(Strict):
    """A device paired in a household."""

    household_id: Id
    gateway_id: Id | None = None
    device_id: Id
    profile: Id
    room: Text64 = ""
    worn_by_resident: bool = False


class DeviceUpdate(Strict):
    """Fields to change on a device."""

    gateway_id: Id | None = None
    profile: Id | None = None
    room: Text64 | None = None
    worn_by_resident: bool | None = None


class DevicePublic(Public):
    """A device."""

    id: int
    household_id: str
    gateway_id: str | None
    device_id: str
    profile: str
    room: str
    worn_by_resident: bool


class ContactCreate(Strict):
    """A family contact and what they agreed to receive."""

    household_id: Id
    name: str = Field(min_length=1, max_length=128)
    relation: Text64 = ""
    phone: Phone
    language: Language = "zh"
    channels: list[Channel] = Field(default=["sms"], max_length=3)
    alarm_kinds: list[AlarmKind] = Field(default_factory=list, description="Empty: every kind.")
    quiet_start: HourMinute | None = None
    quiet_end: HourMinute | None = None
    may_claim: bool = False


class ContactUpdate(Strict):
    """Fields to change on a family contact."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    relation: Text64 | None = None
    phone: Phone | None = None
    language: Language | None = None
    channels: list[Channel] | None = Field(default=None, max_length=3)
    alarm_kinds: list[AlarmKind] | None = None
    quiet_start: HourMinute | None = None
    quiet_end: HourMinute | None = None
    may_claim: bool | None = None


class ContactPublic(Public):
    """A family contact; ``phone`` is masked unless the role needs it."""

    id: int
    household_id: str
    name: str
    relation: str
    phone: str
    language: str
    channels: list[str]
    alarm_kinds: list[str]
    quiet_start: str | None
    quiet_end: str | None
    may_claim: bool


class WorkerCreate(Strict):
    """A community worker or supervisor."""

    name: str = Field(min_length=1, max_length=128)
    phone: Phone = Field(min_length=3)  # one worker per number (SMS replies find them)
    language: Language = "zh"
    role: Literal["worker", "supervisor"] = "worker"
    district: Text64 = ""
    duty_status: Literal["on", "off"] = "off"
    skills: list[Text64] = Field(default_factory=list, max_length=50)
    capacity: int = Field(default=1, ge=0, le=100)
    lat: Lat | None = None
    lon: Lon | None = None
    location_at: AwareDatetime | None = None
    active: bool = True


class WorkerUpdate(Strict):
    """Fields to change on a worker (duty status, location, ...)."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    phone: Phone | None = Field(default=None, min_length=3)
    language: Language | None = None
    role: Literal["worker", "supervisor"] | None = None
    district: Text64 | None = None
    duty_status: Literal["on", "off"] | None = None
    skills: list[Text64] | None = Field(default=None, max_length=50)
    capacity: int | None = Field(default=None, ge=0, le=100)
    lat: Lat | None = None
    lon: Lon | None = None
    location_at: AwareDatetime | None = None
    active: bool | None = None


class WorkerPublic(Public):
    """A worker."""

    id: int
    name: str
    phone: str
    language: str
    role: str
    district: str
    duty_status: str
    skills: list[str]
    capacity: int
    lat: float | None
    lon: float | None
    location_at: datetime | None
    active: bool
