"""Payload codecs: JSON objects and binary struct frames, both driven by compiled fields."""

from __future__ import annotations

import json
import math
import struct
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from firmware_profiles.converters import SKIP
from firmware_profiles.errors import ConversionError, DecodeError, EncodeError
from firmware_profiles.fields import (
    MISSING,
    CompiledField,
    compile_fields,
    embed_bytes,
    get_path,
    put_path,
    split_path,
    unembed,
)
from firmware_profiles.schema import STRUCT_CODES, ProfileSpec
from protocol.readings import Reading

_EPOCH_2000 = 946_684_800.0
_TS_UNITS: dict[str, tuple[float, float]] = {  # unit -> (divisor to seconds, epoch offset)
    "s": (1.0, 0.0),
    "ms": (1000.0, 0.0),
    # Quirk: battery-powered devices with a small RTC often count seconds from 2000-01-01.
    "s_since_2000": (1.0, _EPOCH_2000),
}


def _same(a: Any, b: Any) -> bool:
    """Equal, allowing float rounding between two fields that share one raw value."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b)
    return bool(a == b)


def _not_given(value: Any) -> bool:
    """None or NaN: the value is not measured and is left out (or written as ``absent``)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _short(payload: bytes) -> str:
    return repr(payload[:48]) + ("…" if len(payload) > 48 else "")


class _Clock:
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
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConversionError(f"expected a number, got {raw!r}")
        ts = raw / self.div + self.base
        if not math.isfinite(ts):
            raise ConversionError(f"{raw!r} is not a finite time")
        return float(ts)

    def encode(self, ts: float) -> int | float:
        raw = (ts - self.base) * self.div
        return round(raw) if self.integer else raw


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
    def encode(self, values: Mapping[str, Any], ts: float) -> bytes:
        """The payload carrying ``values`` at event time ``ts``; EncodeError naming the field."""

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


class JsonCodec(PayloadCodec):
    """A JSON object per message; fields by dotted path."""

    def __init__(self, spec: ProfileSpec) -> None:
        super().__init__(spec)
        self.clock = _Clock(spec, integer=False)
        self.constants = [(split_path(p), p, v) for p, v in spec.recognise.constants.items()]
        self.required_keys = [split_path(p) for p in spec.recognise.required]
        self.known_keys = frozenset(spec.recognise.keys)

    def parse(self, topic: str, payload: bytes) -> dict[str, Any]:
        """The payload as a JSON object."""
        try:
            obj = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._fail(topic, "payload", f"not JSON ({exc}): {_short(payload)}") from None
        if not isinstance(obj, dict):
            raise self._fail(topic, "payload", f"not a JSON object: {_short(payload)}")
        return obj

    def decode(
        self, device_id: str, topic: str, payload: bytes, received_at: float
    ) -> list[Reading]:
        return self.decode_object(device_id, topic, self.parse(topic, payload), received_at)

    def decode_object(
        self, device_id: str, topic: str, obj: dict[str, Any], received_at: float
    ) -> list[Reading]:
        """Readings from an already parsed JSON object."""
        for keys, path, want in self.constants:
            got = get_path(obj, keys)
            if got != want or got.__class__ is not want.__class__:
                raise self._fail(topic, f"field {path!r}", f"expected {want!r}, got {got!r}")
        ts = float(received_at)
        clock = self.clock
        if clock.present:
            raw_ts = get_path(obj, clock.keys)
            if raw_ts is MISSING or raw_ts is None:
                if clock.required:
                    raise self._fail(topic, f"timestamp {clock.path!r}", "missing")
            else:
                try:
                    ts = clock.decode(raw_ts)
                except ConversionError as exc:
                    raise self._fail(topic, f"timestamp {clock.path!r}", exc) from None
        out: list[Reading] = []
        for f in self.fields:
            raw = get_path(obj, f.keys)
            if raw is MISSING or raw is None:
                if f.required:
                    raise self._fail(topic, f"field {f.path!r} ({f.kind.value})", "missing")
                continue
            if raw == f.absent and raw.__class__ is not bool:
                continue
            value = self._convert(f, raw, topic)
            if value is not SKIP:
                reading = self._reading(f, device_id, ts, value)
                if reading is not None:
                    out.append(reading)
        return out

    def encode(self, values: Mapping[str, Any], ts: float) -> bytes:
        return json.dumps(self.encode_object(values, ts), separators=(",", ":")).encode()

    def encode_object(self, values: Mapping[str, Any], ts: float) -> dict[str, Any]:
        """The JSON object carrying ``values``."""
        obj: dict[str, Any] = {}
        for keys, _, want in self.constants:
            put_path(obj, keys, want)
        if self.clock.present:
            put_path(obj, self.clock.keys, self.clock.encode(ts))
        writers: dict[tuple[str, ...], CompiledField] = {}
        for f in self.fields:
            value = values.get(f.kind.value)
            if _not_given(value):
                if f.required:
                    raise EncodeError(f"{self.profile_id}: {f.kind.value} is required")
                continue
            raw = self._raw(f, value)
            if raw is SKIP:
                continue
            old = put_path(obj, f.keys, raw)
            if f.keys in writers and not _same(old, raw):
                raise EncodeError(
                    f"{self.profile_id}: {f.kind.value} and {writers[f.keys].kind.value} "
                    f"both write field {f.path!r}, with different values ({raw!r}, {old!r})"
                )
            writers[f.keys] = f
        return obj

    def score(self, payload: bytes) -> float | None:
        try:
            obj = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(obj, dict):
            return None
        if any(get_path(obj, keys) is MISSING for keys in self.required_keys):
            return None
        if not self.known_keys:
            return float(len(self.required_keys) + len(self.constants))
        known = sum(1 for k in obj if k in self.known_keys)
        return float(known - (len(obj) - known))


