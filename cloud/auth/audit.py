"""The auth audit log (``auth_events``): logins good, wrong and limited; disables, enables."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.models import AuthEvent
from cloud.db import utcnow

log = logging.getLogger(__name__)

LOGIN_OK, LOGIN_FAILED, LOGIN_LIMITED = "login_ok", "login_failed", "login_limited"
USER_DISABLED, USER_ENABLED, PASSWORD_UPGRADED = (
    "user_disabled",
    "user_enabled",
    "password_upgraded",
)


def record(
    session: AsyncSession,
    action: str,
    *,
    username: str,
    client: str = "",
    user_id: int | None = None,
    actor: str = "",
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuthEvent:
    """Add one entry (caller commits) and log it (never a password, only who and from where)."""
    event = AuthEvent(
        at=now or utcnow(),
        action=action,
        username=username[:64],
        user_id=user_id,
        client=client[:64],
        actor=actor[:64],
        detail=detail or {},
    )
    session.add(event)
    level = logging.INFO if action in (LOGIN_OK, PASSWORD_UPGRADED) else logging.WARNING
    log.log(level, "auth %s username=%s client=%s actor=%s", action, username[:64], client, actor)
    return event
