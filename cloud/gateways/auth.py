"""Gateway credentials: verification with a short-lived cache so ingest stays cheap."""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.auth.passwords import secret_hash
from cloud.gateways.models import Gateway
from cloud.metrics import GATEWAY_AUTH_FAILURES
from cloud.registry.models import Device
from protocol.api import CredentialError, parse_credential

RECHECK_S = 2.0  # an unknown gateway or device is looked up again after this long


@dataclass(frozen=True, slots=True)
class GatewayIdentity:
    """A verified gateway: the household it serves and the devices registered there."""

    gateway_id: str
    household_id: str | None
    devices: frozenset[str] = frozenset()

    def no_household(self) -> str | None:
        """Why this gateway may not send alarms or telemetry, or None when it may."""
        if self.household_id is not None:
            return None
        return (
            f"gateway {self.gateway_id!r} has no household: it may send heartbeats only"
            " until it is registered to one"
        )


@dataclass(slots=True)
class _Entry:
    secret_hash: str
    identity: GatewayIdentity | None  # None: unknown or revoked
    loaded: float


class GatewayAuth:
    """Checks ``Bearer cwg_<id>.<secret>`` against stored hashes, caching rows for ``ttl`` s."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], ttl: float) -> None:
        self._sessionmaker = sessionmaker
        self._ttl = ttl
        self._cache: dict[str, _Entry] = {}
        self._loading: dict[str, asyncio.Future[_Entry]] = {}

    def forget(self, gateway_id: str) -> None:
        """Drop a cached gateway (after revocation or a new credential)."""
        self._cache.pop(gateway_id, None)

    async def verify(self, authorization: str | None) -> GatewayIdentity:
        """The gateway a header authenticates; HTTPException 401 otherwise."""
        scheme, _, credential = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not credential:
            raise _refuse("Authorization: missing bearer credential")
        try:
            gateway_id, secret = parse_credential(credential.strip())
        except CredentialError as exc:
            raise _refuse(f"Authorization: {exc}") from exc
        entry = self._cache.get(gateway_id)
        # Unknown gateways are re-read soon: one may have just been added by another process.
        ttl = self._ttl if entry is None or entry.identity else min(self._ttl, RECHECK_S)
        if entry is None or time.monotonic() - entry.loaded > ttl:
            entry = await self._load_once(gateway_id)
        if entry.identity is None or not hmac.compare_digest(
            entry.secret_hash, secret_hash(secret)
        ):
            raise _refuse("Authorization: unknown gateway or wrong credential")
        return entry.identity

    async def recheck(self, gw: GatewayIdentity) -> GatewayIdentity:
        """The gateway as stored now, when its cached row is older than ``RECHECK_S``
        (a device or household registered a moment ago must not wait for the full ttl)."""
        entry = self._cache.get(gw.gateway_id)
        if entry is not None and time.monotonic() - entry.loaded < RECHECK_S:
            return entry.identity or gw
        entry = await self._load_once(gw.gateway_id)
        return entry.identity or gw

    async def _load_once(self, gateway_id: str) -> _Entry:
        """Concurrent misses for one gateway share a single database read."""
        pending = self._loading.get(gateway_id)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._loading[gateway_id] = fut
        try:
            entry = await self._load(gateway_id)
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            del self._loading[gateway_id]
        fut.set_result(entry)
        return entry

    async def _load(self, gateway_id: str) -> _Entry:
        async with self._sessionmaker() as session:
            row = await session.get(Gateway, gateway_id)
            devices: frozenset[str] = frozenset()
            if row is not None and row.household_id is not None:
                query = select(Device.device_id).where(
                    Device.household_id == row.household_id,
                    or_(Device.gateway_id.is_(None), Device.gateway_id == row.id),
                )
                devices = frozenset((await session.scalars(query)).all())
        if row is None or row.revoked_at is not None:
            entry = _Entry("", None, time.monotonic())
        else:
            identity = GatewayIdentity(row.id, row.household_id, devices)
            entry = _Entry(row.secret_hash, identity, time.monotonic())
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[gateway_id] = entry
        return entry


def _refuse(detail: str) -> HTTPException:
    GATEWAY_AUTH_FAILURES.inc()
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def current_gateway(request: Request) -> GatewayIdentity:
    """FastAPI dependency: the gateway calling."""
    auth: GatewayAuth = request.app.state.gateway_auth
    return await auth.verify(request.headers.get("authorization"))


CurrentGateway = Annotated[GatewayIdentity, Depends(current_gateway)]
