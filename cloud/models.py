"""Every table of the core, in one import (Alembic and dispatch import from here)."""

from cloud.alarms.models import Alarm, AlarmEvent
from cloud.auth.models import ApiToken, AuthEvent, User
from cloud.db import Base
from cloud.gateways.models import Gateway
from cloud.privacy.models import AccessLogEntry
from cloud.registry.models import Device, FamilyContact, Household, Resident, Worker

__all__ = [
    "AccessLogEntry",
    "Alarm",
    "AlarmEvent",
    "ApiToken",
    "AuthEvent",
    "Base",
    "Device",
    "FamilyContact",
    "Gateway",
    "Household",
    "Resident",
    "User",
    "Worker",
]
