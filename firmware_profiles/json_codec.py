"""JSON payloads: one object per message, fields by dotted path."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from firmware_profiles.codec import Clock, PayloadCodec, not_given, same_value, short
from firmware_profiles.converters import SKIP
from firmware_profiles.errors import (
    ConversionError,
    DecodeError,
    EncodeError,
    PartialDecodeError,
)
from firmware_profiles.fields import MISSING, CompiledField, get_path, put_path, split_path
from firmware_profiles.schema import ProfileSpec
from protocol.readings import Reading


class JsonCodec(PayloadCodec):
    """A JSON object per message; fields by dotted path."""

    def __init__(self, spec: ProfileSpec) -> None:
        super().__init__(spec)
        self.clock = Clock(spec, integer=False)
        self.constants = [(split_path(p), p, v) for p, v in spec.recognise.constants.items()]
        self.required_keys = [split_path(p) for p in spec.recognise.required]
        self.known_keys = frozenset(spec.recognise.keys)

    def parse(self, topic: str, payload: bytes) -> dict[str, Any]:
        """The payload as a JSON object."""
        try:
            obj = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._fail(topic, "payload", f"not JSON ({exc}): {short(payload)}") from None
        if not isinstance(obj, dict):
            raise self._fail(topic, "payload", f"not a JSON object: {short(payload)}")
        return obj

    def decode(
        self, device_id: str, topic: str, payload: bytes, received_at: float
    ) -> list[Reading]:
        return self.decode_object(device_id, topic, self.parse(topic, payload), received_at)

    def decode_object(
        self, device_id: str, topic: str, obj: dict[str, Any], received_at: float
    ) -> list[Reading]:
        """Readings from an already parsed JSON object.

        Keys the profile does not map are ignored. A field or timestamp that does not convert
        costs only itself: the other readings come back inside a PartialDecodeError.
        """
        for keys, path, want in self.constants:
            got = get_path(obj, keys)
            if got != want or got.__class__ is not want.__class__:
                raise self._fail(topic, f"field {path!r}", f"expected {want!r}, got {got!r}")
        problems: list[str] = []
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
                    if clock.required:
                        raise self._fail(topic, f"timestamp {clock.path!r}", exc) from None
                    problems.append(f"timestamp {clock.path!r}: {exc} (arrival time used)")
        out: list[Reading] = []
        for f in self.fields:
            raw = get_path(obj, f.keys)
            if (raw is MISSING or raw is None) and f.alt_keys:
                raw = get_path(obj, f.alt_keys)
            if raw is MISSING or raw is None:
                if f.required:
                    raise self._fail(topic, f"field {f.path!r} ({f.kind.value})", "missing")
                continue
            if raw == f.absent and raw.__class__ is not bool:
                continue
            try:
                value = self._convert(f, raw, topic)
            except DecodeError as exc:
                if f.required:
                    raise
                problems.append(str(exc).removeprefix(f"{self.profile_id}: topic {topic!r}: "))
                continue
            if value is not SKIP:
                reading = self._reading(f, device_id, ts, value)
                if reading is not None:
                    out.append(reading)
        if problems:
            message = f"{self.profile_id}: topic {topic!r}: {'; '.join(problems)}"
            if out:
                raise PartialDecodeError(message, out)
            raise DecodeError(message)
        return out

    def encode(self, values: Mapping[str, Any], ts: float, *, z2m: str | None = None) -> bytes:
        obj = self.encode_object(values, ts, z2m=z2m)
        return json.dumps(obj, separators=(",", ":")).encode()

    def encode_object(
        self, values: Mapping[str, Any], ts: float, *, z2m: str | None = None
    ) -> dict[str, Any]:
        """The JSON object carrying ``values``; ``z2m="2.x"`` writes Zigbee2MQTT 2.x names."""
        obj: dict[str, Any] = {}
        for keys, _, want in self.constants:
            put_path(obj, keys, want)
        if self.clock.present:
            put_path(obj, self.clock.keys, self.clock.encode(ts))
        writers: dict[tuple[str, ...], CompiledField] = {}
        for f in self.fields:
            value = values.get(f.kind.value)
            if not_given(value):
                if f.required:
                    raise EncodeError(f"{self.profile_id}: {f.kind.value} is required")
                continue
            raw = self._raw(f, value)
            if raw is SKIP:
                continue
            keys = f.alt_keys if z2m == "2.x" and f.alt_keys else f.keys
            old = put_path(obj, keys, raw)
            if keys in writers and not same_value(old, raw):
                raise EncodeError(
                    f"{self.profile_id}: {f.kind.value} and {writers[keys].kind.value} "
                    f"both write field {f.path!r}, with different values ({raw!r}, {old!r})"
                )
            writers[keys] = f
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
        # A value only the catch-all `otherwise` takes is one this model is not known to send.
        strange = sum(1 for f in self.fields if f.known_raw is not None and _strange(obj, f))
        if not self.known_keys:
            return float(len(self.required_keys) + len(self.constants) - strange)
        known = sum(1 for k in obj if k in self.known_keys)
        return float(known - (len(obj) - known) - strange)


def _strange(obj: dict[str, Any], f: CompiledField) -> bool:
    raw = get_path(obj, f.keys)
    if raw is MISSING or raw is None or f.known_raw is None:
        return False
    try:
        return raw not in f.known_raw
    except TypeError:
        return True
