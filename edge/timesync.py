"""Whether the gateway's own clock can be trusted. A Raspberry Pi has no real-time clock: it
boots at the last saved time (or 1970) until NTP answers.

Asked in order: systemd-timesyncd (``timedatectl show -p NTPSynchronized --value``), chrony
(``chronyc tracking``), and the cloud's HTTP ``Date`` header seen on every answer (one
second resolution: a gateway within ``CLOUD_TOLERANCE_S`` of it counts as synchronised).
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Sequence
from email.utils import parsedate_to_datetime

from protocol import ClockState

log = logging.getLogger(__name__)

CLOUD_TOLERANCE_S = 5.0
Runner = Callable[[Sequence[str]], str | None]


def run_quietly(argv: Sequence[str]) -> str | None:
    """A command's stdout, or None when it is missing, fails or hangs."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=3.0, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def ntp_synchronized(run: Runner = run_quietly) -> tuple[bool | None, str]:
    """What the system's time daemon says: (synchronised or None, which daemon)."""
    out = run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if out is not None and out.strip() in ("yes", "no"):
        return out.strip() == "yes", "timedatectl"
    out = run(["chronyc", "tracking"])
    if out is not None:
        for line in out.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "Leap status":
                return value.strip() != "Not synchronised", "chrony"
    return None, "none"


class TimeSync:
    """The gateway clock's state: the daemon's word (re-asked every ``every_s``) and the
    offset to the cloud's ``Date`` header."""

    def __init__(self, *, run: Runner = run_quietly, every_s: float = 300.0) -> None:
        self.run = run
        self.every_s = every_s
        self.cloud_offset_s: float | None = None
        self._daemon: tuple[bool | None, str] = (None, "none")
        self._asked = float("-inf")

    def note_cloud_date(self, header: str | None, *, now: float | None = None) -> None:
        """Remember how far the cloud's clock (an HTTP ``Date`` header) is from ours."""
        if not header:
            return
        try:
            cloud = parsedate_to_datetime(header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        self.cloud_offset_s = round(cloud - (time.time() if now is None else now), 1)

    def refresh(self) -> None:
        """Ask the time daemon again if the last answer is older than ``every_s`` (blocks
        up to a few seconds: call it from a thread)."""
        if time.monotonic() - self._asked >= self.every_s:
            self._asked = time.monotonic()
            self._daemon = ntp_synchronized(self.run)

    def state(self) -> ClockState:
        """Synchronised or not, and who says so."""
        synced, source = self._daemon
        offset = self.cloud_offset_s
        if synced is not True and offset is not None:  # the cloud is the better witness
            return ClockState(
                synchronized=abs(offset) <= CLOUD_TOLERANCE_S, source="cloud", offset_s=offset
            )
        return ClockState(synchronized=synced, source=source, offset_s=offset)
