"""The workers' phones: read the SMS the cloud sent them and answer as a worker would."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cloud.notify.twilio_standin import SentMessage, TwilioStandin
from demo.cast import WorkerSpec

_OFFER = re.compile(r"(?:回复|Reply) 1 (T\d+)")
_NUMBER = re.compile(r"T\d{8}-\d{4}")


@dataclass
class _Plan:
    due: float
    phone: str
    body: str
    note: str


class WorkerPhones:
    """Answers offers by SMS reply through the cloud's signed Twilio webhook.

    A worker accepts an offer after ``think_s``, reports arrival ``travel_s`` later and
    closes the case ``visit_s`` after that; a worker marked ``declines_first`` declines
    their first offer. Every answer is reported to ``emit(home_hint, text)``.
    """

    def __init__(
        self,
        twilio: TwilioStandin,
        webhook_url: str,
        workers: dict[str, WorkerSpec],
        emit: Callable[[str, str], None],
        *,
        think_s: float = 2.0,
        travel_s: float = 6.0,
        visit_s: float = 4.0,
    ) -> None:
        self.twilio = twilio
        self.webhook_url = webhook_url
        self.workers = workers
        self.emit = emit
        self.think_s, self.travel_s, self.visit_s = think_s, travel_s, visit_s
        self._seen = 0
        self._declined: set[str] = set()
        self._plans: list[_Plan] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-phones", daemon=True)
        self.replies: list[tuple[float, str, str]] = []  # (monotonic, phone, body)

    def start(self) -> None:
        """Start answering."""
        self._thread.start()

    def stop(self) -> None:
        """Stop answering."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            messages = self.twilio.messages
            for msg in messages[self._seen :]:
                self._on_sms(msg)
            self._seen = len(messages)
            now = time.monotonic()
            for plan in [p for p in self._plans if p.due <= now]:
                self._plans.remove(plan)
                status = self.twilio.send_reply(self.webhook_url, plan.phone, plan.body)
                self.replies.append((now, plan.phone, plan.body))
                self.emit(plan.note, f"replies {plan.body!r} by SMS (webhook {status})")

    def _on_sms(self, msg: SentMessage) -> None:
        worker = self.workers.get(msg.to)
        offer = _OFFER.search(msg.body)
        if worker is None or offer is None:
            return
        ref = offer.group(1)
        number = _NUMBER.search(msg.body)
        task = number.group(0) if number else ref
        now = time.monotonic()
        who = f"{worker.name} ({task})"
        if worker.declines_first and worker.key not in self._declined:
            self._declined.add(worker.key)
            self._plans.append(_Plan(now + self.think_s, msg.to, f"2 {ref}", who))
            return
        t = now + self.think_s
        self._plans.append(_Plan(t, msg.to, f"1 {ref}", who))
        t += self.travel_s
        self._plans.append(_Plan(t, msg.to, f"3 {ref}", who))
        t += self.visit_s
        self._plans.append(_Plan(t, msg.to, f"4 {ref} 1", who))
