"""The named converters a profile field may use, each a decoder and its inverse encoder.

A converter is built once per field at load time into two closures (raw -> normalized,
normalized -> raw) with the field's scale, offset and unit folded in. Vendor quirks are
converters too, with the reason beside them in ``quirk``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from firmware_profiles.errors import ConversionError
from firmware_profiles.units import ValueClass
from protocol.readings import Kind


class Skip:
    """Marker: this raw value yields no reading (or this value writes nothing)."""

    def __repr__(self) -> str:
        return "SKIP"


SKIP: Final = Skip()

DecodeFn = Callable[[Any], Any]
EncodeFn = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class FieldContext:
    """What a converter needs from a field declaration, resolved at load time."""

    kind: Kind
    scale: float = 1.0
    offset: float = 0.0
    divisor: float = 1.0
    integer: bool = False
    lookup: Mapping[Any, Any] | None = None
    skip_unmatched: bool = False
    ignore: frozenset[Any] = frozenset()
    otherwise: Any = SKIP  # SKIP: none declared
    battery_curve: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    big_endian: bool = False


@dataclass(frozen=True, slots=True)
class Converter:
    """A named converter: which value class it yields, and how to build its two functions."""

    name: str
    yields: ValueClass | None  # None: whatever its lookup table holds
    summary: str
    build: Callable[[FieldContext], tuple[DecodeFn, EncodeFn]]
    quirk: str = ""


def _is_number(raw: Any) -> bool:
    return isinstance(raw, int | float | np.integer | np.floating) and not isinstance(
        raw, bool | np.bool_
    )


def _number(ctx: FieldContext) -> tuple[DecodeFn, EncodeFn]:
    scale, offset, div, integer = ctx.scale, ctx.offset, ctx.divisor, ctx.integer

    def decode(raw: Any) -> float:
        if not _is_number(raw):
            raise ConversionError(f"expected a number, got {raw!r}")
        value = (raw * scale + offset) / div
        if not math.isfinite(value):
            raise ConversionError(f"value {raw!r} is not finite")
        return float(value)

    def encode(value: Any) -> float | int:
        if not _is_number(value) or not math.isfinite(value):
            raise ConversionError(f"expected a finite number, got {value!r}")
        raw = (float(value) * div - offset) / scale
        return round(raw) if integer else raw

    return decode, encode


def _boolean(invert: bool) -> Callable[[FieldContext], tuple[DecodeFn, EncodeFn]]:
    def build(ctx: FieldContext) -> tuple[DecodeFn, EncodeFn]:
        def decode(raw: Any) -> bool:
            if raw is True or raw is False or (raw.__class__ is int and raw in (0, 1)):
                return bool(raw) is not invert
            raise ConversionError(f"expected true/false or 0/1, got {raw!r}")

        def encode(value: Any) -> bool | int:
            if not isinstance(value, bool | np.bool_):
                raise ConversionError(f"expected a bool, got {value!r}")
            raw = bool(value) is not invert
            return int(raw) if ctx.integer else raw

        return decode, encode

    return build


def _lookup(ctx: FieldContext) -> tuple[DecodeFn, EncodeFn]:
    table = dict(ctx.lookup or {})
    reverse: dict[Any, Any] = {}
    for raw, value in table.items():
        reverse.setdefault(value, raw)
    skip = ctx.skip_unmatched
    ignore = ctx.ignore
    otherwise = ctx.otherwise

    def decode(raw: Any) -> Any:
        try:
            return table[raw]
        except (KeyError, TypeError):
            pass
        try:
            if raw in ignore:
                return SKIP
        except TypeError:  # an unhashable raw value (a JSON object) is in no table
            pass
        if otherwise is not SKIP:
            return otherwise
        if skip:
            return SKIP
        raise ConversionError(f"{raw!r} is not one of {list(table)}")

    def encode(value: Any) -> Any:
        try:
            return reverse[value]
        except (KeyError, TypeError):
            if skip or otherwise is not SKIP:
                return SKIP
            raise ConversionError(f"{value!r} is not one of {list(reverse)}") from None

    return decode, encode


def _battery_curve(ctx: FieldContext) -> tuple[DecodeFn, EncodeFn]:
    volts, percent = (np.asarray(c, dtype=np.float64) for c in ctx.battery_curve)
    to_volts, from_volts = _number(ctx)

    def decode(raw: Any) -> float:
        return float(np.interp(to_volts(raw), volts, percent))

    def encode(value: Any) -> float | int:
        if not _is_number(value):
            raise ConversionError(f"expected a battery percentage, got {value!r}")
        return from_volts(float(np.interp(value, percent, volts)))

    return decode, encode


def _accel_i16(ctx: FieldContext) -> tuple[DecodeFn, EncodeFn]:
    dtype = np.dtype(">i2" if ctx.big_endian else "<i2")
    gain = ctx.scale / ctx.divisor
    offset = ctx.offset / ctx.divisor
    info = np.iinfo(np.int16)

    def decode(raw: Any) -> np.ndarray:
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise ConversionError(
                f"expected bytes of int16 x/y/z samples, got {type(raw).__name__}"
            )
        if len(raw) % 6:
            raise ConversionError(f"{len(raw)} bytes is not a whole number of 6-byte x/y/z samples")
        counts = np.frombuffer(raw, dtype=dtype).reshape(-1, 3)
        return counts * gain + offset

    def encode(value: Any) -> bytes:
        samples = np.asarray(value, dtype=np.float64)
        if samples.ndim != 2 or samples.shape[1] != 3:
            raise ConversionError(f"expected an (n, 3) array in g, got shape {samples.shape}")
        # A real sensor saturates at full scale: clip rather than wrap around.
        counts = np.clip(np.rint((samples - offset) / gain), info.min, info.max)
        return counts.astype(dtype).tobytes()

    return decode, encode


CONVERTERS: dict[str, Converter] = {
    c.name: c
    for c in (
        Converter(
            "number", ValueClass.NUMBER, "raw * scale + offset, in the declared unit", _number
        ),
        Converter("bool", ValueClass.BOOL, "true/false or 0/1", _boolean(invert=False)),
        Converter(
            "invert_bool",
            ValueClass.BOOL,
            "true/false or 0/1, inverted",
            _boolean(invert=True),
            quirk="Aqara/Xiaomi contact sensors report `contact: true` while the magnet is near "
            "(door closed); carewatch's door_open is the opposite.",
        ),
        Converter(
            "lookup", None, "raw value -> normalized value through the lookup table", _lookup
        ),
        Converter(
            "battery_curve",
            ValueClass.NUMBER,
            "cell voltage -> percent through the profile's battery curve",
            _battery_curve,
        ),
        Converter(
            "accel_i16",
            ValueClass.BLOCK,
            "int16 x/y/z counts * scale -> (n, 3) g; encode clips at full scale",
            _accel_i16,
        ),
    )
}

DEFAULT_CONVERTER: dict[ValueClass, str] = {
    ValueClass.BOOL: "bool",
    ValueClass.NUMBER: "number",
    ValueClass.ENUM: "lookup",
    ValueClass.BLOCK: "accel_i16",
}
