"""Family messages: by each contact's alarm kinds, channels and quiet hours."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.facts import load_home, task_facts
from cloud.dispatch.models import Task
from cloud.models import FamilyContact
from cloud.notify import texts
from cloud.notify.outbox import Recipient, enqueue
from cloud.privacy.policy import Audience
from protocol import Severity

logger = logging.getLogger(__name__)


async def notify_family(
    session: AsyncSession,
    config: DispatchConfig,
    task: Task,
    purpose: str,
    now: datetime,
    *,
    who: str = "",
) -> None:
    """Tell each contact who wants this kind (``opened``, ``on_the_way``, ``closed``).

    Outside critical cases, a message that falls in the contact's quiet hours waits in
    the outbox until they end.
    """
    home = await load_home(session, task.household_id)
    if home is None:
        return
    contacts = await session.scalars(
        select(FamilyContact).where(FamilyContact.household_id == task.household_id)
    )
    for c in contacts:
        if c.alarm_kinds and task.alarm_kind not in c.alarm_kinds:
            continue
        if task.family_contact_id == c.id and purpose == "on_the_way":
            continue
        channels = set(c.channels or ["sms"])
        may_claim = c.may_claim and config.family_may_claim
        body = texts.family(
            purpose,
            task_facts(task, home, Audience.SMS_FAMILY),
            c.language,
            who=who,
            may_claim=may_claim,
        )
        not_before = None
        if task.severity != Severity.CRITICAL:
            not_before = quiet_until(now, c.quiet_start, c.quiet_end, home.household.timezone)
        await enqueue(
            session,
            Recipient(f"family:{c.id}", c.phone, c.language),
            purpose=f"family_{purpose}",
            body=body,
            now=now,
            task_id=task.id,
            sms="sms" in channels,
            push="push" in channels,
            not_before=not_before,
        )


def quiet_until(now: datetime, start: str | None, end: str | None, tz: str) -> datetime | None:
    """The end of quiet hours (``HH:MM`` in zone ``tz``) if ``now`` is inside them, else None."""
    if not start or not end:
        return None
    try:
        zone = ZoneInfo(tz or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    try:
        sh, sm = (int(x) for x in start.split(":"))
        eh, em = (int(x) for x in end.split(":"))
        local = now.astimezone(zone)
        end_local = local.replace(hour=eh, minute=em, second=0, microsecond=0)
    except ValueError:
        logger.warning("quiet hours %r-%r are not HH:MM; ignored", start, end)
        return None
    cur, s, e = local.hour * 60 + local.minute, sh * 60 + sm, eh * 60 + em
    inside = s <= cur < e if s <= e else (cur >= s or cur < e)
    if not inside:
        return None
    if end_local <= local:
        end_local += timedelta(days=1)
    return end_local.astimezone(now.tzinfo)
