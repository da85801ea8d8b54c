"""Gateway registry: add (returns the credential once), revoke, rotate."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.passwords import secret_hash
from cloud.db import utcnow
from cloud.gateways.models import Gateway
from protocol.api import make_credential, parse_credential


class GatewayError(ValueError):
    """A gateway operation that cannot be done; the message names the field."""


async def add_gateway(
    session: AsyncSession, gateway_id: str, household_id: str | None = None, name: str = ""
) -> tuple[Gateway, str]:
    """Register a gateway (caller commits); returns it and its credential (shown only now)."""
    if await session.get(Gateway, gateway_id) is not None:
        raise GatewayError(f"id: gateway {gateway_id!r} already exists")
    credential = make_credential(gateway_id)
    _, secret = parse_credential(credential)
    gw = Gateway(
        id=gateway_id,
        household_id=household_id,
        name=name,
        secret_hash=secret_hash(secret),
        health={},
    )
    session.add(gw)
    await session.flush()
    return gw, credential


async def revoke_gateway(session: AsyncSession, gateway_id: str) -> Gateway:
    """Refuse the gateway's credential from now on (caller commits)."""
    gw = await session.get(Gateway, gateway_id)
    if gw is None:
        raise GatewayError(f"id: no such gateway {gateway_id!r}")
    if gw.revoked_at is None:
        gw.revoked_at = utcnow()
    return gw


async def rotate_credential(session: AsyncSession, gateway_id: str) -> tuple[Gateway, str]:
    """A new credential for a gateway (un-revokes it); the old one stops working."""
    gw = await session.get(Gateway, gateway_id)
    if gw is None:
        raise GatewayError(f"id: no such gateway {gateway_id!r}")
    credential = make_credential(gateway_id)
    gw.secret_hash = secret_hash(parse_credential(credential)[1])
    gw.revoked_at = None
    return gw, credential
