"""Operator accounts: create, authenticate, issue tokens, disable and enable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth import audit
from cloud.auth.deps import Role
from cloud.auth.models import ApiToken, User
from cloud.auth.passwords import (
    hash_password_async,
    needs_rehash,
    new_token,
    token_hash,
    verify_password_async,
)
from cloud.db import utcnow


class UserExistsError(ValueError):
    """The username is taken."""


async def create_user(
    session: AsyncSession, username: str, password: str, role: Role, worker_id: int | None = None
) -> User:
    """Add an operator account (caller commits)."""
    taken = await session.scalar(select(User.id).where(User.username == username))
    if taken is not None:
        raise UserExistsError(f"username {username!r} is taken")
    user = User(
        username=username,
        password_hash=await hash_password_async(password),
        role=role,
        worker_id=worker_id,
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (caller commits).

    The hash is checked in the hashing pool, with the database connection given back
    meanwhile (a login flood must not hold the pool alarms need); a legacy scrypt hash is
    replaced by argon2id.
    """
    user = await session.scalar(select(User).where(User.username == username))
    await session.commit()  # nothing to write yet: ends the transaction, frees the connection
    if not await verify_password_async(password, user.password_hash if user else None):
        return None
    assert user is not None
    if not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password_async(password)
        audit.record(session, audit.PASSWORD_UPGRADED, username=user.username, user_id=user.id)
    return user


async def issue_token(
    session: AsyncSession, user: User, pepper: bytes, ttl_hours: float
) -> tuple[str, ApiToken]:
    """A new bearer token for ``user`` (caller commits); the token itself is never stored."""
    token = new_token()
    row = ApiToken(
        token_hash=token_hash(token, pepper),
        user_id=user.id,
        expires_at=utcnow() + timedelta(hours=ttl_hours),
    )
    session.add(row)
    await session.flush()
    return token, row


async def set_active(
    session: AsyncSession, user: User, active: bool, *, actor: str, client: str = ""
) -> None:
    """Enable or disable a login (caller commits); disabling ends its tokens at once."""
    user.active = active
    if not active:
        await session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    audit.record(
        session,
        audit.USER_ENABLED if active else audit.USER_DISABLED,
        username=user.username,
        user_id=user.id,
        actor=actor,
        client=client,
    )


async def disable_worker_logins(session: AsyncSession, worker_id: int, *, actor: str) -> int:
    """Disable every active login linked to a worker (deactivated or deleted); how many."""
    users = list(
        await session.scalars(
            select(User).where(User.worker_id == worker_id, User.active.is_(True))
        )
    )
    for user in users:
        await set_active(session, user, False, actor=actor)
    return len(users)
