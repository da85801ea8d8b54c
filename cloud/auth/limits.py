"""Failed-login limits per account and per client address, counted from the audit log.

The log is in the shared database, so every service instance counts the same failures.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.audit import LOGIN_FAILED
from cloud.auth.models import AuthEvent
from cloud.settings import Settings


async def retry_after(
    session: AsyncSession, settings: Settings, username: str, client: str, now: datetime
) -> float | None:
    """Seconds until a login may be tried again, or None when it may be tried now.

    Locked while the window holds ``login_account_failures`` failures for the username
    (existing or not) or ``login_client_failures`` for the address; open again when the
    oldest of those leaves the window.
    """
    window = timedelta(seconds=settings.login_window_s)
    waits = []
    for column, value, limit in (
        (AuthEvent.username, username[:64], settings.login_account_failures),
        (AuthEvent.client, client[:64], settings.login_client_failures),
    ):
        nth = await session.scalar(
            select(AuthEvent.at)
            .where(column == value, AuthEvent.action == LOGIN_FAILED, AuthEvent.at > now - window)
            .order_by(AuthEvent.at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        if nth is not None:
            waits.append((nth + window - now).total_seconds())
    return max(waits) if waits else None
