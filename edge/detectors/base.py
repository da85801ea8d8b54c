"""The one interface every detector implements, and the bank that routes readings to them.

A detector is streaming and stateful: ``feed`` takes one normalized reading (a scalar or a
block of samples as a numpy array) and returns the detections it completes; ``tick`` lets
timers fire while devices are silent (inactivity, device offline), on wall clock or the
simulator's clock. State is saved and restored as JSON, never pickled.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from protocol import AlarmKind, Reading, ReadingKind
from protocol.readings import Kind

log = logging.getLogger(__name__)


class DetectorInputError(ValueError):
    """A reading a detector cannot use (empty block, wrong shape, wrong kind)."""


@dataclass(frozen=True, slots=True)
class Detection:
    """A detector's verdict: a condition started (``active``) or ended (not ``active``)."""

    kind: AlarmKind
    detector: str
    ts: float  # event time, epoch seconds
    active: bool = True
    device_id: str | None = None
    room: str | None = None
    score: float = 1.0  # in [0, 1]
    message: str = ""
    details: dict[str, float | int | str | bool] = field(default_factory=dict)
    evidence: tuple[dict[str, Any], ...] = ()  # protocol.Evidence fields, ts as epoch seconds


class Detector(ABC):
    """Base of every detector. Subclasses set ``type`` and ``kinds``.

    ``device_id`` is the device a per-device detector watches; None for a home-wide one,
    which sees the readings of every device in the home.
    """

    type: ClassVar[str]
    kinds: ClassVar[frozenset[ReadingKind]]
    bridge_base: str | None = None  # the Zigbee2MQTT bridge it hears through, if any

    def __init__(self, *, device_id: str | None = None, room: str | None = None) -> None:
        self.device_id = device_id
        self.room = room

    def accepts(self, reading: Reading) -> bool:
        """Whether this instance watches the reading's device."""
        return self.device_id is None or reading.device_id == self.device_id

    @abstractmethod
    def feed(self, reading: Reading) -> list[Detection]:
        """Process one reading; return the detections it completes."""

    def tick(self, now: float) -> list[Detection]:
        """Fire time-based conditions at ``now`` (epoch seconds); default: none."""
        return []

    def availability(self, online: bool, ts: float) -> list[Detection]:
        """The device's availability topic said online or offline; default: ignored."""
        return []

    def bridge(self, online: bool, ts: float) -> list[Detection]:
        """The Zigbee2MQTT bridge (``bridge_base``) went online or offline; default: ignored."""
        return []

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """JSON-serializable state, enough to resume exactly where it stopped."""

    @abstractmethod
    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()`` output."""


class DetectorBank:
    """All detectors of one home; routes each reading by kind, isolates failures."""

    def __init__(self, detectors: Iterable[Detector]) -> None:
        self.detectors: list[Detector] = list(detectors)
        self._routes: dict[Kind, list[Detector]] = {}
        for det in self.detectors:
            for kind in det.kinds:
                self._routes.setdefault(kind, []).append(det)
        self.errors = 0

    def feed(self, reading: Reading) -> list[Detection]:
        """Feed one reading to every detector that watches its kind and device."""
        out: list[Detection] = []
        for det in self._routes.get(reading.kind, ()):
            if not det.accepts(reading):
                continue
            try:
                out.extend(det.feed(reading))
            except DetectorInputError as exc:
                self.errors += 1
                log.warning("detector %s rejected a reading: %s", det.type, exc)
            except Exception:
                self.errors += 1
                log.exception(
                    "detector %s failed on %s from %s", det.type, reading.kind, reading.device_id
                )
        return out

    def feed_many(self, readings: Sequence[Reading]) -> list[Detection]:
        """Feed readings in order."""
        out: list[Detection] = []
        for r in readings:
            out.extend(self.feed(r))
        return out

    def tick(self, now: float) -> list[Detection]:
        """Let every detector's timers fire at ``now``."""
        return self._call(self.detectors, lambda d: d.tick(now), "tick")

    def availability(self, device_id: str, online: bool, ts: float) -> list[Detection]:
        """A device's availability message, to the detectors watching that device."""
        return self._call(
            [d for d in self.detectors if d.device_id == device_id],
            lambda d: d.availability(online, ts),
            "availability",
        )

    def bridge(self, base: str, online: bool, ts: float) -> list[Detection]:
        """A Zigbee2MQTT bridge state, to the detectors hearing through that bridge."""
        return self._call(
            [d for d in self.detectors if d.bridge_base == base],
            lambda d: d.bridge(online, ts),
            "bridge state",
        )

    def _call(
        self, dets: list[Detector], call: Callable[[Detector], list[Detection]], what: str
    ) -> list[Detection]:
        out: list[Detection] = []
        for det in dets:
            try:
                out.extend(call(det))
            except Exception:
                self.errors += 1
                log.exception("detector %s failed on %s", det.type, what)
        return out

    def state(self) -> list[dict[str, Any]]:
        """State of every detector, in order, as JSON-ready data."""
        return [
            {"type": d.type, "device_id": d.device_id, "state": d.state()} for d in self.detectors
        ]

    def restore(self, states: list[dict[str, Any]]) -> None:
        """Restore from ``state()``; entries that no longer match a detector are skipped."""
        index = {(d.type, d.device_id): d for d in self.detectors}
        for entry in states:
            det = index.get((entry.get("type", ""), entry.get("device_id")))
            if det is not None:
                det.restore(entry["state"])
