"""SMS reply short codes: ``1 T0042`` accept, ``2`` decline, ``3`` arrived, ``4 T0042 2`` done.

Digits work on any phone; the words (English or Chinese) are accepted too. The task
reference (``T`` and the last digits of the number) may be left out when only one task
fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from cloud.dispatch.models import OUTCOME_CODES, Outcome


class Command(StrEnum):
    """What a reply asks for."""

    ACCEPT = "accept"
    DECLINE = "decline"
    ARRIVED = "arrived"
    DONE = "done"


WORDS: dict[str, Command] = {
    "1": Command.ACCEPT,
    "y": Command.ACCEPT,
    "yes": Command.ACCEPT,
    "accept": Command.ACCEPT,
    "ok": Command.ACCEPT,
    "接": Command.ACCEPT,
    "接受": Command.ACCEPT,
    "2": Command.DECLINE,
    "n": Command.DECLINE,
    "no": Command.DECLINE,
    "decline": Command.DECLINE,
    "拒": Command.DECLINE,
    "拒绝": Command.DECLINE,
    "3": Command.ARRIVED,
    "arrived": Command.ARRIVED,
    "到": Command.ARRIVED,
    "到达": Command.ARRIVED,
    "4": Command.DONE,
    "done": Command.DONE,
    "完成": Command.DONE,
}

_REF = re.compile(r"^t(\d{1,4})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Reply:
    """A parsed reply."""

    command: Command
    ref: int | None = None  # the daily sequence number of the task
    outcome: Outcome | None = None


def parse_reply(body: str) -> Reply | None:
    """Parse an SMS body; None when it is not a command."""
    tokens = body.strip().replace(",", " ").replace("，", " ").split()
    if not tokens:
        return None
    command = WORDS.get(tokens[0].lower())
    if command is None:
        return None
    ref: int | None = None
    outcome: Outcome | None = None
    for tok in tokens[1:]:
        m = _REF.match(tok)
        if m:
            ref = int(m.group(1))
        elif command is Command.DONE and tok in OUTCOME_CODES:
            outcome = OUTCOME_CODES[tok]
        elif command is Command.DONE and tok.lower() in Outcome.__members__.values():
            outcome = Outcome(tok.lower())
        else:
            return None
    return Reply(command, ref, outcome)
