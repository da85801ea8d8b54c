"""``POST /webhooks/twilio/sms``: workers and family members answer by SMS reply."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db import SessionDep, insert_ignoring_conflicts
from cloud.dispatch.actors import Actor, TransitionError
from cloud.dispatch.engine import Dispatcher
from cloud.dispatch.replies import Command, parse_reply
from cloud.models import FamilyContact, Worker
from cloud.notify import texts
from cloud.notify.models import InboundSms
from cloud.notify.signature import signed_form
from cloud.privacy.policy import log_phone

logger = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])
SMS_PATH = "/webhooks/twilio/sms"


def twiml(message: str) -> Response:
    """A TwiML answer that replies with one SMS."""
    inner = f"<Message>{escape(message)}</Message>" if message else ""
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'
    return Response(body, media_type="application/xml")


@router.post(SMS_PATH)
async def inbound_sms(
    request: Request, session: SessionDep, form: Annotated[dict[str, str], Depends(signed_form)]
) -> Response:
    """Apply a reply (``1 T0042`` accept, ``2`` decline, ``3`` arrived, ``4 T0042 1`` done).

    Each ``MessageSid`` is applied once: a replayed webhook is answered 200 with an empty
    TwiML and changes nothing.
    """
    sid = form.get("MessageSid", "")
    if not sid or len(sid) > 64:
        raise HTTPException(422, "MessageSid: required, at most 64 characters")
    now = request.app.state.dispatcher.clock.now()
    if not await _claim(session, sid, now):
        logger.info("SMS %s already applied; replay ignored", sid)
        return twiml("")
    try:
        return await _apply(request, session, form)
    except Exception:
        await session.rollback()
        await session.execute(delete(InboundSms).where(InboundSms.message_sid == sid))
        await session.commit()  # not applied: Twilio's retry may apply it
        raise


async def _claim(session: AsyncSession, sid: str, now: datetime) -> bool:
    """Record ``sid`` as applied; False when it already was."""
    result = await session.execute(
        insert_ignoring_conflicts(session, InboundSms, "message_sid").values(
            message_sid=sid, received_at=now
        )
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def _apply(request: Request, session: AsyncSession, form: dict[str, str]) -> Response:
    sender, body = form.get("From", ""), form.get("Body", "")
    worker = await session.scalar(
        select(Worker).where(Worker.phone == sender, Worker.active.is_(True)).limit(1)
    )
    contact = None
    if worker is None:
        contact = await session.scalar(
            select(FamilyContact).where(FamilyContact.phone == sender).limit(1)
        )
    await session.close()
    if worker is None and contact is None:
        logger.info("SMS from unknown number %s ignored", log_phone(sender))
        return twiml("")
    lang = worker.language if worker else contact.language if contact else "zh"
    actor = Actor(
        f"worker:{worker.id}" if worker else f"family:{contact.id if contact else 0}", "sms"
    )
    reply = parse_reply(body)
    if reply is None:
        return twiml(texts.simple("unknown", lang))
    dispatcher: Dispatcher = request.app.state.dispatcher
    task = await dispatcher.find_task(actor, reply.command, reply.ref)
    if task is None:
        return twiml(texts.simple("no_task", lang))
    try:
        await dispatcher.act(task.id, actor, reply.command, outcome=reply.outcome)
    except TransitionError as exc:
        return twiml(texts.simple(exc.key, lang, task.number))
    key = {
        Command.ACCEPT: None,  # the acceptance message with the next codes goes by the outbox
        Command.DECLINE: "declined",
        Command.ARRIVED: "arrived",
        Command.DONE: "resolved",
    }[reply.command]
    return twiml(texts.simple(key, lang, task.number) if key else "")
