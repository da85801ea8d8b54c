"""Operator accounts: create, authenticate, issue tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.deps import Role
from cloud.auth.models import ApiToken, User
from cloud.auth.passwords import hash_password, new_token, token_hash, verify_password
from cloud.db import utcnow

# A hash to verify against when the user does not exist, so timing does not reveal it.
_DUMMY_HASH = hash_password("not-a-real-password")


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
        username=username, password_hash=hash_password(password), role=role, worker_id=worker_id
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, user.password_hash) or not user.active:
        return None
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
