"""Who acts on a task, and the error a command that does not fit raises."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.models import Worker
from cloud.notify.outbox import Recipient


class TransitionError(Exception):
    """A command that does not fit the task's state; ``key`` names the reply text."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: ``worker:12``, ``family:3``, ``user:5`` or ``system``."""

    key: str
    channel: str  # sms | app | console | system

    @property
    def kind(self) -> str:
        """worker, family, user or system."""
        return self.key.split(":", 1)[0]

    @property
    def id(self) -> int | None:
        """The numeric id, if any."""
        _, _, ident = self.key.partition(":")
        return int(ident) if ident.isdigit() else None


SYSTEM = Actor("system", "system")


def worker_recipient(w: Worker) -> Recipient:
    """Outbox recipient of a worker."""
    return Recipient(f"worker:{w.id}", w.phone, w.language)