class BinaryCodec(PayloadCodec):
    """A struct header, optionally followed by a block of int16 x/y/z samples."""

    def __init__(self, spec: ProfileSpec) -> None:
        super().__init__(spec)
        enc = spec.encoding
        order = ">" if enc.byte_order == "big" else "<"
        self.layout = list(enc.layout)
        self.struct = struct.Struct(order + "".join(STRUCT_CODES[lf.type] for lf in self.layout))
        self.item_structs = [struct.Struct(order + STRUCT_CODES[lf.type]) for lf in self.layout]
        self.has_block = enc.block is not None
        self.consts = [
            (i, lf.name, lf.const) for i, lf in enumerate(self.layout) if lf.const is not None
        ]
        self.defaults = [lf.const if lf.const is not None else lf.default for lf in self.layout]
        names = [lf.name for lf in self.layout]
        ts_type = ""
        self.ts_index = -1
        if spec.timestamp is not None:
            self.ts_index = names.index(spec.timestamp.path)
            ts_type = self.layout[self.ts_index].type
        self.clock = _Clock(spec, integer=not ts_type.startswith("f"))
        self.envelope = enc.envelope
        self.envelope_keys = split_path(enc.envelope.path) if enc.envelope else ()
        self.header_fields = [f for f in self.fields if not f.is_block]
        self.block_fields = [f for f in self.fields if f.is_block]

    def frame(self, topic: str, payload: bytes) -> bytes:
        """The binary frame: the payload itself, or the text inside its JSON envelope."""
        if self.envelope is None:
            return payload
        try:
            obj = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._fail(topic, "payload", f"not JSON ({exc}): {_short(payload)}") from None
        raw = get_path(obj, self.envelope_keys)
        if raw is MISSING:
            raise self._fail(topic, f"envelope {self.envelope.path!r}", "missing")
        try:
            return unembed(raw, self.envelope.embed)
        except ConversionError as exc:
            raise self._fail(topic, f"envelope {self.envelope.path!r}", exc) from None

    def decode(
        self, device_id: str, topic: str, payload: bytes, received_at: float
    ) -> list[Reading]:
        frame = self.frame(topic, payload)
        size = self.struct.size
        n = len(frame)
        if n < size or (n != size and not self.has_block) or (n - size) % 6:
            expect = f"{size} + 6·k bytes" if self.has_block else f"{size} bytes"
            raise self._fail(topic, "payload", f"{n} bytes, expected {expect}: {_short(frame)}")
        header = self.struct.unpack_from(frame)
        for i, name, want in self.consts:
            if header[i] != want:
                raise self._fail(
                    topic, f"field {name!r}", f"expected {want:#x}, got {header[i]:#x}"
                )
        ts = float(received_at)
        if self.ts_index >= 0:
            try:
                ts = self.clock.decode(header[self.ts_index])
            except ConversionError as exc:
                raise self._fail(topic, f"timestamp {self.clock.path!r}", exc) from None
        out: list[Reading] = []
        for f in self.header_fields:
            raw = header[f.index]
            if f.bit is not None:
                raw = (raw >> f.bit) & 1
            elif raw == f.absent:
                continue
            value = self._convert(f, raw, topic)
            if value is not SKIP:
                out.append(Reading(device_id, ts, f.kind, value=value, unit=f.unit))
        if self.block_fields:
            block = memoryview(frame)[size:]
            for f in self.block_fields:
                reading = self._reading(f, device_id, ts, self._convert(f, block, topic))
                if reading is not None:
                    out.append(reading)
        return out

    def encode(self, values: Mapping[str, Any], ts: float) -> bytes:
        raw = list(self.defaults)
        written: dict[int, CompiledField] = {}
        for f in self.header_fields:
            value = values.get(f.kind.value)
            if _not_given(value):
                if f.absent is not MISSING:
                    raw[f.index] = f.absent
                continue
            r = self._raw(f, value)
            if r is SKIP:
                continue
            if f.bit is not None:
                raw[f.index] = (int(raw[f.index]) & ~(1 << f.bit)) | (int(r) & 1) << f.bit
                continue
            if f.index in written and not _same(raw[f.index], r):
                raise EncodeError(
                    f"{self.profile_id}: {f.kind.value} and {written[f.index].kind.value} both "
                    f"write field {f.path!r}, with different values ({r!r}, {raw[f.index]!r})"
                )
            raw[f.index] = r
            written[f.index] = f
        if self.ts_index >= 0:
            raw[self.ts_index] = self.clock.encode(ts)
        frame = self._pack(raw) + self._block(values)
        if self.envelope is None:
            return frame
        obj: dict[str, Any] = {}
        put_path(obj, self.envelope_keys, embed_bytes(frame, self.envelope.embed))
        return json.dumps(obj, separators=(",", ":")).encode()

    def _pack(self, raw: list[Any]) -> bytes:
        try:
            return self.struct.pack(*raw)
        except struct.error:
            for lf, st, value in zip(self.layout, self.item_structs, raw, strict=True):
                try:
                    st.pack(value)
                except struct.error as exc:
                    raise EncodeError(
                        f"{self.profile_id}: field {lf.name!r} ({lf.type}) cannot hold {value!r}: "
                        f"{exc}"
                    ) from None
            raise

    def _block(self, values: Mapping[str, Any]) -> bytes:
        parts = []
        for f in self.block_fields:
            value = values.get(f.kind.value)
            if value is not None:
                parts.append(self._raw(f, np.asarray(value, dtype=np.float64)))
        return b"".join(parts)

    def score(self, payload: bytes) -> float | None:
        try:
            frame = self.frame("", payload)
        except DecodeError:
            return None
        size = self.struct.size
        if len(frame) < size:
            return None
        header = self.struct.unpack_from(frame)
        if any(header[i] != want for i, _, want in self.consts):
            return None
        return float(len(self.consts))
