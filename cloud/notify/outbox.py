"""The notification outbox: rows written with the state change, sent and retried afterwards.

A row is claimed with ``FOR UPDATE SKIP LOCKED`` and a lease (state ``sending`` until
``next_attempt_at``), sent outside any transaction, then settled. A crash mid-send lets
the lease run out and the row is sent again (at-least-once). Rate limits and outages back
off exponentially (capped) and are retried until they go through, with a push copy after
``max_attempts``; permanent SMS errors block the number and fall back to push; an expired
push subscription (404/410) is deleted.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeGuard

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.notify.errors import DeliveryError
from cloud.notify.models import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    BlockedNumber,
    DeliveryReceipt,
    Notification,
    PushSubscription,
)
from cloud.notify.sms import PERMANENT_CODES
from cloud.notify.status import lock_sid, status_rank
from cloud.privacy.policy import log_phone

logger = logging.getLogger(__name__)


class SmsChannel(Protocol):
    """What the outbox needs from an SMS sender."""

    async def send(self, to: str, body: str) -> Any:
        """Send; returns an object with ``provider_id`` and ``status``."""
        ...


class PushChannel(Protocol):
    """What the outbox needs from a push sender."""

    async def send(self, subscription: dict[str, Any], payload: dict[str, Any]) -> int:
        """Push; returns the HTTP status."""
        ...


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a notification is for: ``key`` like ``worker:12``, phone and language."""

    key: str
    phone: str
    language: str = "zh"


@dataclass(frozen=True, slots=True)
class Message:
    """One message for one recipient (queued by ``enqueue_many``)."""

    recipient: Recipient
    body: str
    payload: dict[str, Any] = field(default_factory=dict)


async def enqueue(
    session: AsyncSession,
    recipient: Recipient,
    *,
    purpose: str,
    body: str,
    now: datetime,
    task_id: int | None = None,
    payload: dict[str, Any] | None = None,
    sms: bool = True,
    push: bool = True,
    not_before: datetime | None = None,
    required: bool = True,
) -> list[Notification]:
    """Queue a message by SMS (unless the number is blocked) and push to every subscription.

    When no channel reaches the recipient, a ``failed`` row records it (unless not
    ``required``: a courtesy notice that only goes where it can).
    """
    return await enqueue_many(
        session,
        [Message(recipient, body, payload or {})],
        purpose=purpose,
        now=now,
        task_id=task_id,
        sms=sms,
        push=push,
        not_before=not_before,
        required=required,
    )


async def enqueue_many(
    session: AsyncSession,
    messages: Sequence[Message],
    *,
    purpose: str,
    now: datetime,
    task_id: int | None = None,
    sms: bool = True,
    push: bool = True,
    not_before: datetime | None = None,
    required: bool = True,
) -> list[Notification]:
    """``enqueue`` for several recipients with two look-ups in all."""
    phones = {m.recipient.phone for m in messages if m.recipient.phone}
    keys = {m.recipient.key for m in messages}
    with session.no_autoflush:  # rows queued so far go out in one batch at commit
        blocked = (
            set(
                await session.scalars(
                    select(BlockedNumber.phone).where(BlockedNumber.phone.in_(phones))
                )
            )
            if phones
            else set()
        )
        subs: dict[str, list[str]] = {}
        for sub in await session.scalars(
            select(PushSubscription).where(PushSubscription.owner.in_(keys))
        ):
            subs.setdefault(sub.owner, []).append(sub.endpoint)
    rows: list[Notification] = []
    for m in messages:
        r = m.recipient
        common: dict[str, Any] = {
            "task_id": task_id,
            "recipient": r.key,
            "purpose": purpose,
            "body": m.body,
            "payload": {"title": "carewatch", "body": m.body, **m.payload},
            "state": PENDING,
            "next_attempt_at": not_before or now,
            "created_at": now,
        }
        mine: list[Notification] = []
        if sms and r.phone and r.phone not in blocked:
            mine.append(Notification(channel="sms", address=r.phone, **common))
        if push or r.phone in blocked:
            mine += [Notification(channel="push", address=e, **common) for e in subs.get(r.key, [])]
        if not mine and required:
            mine.append(
                Notification(
                    channel="none",
                    address="",
                    **{**common, "state": FAILED},
                    last_error="no channel",
                )
            )
        rows += mine
    session.add_all(rows)
    return rows


