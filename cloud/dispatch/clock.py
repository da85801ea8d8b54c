"""Injectable time: the system clock in service, a manual clock in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time (timezone-aware UTC)."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """Wall-clock UTC."""

    def now(self) -> datetime:
        """The current time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        """The current (frozen) time."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward; returns the new time."""
        self._now += timedelta(seconds=seconds)
        return self._now
