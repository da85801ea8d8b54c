"""Failed-login limits per account and per client address, counted from the audit log.

The log is in the shared database, so every service instance counts the same failures.
Once a lockout is found, this instance remembers it until it ends (``Lockouts``): the
attempts that follow are answered 429 from memory, without touching the database, and
only counted (``carewatch_login_limited_total``), so a flood of them costs next to nothing.

Attempts for one account or from one address take turns on an instance (``AttemptGate``):
each is counted against the limit only after the one before it is in the log, so a burst
of parallel wrong passwords gets exactly the limit's 401s here. Several instances share
only the log: each may have one attempt per key in flight at once, so up to
``limit + instances - 1`` failures can be checked before the lockout starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.audit import LOGIN_FAILED
from cloud.auth.models import AuthEvent
from cloud.settings import Settings

LIMITED = Counter("carewatch_login_limited_total", "Logins answered 429 (too many failures)")

Key = tuple[str, str]  # ("account", username) or ("client", address)


def _keys(username: str, client: str) -> tuple[Key, Key]:
    return ("account", username[:64]), ("client", client[:64])


class AttemptGate:
    """One login attempt at a time per account and per client address on this instance."""

    def __init__(self) -> None:
        self._locks: dict[Key, asyncio.Lock] = {}
        self._users: dict[Key, int] = {}

    @asynccontextmanager
    async def turn(self, username: str, client: str) -> AsyncIterator[None]:
        """Wait for the account's and the address's turn (always taken in that order)."""
        keys = _keys(username, client)
        for key in keys:
            self._locks.setdefault(key, asyncio.Lock())
            self._users[key] = self._users.get(key, 0) + 1
        try:
            async with AsyncExitStack() as stack:
                for key in keys:
                    await stack.enter_async_context(self._locks[key])
                yield
        finally:
            for key in keys:  # forget keys nobody waits for: the table stays small
                self._users[key] -= 1
                if not self._users[key]:
                    del self._users[key], self._locks[key]


class Lockouts:
    """Accounts and addresses this instance knows to be locked, and until when."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._until: dict[Key, datetime] = {}
        self.max_keys = max_keys

    def wait(self, username: str, client: str, now: datetime) -> float | None:
        """Seconds left of a known lockout of the account or the address, or None."""
        left = [
            (until - now).total_seconds()
            for key in _keys(username, client)
            if (until := self._until.get(key)) is not None and until > now
        ]
        return max(left) if left else None

    def lock(self, found: dict[Key, datetime], now: datetime) -> None:
        """Remember lockouts found in the database (expired ones are dropped when full)."""
        if len(self._until) + len(found) > self.max_keys:
            self._until = {k: u for k, u in self._until.items() if u > now}
        self._until.update(found)


async def locked_until(
    session: AsyncSession, settings: Settings, username: str, client: str, now: datetime
) -> dict[Key, datetime]:
    """The account and/or address locked now, each with the end of its lockout.

    Locked while the window holds ``login_account_failures`` failures for the username
    (existing or not) or ``login_client_failures`` for the address; open again when the
    oldest of those leaves the window.
    """
    window = timedelta(seconds=settings.login_window_s)
    found: dict[Key, datetime] = {}
    for kind, column, value, limit in (
        ("account", AuthEvent.username, username[:64], settings.login_account_failures),
        ("client", AuthEvent.client, client[:64], settings.login_client_failures),
    ):
        nth = await session.scalar(
            select(AuthEvent.at)
            .where(column == value, AuthEvent.action == LOGIN_FAILED, AuthEvent.at > now - window)
            .order_by(AuthEvent.at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        if nth is not None:
            found[(kind, value)] = nth + window
    return found
