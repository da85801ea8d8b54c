"""Twilio message statuses in the order a message moves through them, and the per-SID lock.

A status only replaces one that is not later (``queued`` never overwrites ``delivered``).
The status callback and the outbox storing a send result both take ``lock_sid`` first, so
whichever of the two commits second sees what the other stored.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "partially_delivered": 4,
    "delivered": 5,
    "undelivered": 5,
    "failed": 5,
    "canceled": 5,
    "read": 6,
}
_SID_LOCK_CLASS = 0x736D7300  # advisory lock namespace for message SIDs ("sms\0")


def status_rank(status: str | None) -> int:
    """How far along ``status`` is (unknown or missing: -1, replaced by anything)."""
    return _RANK.get(status or "", -1)


def later_than(status: str) -> list[str]:
    """The known statuses strictly later than ``status`` (which it must not overwrite)."""
    rank = status_rank(status)
    return [s for s, r in _RANK.items() if r > rank]


async def lock_sid(session: AsyncSession, sid: str) -> None:
    """Serialise work on one message SID until the transaction ends (PostgreSQL advisory
    lock; SQLite's ``BEGIN IMMEDIATE`` already serialises every writer)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:c, hashtext(:sid))"),
            {"c": _SID_LOCK_CLASS, "sid": sid},
        )
