"""Normalized sensor readings: what every decoder produces and every detector consumes.

A reading is either one scalar value (``value``) or a block of samples (``samples``, a numpy
array with one row per sample) with its sample rate. Blocks stay numpy arrays inside a
process: never one Python object per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt


class ReadingKind(StrEnum):
    """The normalized quantities, each with one canonical unit."""

    MOTION = "motion"  # bool, PIR detected motion
    OCCUPANCY = "occupancy"  # bool, presence held by the sensor
    PRESENCE = "presence"  # bool, radar sees a person
    TARGET_STATE = "target_state"  # str: none|static|moving|lying
    RADAR_FALL = "radar_fall"  # bool, radar's own fall flag
    BREATHING_RATE = "breathing_rate"  # breaths/min
    HEART_RATE = "heart_rate"  # beats/min
    SPO2 = "spo2"  # percent
    ACCEL = "accel"  # block (n, 3) in g
    SOS = "sos"  # bool, button pressed
    CANCEL = "cancel"  # bool, resident cancelled an alarm on the device
    WORN = "worn"  # bool, band on the wrist
    BATTERY = "battery"  # percent
    VOLTAGE = "voltage"  # volts
    DOOR_OPEN = "door_open"  # bool, contact open
    TAMPER = "tamper"  # bool
    TEMPERATURE = "temperature"  # °C
    ILLUMINANCE = "illuminance"  # lux
    LINK_QUALITY = "link_quality"  # 0-255 (Zigbee LQI) or dBm, per profile
    DISTANCE = "distance"  # m, radar's distance to the person
    HEARTBEAT = "heartbeat"  # device alive, value unused


UNITS: dict[ReadingKind, str] = {
    ReadingKind.MOTION: "bool",
    ReadingKind.OCCUPANCY: "bool",
    ReadingKind.PRESENCE: "bool",
    ReadingKind.TARGET_STATE: "enum",
    ReadingKind.RADAR_FALL: "bool",
    ReadingKind.BREATHING_RATE: "1/min",
    ReadingKind.HEART_RATE: "bpm",
    ReadingKind.SPO2: "%",
    ReadingKind.ACCEL: "g",
    ReadingKind.SOS: "bool",
    ReadingKind.CANCEL: "bool",
    ReadingKind.WORN: "bool",
    ReadingKind.BATTERY: "%",
    ReadingKind.VOLTAGE: "V",
    ReadingKind.DOOR_OPEN: "bool",
    ReadingKind.TAMPER: "bool",
    ReadingKind.TEMPERATURE: "°C",
    ReadingKind.ILLUMINANCE: "lx",
    ReadingKind.LINK_QUALITY: "lqi",
    ReadingKind.DISTANCE: "m",
    ReadingKind.HEARTBEAT: "",
}

# Kinds where every message is an event, never a state repeated on check-in: a press, and a
# PIR detection. (Zigbee2MQTT clears a PIR's ``occupancy`` after its occupancy timeout, so a
# repeated ``true`` is the sensor firing again: someone is still moving, not a cached value.)
EVENT_KINDS: frozenset[ReadingKind] = frozenset(
    {ReadingKind.SOS, ReadingKind.CANCEL, ReadingKind.MOTION}
)
# Kinds that hold a state (true/false, or an enum): Zigbee2MQTT republishes the cached value
# with every check-in and ESPHome its retained value on every reconnect, so only a change
# of value is an event; a repeat only proves the device alive.
STATE_KINDS: frozenset[ReadingKind] = frozenset(
    k for k, unit in UNITS.items() if unit in ("bool", "enum") and k not in EVENT_KINDS
)

Scalar = float | int | bool | str | None

KIND_NAME = r"^[a-z][a-z0-9_]{0,31}$"
VALUE_CLASSES = ("bool", "number", "enum")


class DeclaredKind(str):
    """A reading kind declared as data by a profile file (``humidity``), not built in.

    A ``str`` with ``.value`` like a ReadingKind member, so code that names kinds by value
    treats both alike; its unit, value class and event flag are in ``kind_info``.
    """

    __slots__ = ()

    @property
    def value(self) -> str:
        """The kind's name."""
        return str(self)

    def __repr__(self) -> str:
        return f"DeclaredKind({str(self)!r})"


