"""One plain value per topic, as ESPHome's MQTT client publishes its entities.

A node publishes ``<node>/binary_sensor/<object_id>/state`` = ``ON``/``OFF`` and
``<node>/sensor/<object_id>/state`` = ``42.50`` (its ``accuracy_decimals``; ``nan`` when the
sensor has no value), ``<node>/text_sensor/<object_id>/state`` = free text. A field's
``path`` is the topic below the device's own topic (``binary_sensor/falling_detected/state``).
The payload carries no time: a reading's time is the message's arrival.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from firmware_profiles.codec import PayloadCodec, not_given, short
from firmware_profiles.converters import SKIP
from firmware_profiles.errors import EncodeError
from firmware_profiles.fields import CompiledField
from firmware_profiles.schema import ProfileSpec
from firmware_profiles.topics import TopicPattern
from protocol.readings import Reading

PLAIN_TRUE = "ON"
PLAIN_FALSE = "OFF"


def parse_plain(payload: bytes) -> bool | float | str | None:
    """``ON``/``OFF`` -> bool, a number -> float, ``nan``/empty -> None, else the text."""
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError(f"not UTF-8 text: {short(payload)}") from None
    if text == PLAIN_TRUE:
        return True
    if text == PLAIN_FALSE:
        return False
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else None


def format_plain(raw: Any, decimals: int | None) -> bytes:
    """A raw value as ESPHome writes it: ON/OFF, a number with ``decimals`` digits, text."""
    if isinstance(raw, bool):
        return (PLAIN_TRUE if raw else PLAIN_FALSE).encode()
    if isinstance(raw, int | float):
        if decimals is None:
            return repr(float(raw)).removesuffix(".0").encode()
        return f"{float(raw):.{decimals}f}".encode()
    return str(raw).encode()


class PlainCodec(PayloadCodec):
    """One plain value per topic; the topic below the device's says which field it is."""

    def __init__(self, spec: ProfileSpec) -> None:
        super().__init__(spec)
        self.topic = TopicPattern(spec.topic.pattern)
        self.by_path: dict[str, list[CompiledField]] = {}
        for f in self.fields:
            self.by_path.setdefault(f.path, []).append(f)
        self.decimals = {f.kind: f.decimals for f in spec.fields}

    def field_patterns(self) -> list[TopicPattern]:
        """One topic pattern per distinct field path, e.g. ``{device_id}/sensor/x/state``."""
        return [TopicPattern(f"{self.topic.pattern}/{path}") for path in self.by_path]

    def decode(
        self, device_id: str, topic: str, payload: bytes, received_at: float
    ) -> list[Reading]:
        base = self.topic.topic_for(device_id) + "/"
        fields = self.by_path.get(topic.removeprefix(base)) if topic.startswith(base) else None
        if fields is None:
            raise self._fail(topic, "topic", "no field of this profile is published there")
        try:
            raw = parse_plain(payload)
        except ValueError as exc:
            raise self._fail(topic, "payload", exc) from None
        out: list[Reading] = []
        if raw is None:
            return out
        for f in fields:
            if raw == f.absent and raw.__class__ is not bool:
                continue
            value = self._convert(f, raw, topic)
            if value is not SKIP:
                reading = self._reading(f, device_id, ts=float(received_at), value=value)
                if reading is not None:
                    out.append(reading)
        return out

    def encode(self, values: Mapping[str, Any], ts: float, *, z2m: str | None = None) -> bytes:
        messages = self.encode_messages("", values, ts)
        if len(messages) != 1:
            raise EncodeError(
                f"{self.profile_id}: {len(messages)} values are {len(messages)} messages "
                "(one plain value per topic): encode them one at a time"
            )
        return messages[0][1]

    def encode_messages(
        self, base_topic: str, values: Mapping[str, Any], ts: float, *, z2m: str | None = None
    ) -> list[tuple[str, bytes]]:
        """One (topic, payload) per given value, in field order."""
        out: list[tuple[str, bytes]] = []
        for f in self.fields:
            value = values.get(f.kind.value)
            if not_given(value):
                continue
            raw = self._raw(f, value)
            if raw is SKIP:
                continue
            out.append((f"{base_topic}/{f.path}", format_plain(raw, self.decimals[f.kind])))
        return out

    def score(self, payload: bytes) -> float | None:
        try:
            parse_plain(payload)
        except ValueError:
            return None
        return 0.0
