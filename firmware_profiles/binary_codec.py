"""Binary payloads: a struct header, optionally followed by a block of int16 x/y/z samples."""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from firmware_profiles.codec import Clock, PayloadCodec, not_given, same_value, short
from firmware_profiles.converters import SKIP
from firmware_profiles.errors import ConversionError, DecodeError, EncodeError
from firmware_profiles.fields import (
    MISSING,
    CompiledField,
    embed_bytes,
    get_path,
    put_path,
    split_path,
    unembed,
)
from firmware_profiles.schema import STRUCT_CODES, ProfileSpec
from protocol.readings import Reading


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
        self.clock = Clock(spec, integer=not ts_type.startswith("f"))
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
            raise self._fail(topic, "payload", f"not JSON ({exc}): {short(payload)}") from None
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
            raise self._fail(topic, "payload", f"{n} bytes, expected {expect}: {short(frame)}")
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

    def encode(self, values: Mapping[str, Any], ts: float, *, z2m: str | None = None) -> bytes:
        raw = list(self.defaults)
        written: dict[int, CompiledField] = {}
        for f in self.header_fields:
            value = values.get(f.kind.value)
            if not_given(value):
                if f.absent is not MISSING:
                    raw[f.index] = f.absent
                continue
            r = self._raw(f, value)
            if r is SKIP:
                continue
            if f.bit is not None:
                raw[f.index] = (int(raw[f.index]) & ~(1 << f.bit)) | (int(r) & 1) << f.bit
                continue
            if f.index in written and not same_value(raw[f.index], r):
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
