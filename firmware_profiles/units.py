"""What each reading kind holds (its value class) and the device units it may be given in."""

from __future__ import annotations

from enum import StrEnum

from protocol.readings import UNITS, ReadingKind


class ValueClass(StrEnum):
    """The Python shape of a normalized value."""

    BOOL = "bool"
    NUMBER = "number"
    ENUM = "enum"
    BLOCK = "block"


VALUE_CLASS: dict[ReadingKind, ValueClass] = {
    ReadingKind.MOTION: ValueClass.BOOL,
    ReadingKind.OCCUPANCY: ValueClass.BOOL,
    ReadingKind.PRESENCE: ValueClass.BOOL,
    ReadingKind.TARGET_STATE: ValueClass.ENUM,
    ReadingKind.RADAR_FALL: ValueClass.BOOL,
    ReadingKind.BREATHING_RATE: ValueClass.NUMBER,
    ReadingKind.HEART_RATE: ValueClass.NUMBER,
    ReadingKind.SPO2: ValueClass.NUMBER,
    ReadingKind.ACCEL: ValueClass.BLOCK,
    ReadingKind.SOS: ValueClass.BOOL,
    ReadingKind.CANCEL: ValueClass.BOOL,
    ReadingKind.WORN: ValueClass.BOOL,
    ReadingKind.BATTERY: ValueClass.NUMBER,
    ReadingKind.VOLTAGE: ValueClass.NUMBER,
    ReadingKind.DOOR_OPEN: ValueClass.BOOL,
    ReadingKind.TAMPER: ValueClass.BOOL,
    ReadingKind.TEMPERATURE: ValueClass.NUMBER,
    ReadingKind.ILLUMINANCE: ValueClass.NUMBER,
    ReadingKind.LINK_QUALITY: ValueClass.NUMBER,
    ReadingKind.HEARTBEAT: ValueClass.BOOL,
}

# The values an enum kind may take.
ENUM_VALUES: dict[ReadingKind, frozenset[str]] = {
    ReadingKind.TARGET_STATE: frozenset({"none", "static", "moving", "lying"}),
}

# Canonical unit -> {unit a device may report in: divide by this to get the canonical unit}.
DIVISORS: dict[str, dict[str, float]] = {
    "bool": {"bool": 1.0},
    "enum": {"enum": 1.0},
    "1/min": {"1/min": 1.0},
    "bpm": {"bpm": 1.0},
    "%": {"%": 1.0, "permille": 10.0},
    "g": {"g": 1.0, "mg": 1000.0, "m/s2": 9.80665},
    "V": {"V": 1.0, "mV": 1000.0},
    "°C": {"°C": 1.0},
    "lx": {"lx": 1.0},
    "lqi": {"lqi": 1.0, "dBm": 1.0},
    "": {"": 1.0},
}

KNOWN_UNITS: frozenset[str] = frozenset(u for table in DIVISORS.values() for u in table)


def canonical_unit(kind: ReadingKind) -> str:
    """The unit a normalized reading of ``kind`` is expressed in."""
    return UNITS.get(kind, "")


def divisor(canonical: str, unit: str) -> float:
    """What to divide a value in ``unit`` by to express it in ``canonical``; ValueError if none."""
    table = DIVISORS.get(canonical, {})
    if unit not in table:
        raise ValueError(
            f"unit {unit!r} cannot be converted to {canonical!r}; use one of {sorted(table)}"
        )
    return table[unit]
