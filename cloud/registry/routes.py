"""The registry endpoints: households, residents, devices, family contacts, workers.

What each role sees of a record is ``cloud.privacy.policy``'s; a worker login reads only
the households (and their residents) of tasks offered or assigned to it.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from cloud.auth.deps import Role
from cloud.auth.models import User
from cloud.auth.service import disable_worker_logins
from cloud.gateways.models import Gateway
from cloud.registry import schemas as s
from cloud.registry.crud import Resource, crud_router
from cloud.registry.models import Device, FamilyContact, Household, Resident, Worker


async def _worker_written(request: Request, session: Any, row: Any) -> None:
    """Tell the features that care (dispatch: a worker may have become available)."""
    for hook in getattr(request.app.state, "worker_hooks", ()):
        await hook(session, row)


async def _worker_changed(session: Any, worker: Worker, user: User, deleted: bool) -> None:
    """A worker deactivated or deleted can no longer log in (their tokens end now)."""
    if deleted or not worker.active:
        await disable_worker_logins(session, worker.id, actor=f"user:{user.id}")


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
        record="household",
        household_key="id",
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
        record="resident",
        household_key="household_id",
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
        record="contact",
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
        record="worker",
        after_write=_worker_written,
        unique=("phone",),
        on_change=_worker_changed,
    ),
)

routers = [crud_router(r) for r in RESOURCES]
