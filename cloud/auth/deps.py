"""Operator authentication: ``CurrentUser`` and ``require_roles(...)`` dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from cloud.auth.models import ApiToken, User
from cloud.auth.passwords import token_hash
from cloud.db import SessionDep, utcnow
from cloud.registry.models import Worker


class Role(StrEnum):
    """Operator roles."""

    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    WORKER = "worker"


_bearer = HTTPBearer(auto_error=False, description="Operator token from POST /api/v1/auth/login")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def current_user(
    request: Request,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The operator whose bearer token came with the request (401 otherwise)."""
    if creds is None:
        raise _unauthorized("Authorization: missing bearer token")
    digest = token_hash(creds.credentials, request.app.state.settings.pepper)
    row = (
        await session.execute(
            select(User, ApiToken.expires_at, Worker.active)
            .join(ApiToken, ApiToken.user_id == User.id)
            .outerjoin(Worker, Worker.id == User.worker_id)
            .where(ApiToken.token_hash == digest)
        )
    ).first()
    if row is None:
        raise _unauthorized("Authorization: unknown token")
    user, expires_at, worker_active = row
    if expires_at <= utcnow():
        raise _unauthorized("Authorization: token expired")
    if not user.active or worker_active is False:
        raise _unauthorized("Authorization: account disabled")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets through only operators with one of ``roles`` (403 otherwise)."""
    allowed = {str(r) for r in roles}

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {user.role!r} may not do this; needs one of {sorted(allowed)}",
            )
        return user

    return check
