"""The registry endpoints: households, residents, devices, family contacts, workers."""

from __future__ import annotations

from cloud.auth.deps import Role
from cloud.gateways.models import Gateway
from cloud.registry import schemas as s
from cloud.registry.crud import Resource, crud_router
from cloud.registry.models import Device, FamilyContact, Household, Resident, Worker

ALL_OPERATORS = (Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR)
EDITORS = (Role.ADMIN, Role.SUPERVISOR)

RESOURCES = (
    Resource(
        path="households",
        model=Household,
        create=s.HouseholdCreate,
        update=s.HouseholdUpdate,
        public=s.HouseholdPublic,
        read_roles=(*ALL_OPERATORS, Role.WORKER),
        write_roles=EDITORS,
        id_type=str,
        filters=("district", "risk_level"),
        unique=("id",),
    ),
    Resource(
        path="residents",
        model=Resident,
        create=s.ResidentCreate,
        update=s.ResidentUpdate,
        public=s.ResidentPublic,
        read_roles=(*ALL_OPERATORS, Role.WORKER),
        write_roles=EDITORS,
        refs={"household_id": Household},
        filters=("household_id",),
        masked=("phone", "id_number"),
    ),
    Resource(
        path="devices",
        model=Device,
        create=s.DeviceCreate,
        update=s.DeviceUpdate,
        public=s.DevicePublic,
        read_roles=ALL_OPERATORS,
        write_roles=EDITORS,
        refs={"household_id": Household, "gateway_id": Gateway},
        filters=("household_id", "gateway_id"),
        unique=("device_id",),
    ),
    Resource(
        path="contacts",
        model=FamilyContact,
        create=s.ContactCreate,
        update=s.ContactUpdate,
        public=s.ContactPublic,
        read_roles=ALL_OPERATORS,
        write_roles=EDITORS,
        refs={"household_id": Household},
        filters=("household_id",),
        masked=("phone",),
    ),
    Resource(
        path="workers",
        model=Worker,
        create=s.WorkerCreate,
        update=s.WorkerUpdate,
        public=s.WorkerPublic,
        read_roles=ALL_OPERATORS,
        write_roles=EDITORS,
        filters=("district", "duty_status", "role"),
    ),
)

routers = [crud_router(r) for r in RESOURCES]
