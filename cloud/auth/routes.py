"""``/api/v1/auth``: login, logout, who am I; ``/api/v1/users`` (list, add, disable, enable)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import Field
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth import audit
from cloud.auth.clients import client_address
from cloud.auth.deps import CurrentUser, Role, require_roles
from cloud.auth.limits import LIMITED, AttemptGate, Lockouts, locked_until
from cloud.auth.models import ApiToken, User
from cloud.auth.passwords import token_hash
from cloud.auth.service import (
    UserExistsError,
    authenticate,
    create_user,
    issue_token,
    set_active,
)
from cloud.db import SessionDep, utcnow
from cloud.schemas import Public, Strict
from cloud.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["auth"])


class LoginRequest(Strict):
    """Username and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(Public):
    """A bearer token for the ``Authorization`` header."""

    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    role: str


class UserCreate(Strict):
    """A new operator account."""

    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@\-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    worker_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class UserPublic(Public):
    """An operator account (never the password hash)."""

    id: int
    username: str
    role: str
    worker_id: int | None
    active: bool


@router.post(
    "/auth/login",
    response_model=TokenOut,
    responses={429: {"description": "too many failed logins; see Retry-After"}},
)
async def login(body: LoginRequest, request: Request, session: SessionDep) -> TokenOut:
    """Exchange username and password for a bearer token.

    Failed logins are limited per account and per client address (429 with
    ``Retry-After``); attempts for one account or address take turns on this instance
    (``AttemptGate``), each attempt checked is written to the auth audit log, and so is
    the first refused one of each lockout (the rest are counted).
    """
    settings: Settings = request.app.state.settings
    lockouts: Lockouts = request.app.state.login_lockouts
    gate: AttemptGate = request.app.state.login_gate
    client = client_address(request, settings.trusted_proxies)
    wait = lockouts.wait(body.username, client, utcnow())
    if wait is None:  # a known lockout is answered at once; the others take their turn
        async with gate.turn(body.username, client):
            now = utcnow()
            wait = await _lockout_wait(session, settings, lockouts, body.username, client, now)
            if wait is None:
                return await _attempt(session, settings, body, client, now)
    LIMITED.inc()
    raise HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        "too many failed logins for this account or address; try again later",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


async def _lockout_wait(
    session: AsyncSession,
    settings: Settings,
    lockouts: Lockouts,
    username: str,
    client: str,
    now: datetime,
) -> float | None:
    """Seconds left of a lockout of the account or address (the turn before may have begun it)."""
    wait = lockouts.wait(username, client, now)
    if wait is not None:
        return wait
    found = await locked_until(session, settings, username, client, now)
    if not found:
        return None
    lockouts.lock(found, now)  # a new lockout: audited once here, what follows only counted
    audit.record(
        session,
        audit.LOGIN_LIMITED,
        username=username,
        client=client,
        now=now,
        detail={"until": max(found.values()).isoformat(), "locked": sorted(k for k, _ in found)},
    )
    await session.commit()
    return lockouts.wait(username, client, now)


async def _attempt(
    session: AsyncSession, settings: Settings, body: LoginRequest, client: str, now: datetime
) -> TokenOut:
    """Check the password (audited either way): a token, or 401."""
    user = await authenticate(session, body.username, body.password)
    if user is None:
        audit.record(session, audit.LOGIN_FAILED, username=body.username, client=client, now=now)
        await session.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "username or password is wrong")
    audit.record(
        session, audit.LOGIN_OK, username=user.username, user_id=user.id, client=client, now=now
    )
    token, row = await issue_token(session, user, settings.pepper, settings.token_ttl_hours)
    await session.commit()
    return TokenOut(access_token=token, expires_at=row.expires_at, role=user.role)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, user: CurrentUser, session: SessionDep) -> None:
    """Revoke the token used for this request."""
    header = request.headers.get("authorization", "")
    digest = token_hash(header.partition(" ")[2], request.app.state.settings.pepper)
    await session.execute(delete(ApiToken).where(ApiToken.token_hash == digest))
    await session.commit()


@router.get("/auth/me", response_model=UserPublic)
async def me(user: CurrentUser) -> User:
    """The account behind the token."""
    return user


AdminDep = Annotated[User, Depends(require_roles(Role.ADMIN))]


@router.get("/users", response_model=list[UserPublic])
async def list_users(_: AdminDep, session: SessionDep) -> list[User]:
    """Every operator account."""
    return list((await session.scalars(select(User).order_by(User.id))).all())


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def add_user(body: UserCreate, _: AdminDep, session: SessionDep) -> User:
    """Create an operator account."""
    try:
        user = await create_user(session, body.username, body.password, body.role, body.worker_id)
    except UserExistsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"username: {exc}") from exc
    await session.commit()
    return user


async def _switch(
    session: SessionDep, request: Request, admin: User, user_id: int, active: bool
) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user_id: no such user {user_id}")
    client = client_address(request, request.app.state.settings.trusted_proxies)
    await set_active(session, user, active, actor=f"user:{admin.id}", client=client)
    await session.commit()
    return user


UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/users/{user_id}/disable", response_model=UserPublic)
async def disable_user(
    user_id: UserId, request: Request, admin: AdminDep, session: SessionDep
) -> User:
    """Disable a login; its tokens stop working at once."""
    return await _switch(session, request, admin, user_id, False)


@router.post("/users/{user_id}/enable", response_model=UserPublic)
async def enable_user(
    user_id: UserId, request: Request, admin: AdminDep, session: SessionDep
) -> User:
    """Enable a login again (its holder logs in anew)."""
    return await _switch(session, request, admin, user_id, True)
