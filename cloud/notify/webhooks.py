"""``POST /webhooks/twilio/status``: delivery status callbacks, recorded once each."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db import SessionDep
from cloud.notify.models import DeliveryReceipt, Notification
from cloud.notify.outbox import block_number, is_permanent
from cloud.notify.signature import signed_form
from cloud.notify.status import later_than, lock_sid

logger = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])
STATUS_PATH = "/webhooks/twilio/status"


@router.post(STATUS_PATH, status_code=status.HTTP_200_OK)
async def twilio_status(
    request: Request, session: SessionDep, form: Annotated[dict[str, str], Depends(signed_form)]
) -> Response:
    """Store a message status once per (MessageSid, MessageStatus); a replay is a no-op.

    Every callback, first or replayed, is answered 200 with an empty body (Twilio wants a 2xx
    and reads no TwiML from a status callback).
    """
    sid, state = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not sid or not state or len(sid) > 64 or len(state) > 32:
        raise HTTPException(422, "MessageSid and MessageStatus: required, at most 64/32 chars")
    error = (form.get("ErrorCode") or "")[:16] or None
    now = request.app.state.dispatcher.clock.now()
    try:
        await _record(session, sid, state, error, now)
    except IntegrityError:  # the same callback, concurrently: already recorded
        logger.info("duplicate status callback for %s", sid)
    return Response(status_code=status.HTTP_200_OK)


async def _record(
    session: AsyncSession, sid: str, state: str, error: str | None, now: datetime
) -> None:
    async with session.begin():
        await lock_sid(session, sid)
        seen = await session.scalar(
            select(DeliveryReceipt.id).where(
                DeliveryReceipt.provider_id == sid, DeliveryReceipt.status == state
            )
        )
        if seen is not None:
            return
        session.add(
            DeliveryReceipt(provider_id=sid, status=state, error_code=error, received_at=now)
        )
        await session.execute(
            update(Notification)
            .where(
                Notification.provider_id == sid,
                or_(
                    Notification.provider_status.is_(None),
                    Notification.provider_status.not_in(later_than(state)),
                ),
            )
            .values(provider_status=state)
        )
        if is_permanent(error):
            phone = await session.scalar(
                select(Notification.address).where(Notification.provider_id == sid).limit(1)
            )
            if phone:
                await block_number(session, phone, error, now)