Kind = ReadingKind | DeclaredKind


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What a declared kind is: its canonical unit, value class, and whether it is an event."""

    name: str
    unit: str
    value_class: str  # one of VALUE_CLASSES
    event: bool = False
    values: frozenset[str] = frozenset()  # an enum's values


_DECLARED: dict[str, KindInfo] = {}


def declare_kind(info: KindInfo) -> DeclaredKind:
    """Register a kind declared as data; ValueError if it clashes with a built-in or with an
    earlier, different declaration of the same name (two profiles must agree)."""
    if info.name in ReadingKind.__members__.values() or info.name in BUILTIN_NAMES:
        raise ValueError(f"kind {info.name!r} is built in; declare only new kinds")
    if info.value_class not in VALUE_CLASSES:
        raise ValueError(f"kind {info.name!r}: value class must be one of {VALUE_CLASSES}")
    earlier = _DECLARED.setdefault(info.name, info)
    if earlier != info:
        raise ValueError(
            f"kind {info.name!r} is already declared differently: {earlier}, now {info}"
        )
    return DeclaredKind(info.name)


def kind_info(kind: Kind | str) -> KindInfo | None:
    """The declaration of a declared kind; None for a built-in or unknown name."""
    return _DECLARED.get(str(kind))


def kind_named(name: str) -> Kind:
    """The built-in or declared kind called ``name``; ValueError naming the known ones."""
    if name in BUILTIN_NAMES:
        return ReadingKind(name)
    if name in _DECLARED:
        return DeclaredKind(name)
    known = sorted([*BUILTIN_NAMES, *_DECLARED])
    raise ValueError(f"unknown reading kind {name!r}; known: {', '.join(known)}")


def unit_of(kind: Kind | str) -> str:
    """The canonical unit of a built-in or declared kind ('' when unknown)."""
    if isinstance(kind, ReadingKind):
        return UNITS.get(kind, "")
    info = _DECLARED.get(str(kind))
    return info.unit if info is not None else ""


def is_event_kind(kind: Kind) -> bool:
    """Every message of it is an event (a press), never a repeated state."""
    if isinstance(kind, ReadingKind):
        return kind in EVENT_KINDS
    info = _DECLARED.get(str(kind))
    return info is not None and info.event


def is_state_kind(kind: Kind) -> bool:
    """It holds a state (true/false or an enum) that check-ins repeat: only a change counts."""
    if isinstance(kind, ReadingKind):
        return kind in STATE_KINDS
    info = _DECLARED.get(str(kind))
    return info is not None and not info.event and info.value_class in ("bool", "enum")


BUILTIN_NAMES: frozenset[str] = frozenset(k.value for k in ReadingKind)


@dataclass(frozen=True, slots=True)
class Reading:
    """One normalized reading from one device.

    ``ts`` is the event time (epoch seconds) of the value, or of the first sample of a
    block. A block's sample times are ``ts + arange(n) / rate_hz`` unless ``sample_ts``
    carries the device's own (possibly irregular) per-sample timestamps.
    """

    device_id: str
    ts: float
    kind: Kind
    value: Scalar = None
    samples: npt.NDArray[np.float64] | None = None
    rate_hz: float | None = None
    sample_ts: npt.NDArray[np.float64] | None = None
    unit: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.device_id:
            raise ValueError("Reading.device_id is empty")
        if not math.isfinite(self.ts):
            raise ValueError(f"Reading.ts for device {self.device_id!r} is not finite: {self.ts}")
        if self.samples is not None and self.rate_hz is None and self.sample_ts is None:
            raise ValueError(
                f"Reading {self.kind} for device {self.device_id!r} has samples but no rate_hz"
            )
        if not self.unit:
            object.__setattr__(self, "unit", unit_of(self.kind))

    @property
    def is_block(self) -> bool:
        """True when the reading carries a block of samples."""
        return self.samples is not None

    def times(self) -> npt.NDArray[np.float64]:
        """Per-sample event times of a block (epoch seconds)."""
        if self.samples is None:
            return np.array([self.ts], dtype=np.float64)
        if self.sample_ts is not None:
            return np.asarray(self.sample_ts, dtype=np.float64)
        assert self.rate_hz is not None
        return self.ts + np.arange(len(self.samples), dtype=np.float64) / self.rate_hz

    @property
    def end_ts(self) -> float:
        """Event time of the last sample (``ts`` for a scalar reading)."""
        if self.samples is None or len(self.samples) == 0:
            return self.ts
        return float(self.times()[-1])

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (blocks as nested lists), as the CLI prints it."""
        out: dict[str, Any] = {
            "device_id": self.device_id,
            "ts": round(self.ts, 6),
            "kind": str(self.kind),
            "unit": self.unit,
        }
        if self.samples is not None:
            out["samples"] = np.round(self.samples, 6).tolist()
            out["rate_hz"] = self.rate_hz
            if self.sample_ts is not None:
                out["sample_ts"] = np.round(self.sample_ts, 6).tolist()
        else:
            out["value"] = self.value
        if self.extra:
            out["extra"] = self.extra
        return out
