"""The exception family of the notification boundary."""

from __future__ import annotations


class DeliveryError(Exception):
    """A provider did not take a notification.

    ``permanent``: retrying will not help (invalid number, unsubscribed, expired
    subscription); ``rate_limited``: retry after a longer backoff.
    """

    def __init__(
        self, message: str, *, code: str, permanent: bool = False, rate_limited: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent
        self.rate_limited = rate_limited