@dataclass(slots=True)
class _Result:
    row_id: int
    provider_id: str | None = None
    provider_status: str | None = None
    error: DeliveryError | None = None


class OutboxSender:
    """Claims due notifications and hands them to the SMS and push senders."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        sms: SmsChannel | None,
        push: PushChannel | None,
        max_attempts: int = 8,
        retry_base_s: float = 1.0,
        retry_max_s: float = 300.0,
        lease_s: float = 60.0,
        batch: int = 50,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.sms = sms
        self.push = push
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.lease_s = lease_s
        self.batch = batch

    async def process(self, now: datetime) -> int:
        """Send one batch of due notifications; returns how many were attempted."""
        claimed = await self._claim(now)
        if not claimed:
            return 0
        by_address: dict[tuple[str, str], list[Notification]] = {}
        for n in claimed:
            by_address.setdefault((n.channel, n.address), []).append(n)
        lanes = await asyncio.gather(*(self._send_in_order(rows) for rows in by_address.values()))
        await self._settle(now, claimed, [r for lane in lanes for r in lane])
        return len(claimed)

    async def _send_in_order(self, rows: list[Notification]) -> list[_Result]:
        """One recipient address's messages, one after another, so they arrive in order."""
        return [await self._send(n) for n in rows]

    async def _claim(self, now: datetime) -> list[Notification]:
        async with self.sessionmaker() as session, session.begin():
            rows = list(
                await session.scalars(
                    select(Notification)
                    .where(
                        or_(Notification.state == PENDING, Notification.state == SENDING),
                        Notification.next_attempt_at <= now,
                    )
                    .order_by(Notification.next_attempt_at, Notification.id)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                row.state = SENDING
                row.next_attempt_at = now + timedelta(seconds=self.lease_s)
            return rows

    async def _send(self, row: Notification) -> _Result:
        try:
            if row.channel == "sms":
                if self.sms is None:
                    raise DeliveryError("SMS is not configured", code="config", permanent=True)
                receipt = await self.sms.send(row.address, row.body)
                return _Result(row.id, receipt.provider_id, receipt.status)
            if self.push is None:
                raise DeliveryError("push is not configured", code="config", permanent=True)
            async with self.sessionmaker() as session:
                sub = await session.scalar(
                    select(PushSubscription).where(PushSubscription.endpoint == row.address)
                )
            if sub is None:
                raise DeliveryError("subscription removed", code="gone", permanent=True)
            info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
            status = await self.push.send(info, row.payload)
            return _Result(row.id, None, str(status))
        except DeliveryError as exc:
            return _Result(row.id, error=exc)
        except Exception as exc:  # a provider library failing in an unforeseen way: retry
            logger.exception("notification %s failed unexpectedly", row.id)
            return _Result(row.id, error=DeliveryError(repr(exc)[:200], code="unexpected"))

    def _backoff(self, attempts: int, rate_limited: bool) -> float:
        base = self.retry_base_s * (4 if rate_limited else 1)
        delay = min(self.retry_max_s, base * 2 ** (attempts - 1))
        return float(delay * random.uniform(0.8, 1.2))

    async def _settle(
        self, now: datetime, claimed: Sequence[Notification], results: Sequence[_Result]
    ) -> None:
        async with self.sessionmaker() as session, session.begin():
            sids = sorted({r.provider_id for r in results if r.provider_id})
            for sid in sids:  # before the row locks, in the callback's order: no deadlock
                await lock_sid(session, sid)
            receipts = await _receipts(session, sids)
            ids = [r.row_id for r in results]
            rows = {
                n.id: n
                for n in await session.scalars(
                    select(Notification).where(Notification.id.in_(ids)).with_for_update()
                )
            }
            for res in results:
                row = rows.get(res.row_id)
                if row is None or row.state != SENDING:
                    continue
                row.attempts += 1
                err = res.error
                if err is None:
                    row.state, row.sent_at = SENT, now
                    row.provider_id, row.provider_status = res.provider_id, res.provider_status
                    row.last_error = None
                    # a status callback can come before the send response is stored
                    for receipt in receipts.get(res.provider_id or "", []):
                        await self._apply_receipt(session, row, receipt, now)
                    continue
                row.last_error = f"{err.code}: {err}"[:500]
                if err.permanent:
                    row.state = FAILED
                    await self._after_failure(session, row, err, now)
                    continue
                # transient: retried until it goes through (capped backoff); after
                # max_attempts the recipient's push subscriptions get a copy meanwhile
                row.state = PENDING
                row.next_attempt_at = now + timedelta(
                    seconds=self._backoff(row.attempts, err.rate_limited)
                )
                if row.channel == "sms" and row.attempts == self.max_attempts:
                    await self._push_fallback(session, row, now)

    async def _apply_receipt(
        self, session: AsyncSession, row: Notification, receipt: DeliveryReceipt, now: datetime
    ) -> None:
        """What the status callback would have done had the row already had its SID."""
        if status_rank(receipt.status) >= status_rank(row.provider_status):
            row.provider_status = receipt.status
        if is_permanent(receipt.error_code):
            await block_number(session, row.address, receipt.error_code, now)

    async def _after_failure(
        self, session: AsyncSession, row: Notification, err: DeliveryError, now: datetime
    ) -> None:
        if row.channel == "push" and err.code in ("404", "410"):
            await session.execute(
                delete(PushSubscription).where(PushSubscription.endpoint == row.address)
            )
            logger.info("push subscription of %s removed (%s)", row.recipient, err.code)
            return
        if row.channel != "sms":
            return
        if err.code != "config":
            await block_number(session, row.address, err.code, now)
        await self._push_fallback(session, row, now)

    async def _push_fallback(self, session: AsyncSession, row: Notification, now: datetime) -> None:
        """Queue a push copy of an SMS row to each of the recipient's subscriptions."""
        subs = await session.scalars(
            select(PushSubscription).where(PushSubscription.owner == row.recipient)
        )
        fallback = [
            Notification(
                task_id=row.task_id,
                recipient=row.recipient,
                channel="push",
                address=s.endpoint,
                purpose=row.purpose,
                body=row.body,
                payload={**row.payload, "fallback_for": row.id},
                state=PENDING,
                next_attempt_at=now,
                created_at=now,
            )
            for s in subs
        ]
        session.add_all(fallback)
        logger.info(
            "SMS to %s not delivered (%s); %d push fallbacks",
            log_phone(row.address),
            row.last_error,
            len(fallback),
        )


async def _receipts(session: AsyncSession, sids: Sequence[str]) -> dict[str, list[DeliveryReceipt]]:
    """The stored status callbacks of ``sids``, oldest first."""
    out: dict[str, list[DeliveryReceipt]] = {}
    if sids:
        for r in await session.scalars(
            select(DeliveryReceipt)
            .where(DeliveryReceipt.provider_id.in_(sids))
            .order_by(DeliveryReceipt.id)
        ):
            out.setdefault(r.provider_id, []).append(r)
    return out


def is_permanent(error_code: str | None) -> TypeGuard[str]:
    """True for a Twilio error code that means the number will never take an SMS."""
    return bool(error_code and error_code.isdigit() and int(error_code) in PERMANENT_CODES)


async def block_number(session: AsyncSession, phone: str, code: str, now: datetime) -> None:
    """Mark a number as refused by the provider (idempotent)."""
    if await session.get(BlockedNumber, phone) is None:
        session.add(BlockedNumber(phone=phone, code=code, blocked_at=now))
        await session.flush()
