"""``/api/v1/gateways``: register, list, revoke and re-key gateways (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import Field
from sqlalchemy import select

from cloud.auth.deps import Role, require_roles
from cloud.auth.models import User
from cloud.db import SessionDep
from cloud.gateways.models import Gateway
from cloud.gateways.service import GatewayError, add_gateway, revoke_gateway, rotate_credential
from cloud.registry.models import Household
from cloud.registry.schemas import Id
from cloud.schemas import Public, Strict

router = APIRouter(prefix="/api/v1/gateways", tags=["gateways"])

Admin = Annotated[User, Depends(require_roles(Role.ADMIN))]
Reader = Annotated[User, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR))]


class GatewayCreate(Strict):
    """A gateway to register."""

    id: Id
    household_id: Id | None = None
    name: str = Field(default="", max_length=128)


class GatewayPublic(Public):
    """A gateway (never its credential)."""

    id: str
    household_id: str | None
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
    offline_since: datetime | None
    version: str
    health: dict[str, Any]


class GatewayCredential(GatewayPublic):
    """A gateway with its credential, returned once when created or re-keyed."""

    credential: str


def _not_found(exc: GatewayError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


@router.get("", response_model=list[GatewayPublic])
async def list_gateways(
    _: Reader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    offline: bool | None = None,
) -> list[Gateway]:
    """Gateways, optionally only those offline (or online)."""
    stmt = select(Gateway).order_by(Gateway.id).limit(limit).offset(offset)
    if offline is not None:
        col = Gateway.offline_since
        stmt = stmt.where(col.is_not(None) if offline else col.is_(None))
    return list((await session.scalars(stmt)).all())


@router.get("/{gateway_id}", response_model=GatewayPublic)
async def get_gateway(gateway_id: str, _: Reader, session: SessionDep) -> Gateway:
    """One gateway."""
    gw = await session.get(Gateway, gateway_id)
    if gw is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"id: no such gateway {gateway_id!r}")
    return gw


@router.post("", response_model=GatewayCredential, status_code=status.HTTP_201_CREATED)
async def create_gateway(body: GatewayCreate, _: Admin, session: SessionDep) -> dict[str, Any]:
    """Register a gateway; the answer holds its credential, which is not shown again."""
    if body.household_id and await session.get(Household, body.household_id) is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "field": "household_id",
                    "loc": ["body", "household_id"],
                    "msg": "no such household",
                    "type": "value_error",
                }
            ],
        )
    try:
        gw, credential = await add_gateway(session, body.id, body.household_id, body.name)
    except GatewayError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    await session.commit()
    return {**GatewayPublic.model_validate(gw).model_dump(), "credential": credential}


@router.post("/{gateway_id}/revoke", response_model=GatewayPublic)
async def revoke(gateway_id: str, request: Request, _: Admin, session: SessionDep) -> Gateway:
    """Refuse this gateway's credential from now on."""
    try:
        gw = await revoke_gateway(session, gateway_id)
    except GatewayError as exc:
        raise _not_found(exc) from exc
    await session.commit()
    request.app.state.gateway_auth.forget(gateway_id)
    return gw


@router.post("/{gateway_id}/credential", response_model=GatewayCredential)
async def rekey(gateway_id: str, request: Request, _: Admin, session: SessionDep) -> dict[str, Any]:
    """Issue a new credential (the old one stops working); shown once."""
    try:
        gw, credential = await rotate_credential(session, gateway_id)
    except GatewayError as exc:
        raise _not_found(exc) from exc
    await session.commit()
    request.app.state.gateway_auth.forget(gateway_id)
    return {**GatewayPublic.model_validate(gw).model_dump(), "credential": credential}
