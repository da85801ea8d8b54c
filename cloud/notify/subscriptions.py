"""Registering a Web Push subscription: an allowed endpoint, owned by whoever registered it."""

from __future__ import annotations

from datetime import datetime

from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.notify.endpoints import EndpointRefused, PushPolicy, check_endpoint
from cloud.notify.models import PushSubscription


async def register_subscription(
    session: AsyncSession,
    *,
    owner: str,
    endpoint: str,
    p256dh: str,
    auth: str,
    policy: PushPolicy,
    now: datetime,
) -> PushSubscription:
    """Store ``owner``'s subscription (caller commits); the same owner may renew its keys.

    422 (field ``endpoint``) for an endpoint the policy refuses; 409 when another owner
    registered it: an endpoint is never moved from one person to another.
    """
    try:
        await check_endpoint(endpoint, policy)
    except EndpointRefused as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "field": "endpoint",
                    "loc": ["body", "endpoint"],
                    "msg": str(exc),
                    "type": "refused",
                }
            ],
        ) from exc
    sub = await session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    )
    if sub is None:
        sub = PushSubscription(endpoint=endpoint, owner=owner, p256dh="", auth="")
        session.add(sub)
    elif sub.owner != owner:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "endpoint: registered to someone else; subscribe anew"
        )
    sub.p256dh, sub.auth, sub.created_at = p256dh, auth, now
    await session.flush()
    return sub
