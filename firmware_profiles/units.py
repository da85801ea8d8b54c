"""What each reading kind holds (its value class) and the device units it may be given in."""

from __future__ import annotations

from enum import StrEnum

from protocol.readings import Kind, ReadingKind, kind_info, unit_of


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
    ReadingKind.DISTANCE: ValueClass.NUMBER,
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
    "m": {"m": 1.0, "cm": 100.0, "mm": 1000.0},
    "": {"": 1.0},
}

KNOWN_UNITS: frozenset[str] = frozenset(u for table in DIVISORS.values() for u in table)


def canonical_unit(kind: Kind) -> str:
    """The unit a normalized reading of ``kind`` is expressed in."""
    return unit_of(kind)


def value_class_of(kind: Kind) -> ValueClass | None:
    """What a reading of ``kind`` holds (built-in or declared); None for an unknown kind."""
    if isinstance(kind, ReadingKind):
        return VALUE_CLASS.get(kind)
    info = kind_info(kind)
    return ValueClass(info.value_class) if info is not None else None


def enum_values(kind: Kind) -> frozenset[str]:
    """The values an enum kind may take (built-in or declared)."""
    if isinstance(kind, ReadingKind):
        return ENUM_VALUES.get(kind, frozenset())
    info = kind_info(kind)
    return info.values if info is not None else frozenset()


def divisor(canonical: str, unit: str) -> float:
    """What to divide a value in ``unit`` by to express it in ``canonical``; ValueError if none."""
    if unit == canonical:
        return 1.0
    table = DIVISORS.get(canonical, {})
    if unit not in table:
        raise ValueError(
            f"unit {unit!r} cannot be converted to {canonical!r}; use one of {sorted(table)}"
        )
    return table[unit]
