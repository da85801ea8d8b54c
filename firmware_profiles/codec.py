"""What every payload codec shares: the timestamp clock, error wording, field conversion."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from firmware_profiles.converters import SKIP
from firmware_profiles.errors import ConversionError, DecodeError, EncodeError
from firmware_profiles.fields import (
    CompiledField,
    compile_fields,
    embed_bytes,
    split_path,
    unembed,
)
from firmware_profiles.schema import ProfileSpec
from protocol.readings import Reading

_EPOCH_2000 = 946_684_800.0
_TS_UNITS: dict[str, tuple[float, float]] = {  # unit -> (divisor to seconds, epoch offset)
    "s": (1.0, 0.0),
    "ms": (1000.0, 0.0),
    # Quirk: battery-powered devices with a small RTC often count seconds from 2000-01-01.
    "s_since_2000": (1.0, _EPOCH_2000),
}


def same_value(a: Any, b: Any) -> bool:
    """Equal, allowing float rounding between two fields that share one raw value."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b)
    return bool(a == b)


def not_given(value: Any) -> bool:
    """None or NaN: the value is not measured and is left out (or written as ``absent``)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def short(payload: bytes) -> str:
    """The start of a payload, for error messages."""
    return repr(payload[:48]) + ("…" if len(payload) > 48 else "")


class Clock:
    """The payload's timestamp field: raw value <-> epoch seconds."""

    def __init__(self, spec: ProfileSpec, *, integer: bool) -> None:
        ts = spec.timestamp
        self.path = ts.path if ts is not None else ""
        self.keys = split_path(self.path) if ts is not None else ()
        self.present = ts is not None
        self.required = ts is not None and ts.required
        self.div, self.base = _TS_UNITS[ts.unit] if ts is not None else (1.0, 0.0)
        self.integer = integer or (ts is not None and ts.unit == "ms")

    def decode(self, raw: Any) -> float:
        """Epoch seconds of a raw timestamp: a number in the declared unit, or ISO 8601 text.

        ISO 8601 needs its UTC offset: Zigbee2MQTT's ``last_seen`` is ``...456Z``
        (``ISO_8601``) or ``...456+08:00`` (``ISO_8601_local``); ``epoch`` is a number (ms).
        """
        if isinstance(raw, str):
            return _iso_seconds(raw)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConversionError(f"expected a number or ISO 8601 text, got {raw!r}")
        ts = raw / self.div + self.base
        if not math.isfinite(ts):
            raise ConversionError(f"{raw!r} is not a finite time")
        return float(ts)

    def encode(self, ts: float) -> int | float:
        raw = (ts - self.base) * self.div
        return round(raw) if self.integer else raw


def _iso_seconds(text: str) -> float:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConversionError(f"{text[:40]!r} is neither a number nor ISO 8601") from None
    if when.tzinfo is None:
        raise ConversionError(f"ISO 8601 time {text[:40]!r} has no UTC offset (Z or +hh:mm)")
    return when.timestamp()


class PayloadCodec(ABC):
    """Decodes one device's payloads into readings and encodes values back."""

    def __init__(self, spec: ProfileSpec) -> None:
        self.profile_id = spec.id
        self.rate_hz = spec.sample_rate_hz
        self.fields: list[CompiledField] = compile_fields(spec)

    @abstractmethod
    def decode(
        self, device_id: str, topic: str, payload: bytes, received_at: float
    ) -> list[Reading]:
        """Readings carried by ``payload``; DecodeError naming what failed."""

    @abstractmethod
    def encode(self, values: Mapping[str, Any], ts: float, *, z2m: str | None = None) -> bytes:
        """The payload carrying ``values`` at event time ``ts``; EncodeError naming the field.

        ``z2m``: the Zigbee2MQTT major version whose field names to write (``1.x``, ``2.x``).
        """

    def encode_messages(
        self, base_topic: str, values: Mapping[str, Any], ts: float, *, z2m: str | None = None
    ) -> list[tuple[str, bytes]]:
        """Every (topic, payload) carrying ``values``: one message on ``base_topic`` here."""
        return [(base_topic, self.encode(values, ts, z2m=z2m))]

    @abstractmethod
    def score(self, payload: bytes) -> float | None:
        """How well ``payload`` fits this device before decoding it; None: not this device."""

    def _fail(self, topic: str, where: str, problem: object) -> DecodeError:
        return DecodeError(f"{self.profile_id}: topic {topic!r}: {where}: {problem}")

    def _convert(self, f: CompiledField, raw: Any, topic: str) -> Any:
        try:
            if f.embed is not None:
                raw = unembed(raw, f.embed)
            return f.decode(raw)
        except ConversionError as exc:
            raise self._fail(topic, f"field {f.path!r} ({f.kind.value})", exc) from None

    def _reading(self, f: CompiledField, device_id: str, ts: float, value: Any) -> Reading | None:
        if f.is_block:
            if len(value) == 0:
                return None
            return Reading(device_id, ts, f.kind, samples=value, rate_hz=self.rate_hz)
        return Reading(device_id, ts, f.kind, value=value, unit=f.unit)

    def _raw(self, f: CompiledField, value: Any) -> Any:
        try:
            raw = f.encode(value)
            if f.embed is not None and raw is not SKIP:
                raw = embed_bytes(raw, f.embed)
            return raw
        except ConversionError as exc:
            raise EncodeError(
                f"{self.profile_id}: {f.kind.value} (field {f.path!r}): {exc}"
            ) from None
