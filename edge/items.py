"""What flows between pipeline stages: frozen, slotted, small."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edge.detectors.base import Detection

if TYPE_CHECKING:
    from edge.homereload import HomeSwap


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One MQTT message as received (ingest → decode)."""

    topic: str
    payload: bytes
    received_at: float  # wall clock, epoch seconds
    retained: bool = False  # a stored message the broker replays on subscribe


@dataclass(frozen=True, slots=True)
class Tick:
    """Timers may fire: ``now`` is wall time or the simulator's time."""

    now: float


@dataclass(frozen=True, slots=True)
class Activity:
    """Someone moved in ``room`` at event time ``ts`` (for fall correlation); ``located``
    when the reading places the resident there (motion or presence of a fixed sensor)."""

    ts: float
    room: str
    located: bool = False


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A message that could not be used, and why."""

    received_at: float
    topic: str
    device_id: str | None
    reason: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class DeviceAvailability:
    """A device's availability topic said online or offline (decode → detect)."""

    device_id: str
    online: bool
    ts: float


@dataclass(frozen=True, slots=True)
class BridgeState:
    """A Zigbee2MQTT bridge (by base topic) said online or offline (decode → detect)."""

    base: str
    online: bool
    ts: float


@dataclass(frozen=True, slots=True, eq=False)
class Barrier:
    """Passes every stage in order; ``done`` is set once the outbox committed all before it.

    A ``save`` barrier collects, in ``state``, each stage's state as it was when the barrier
    passed: exactly the state of the messages committed before it. A ``swap`` barrier
    carries a new home manifest; each stage switches to it as the barrier passes
    (edge.homereload).
    """

    done: asyncio.Event = field(default_factory=asyncio.Event)
    save: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    swap: HomeSwap | None = None  # a new home manifest: each stage switches as it passes


AlarmInput = Detection | Activity | Tick
