"""DeviceProfile: one device model's identity, topics and codec, built from its file."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from firmware_profiles.availability import availability_state, offline_timeout_s
from firmware_profiles.binary_codec import BinaryCodec
from firmware_profiles.codec import PayloadCodec
from firmware_profiles.errors import DecodeError, EncodeError
from firmware_profiles.json_codec import JsonCodec
from firmware_profiles.plain_codec import PlainCodec
from firmware_profiles.schema import Example, ProfileSpec
from firmware_profiles.topics import TopicPattern
from protocol.readings import Kind, Reading

log = logging.getLogger(__name__)


class DeviceProfile:
    """A device model: decode its payloads into readings, encode readings into its payloads."""

    def __init__(self, spec: ProfileSpec, source: Path | None = None) -> None:
        self.spec = spec
        self.source = source
        self.id = spec.id
        self.vendor = spec.vendor
        self.model = spec.model
        self.family = spec.family
        self.description = spec.description
        self.heartbeat_interval_s = float(spec.heartbeat_interval_s)
        self.sample_rate_hz = spec.sample_rate_hz
        self.priority = spec.recognise.priority
        self.zigbee2mqtt_models: tuple[str, ...] = tuple(spec.recognise.zigbee2mqtt_models)
        self.kinds: frozenset[Kind] = frozenset(f.kind for f in spec.fields)
        self._kind_names = frozenset(k.value for k in self.kinds)
        self._topic = TopicPattern(spec.topic.pattern)
        avail = spec.availability
        self._availability = TopicPattern(avail.topic) if avail is not None else None
        self._codec: PayloadCodec
        self._value_topics: list[TopicPattern] = []  # plain: one topic per value
        if spec.encoding.format == "json":
            self._codec = JsonCodec(spec)
        elif spec.encoding.format == "plain":
            plain = PlainCodec(spec)
            self._codec, self._value_topics = plain, plain.field_patterns()
        else:
            self._codec = BinaryCodec(spec)
        self.power = spec.power
        points = spec.battery_curve or []
        self._volts = np.array([v for v, _ in points], dtype=np.float64)
        self._percent = np.array([p for _, p in points], dtype=np.float64)

    def __repr__(self) -> str:
        return f"DeviceProfile({self.id!r}, {self.vendor} {self.model}, {self.family})"

    @property
    def topic_pattern(self) -> str:
        """The declared topic pattern, e.g. ``zigbee2mqtt/{device_id}``."""
        return self._topic.pattern

    @property
    def encoding(self) -> str:
        """``json``, ``binary``, or ``binary in json``."""
        enc = self.spec.encoding
        return f"binary in json ({enc.envelope.embed})" if enc.envelope else enc.format

    @property
    def examples(self) -> list[Example]:
        """The captured payloads shipped with the profile."""
        return list(self.spec.examples)

    def topic_for(self, device_id: str) -> str:
        """The topic the device ``device_id`` publishes to."""
        return self._topic.topic_for(device_id)

    def subscription(self) -> str:
        """MQTT filter covering every device of a profile with one topic per device.

        ValueError for a plain profile (one topic per value): use ``subscriptions()``.
        """
        if self._value_topics:
            raise ValueError(f"{self.id}: one topic per value; use subscriptions()")
        return self._topic.subscription()

    def subscriptions(self) -> list[str]:
        """MQTT filters covering every data topic of every device of this profile."""
        if self._value_topics:
            return sorted({p.subscription() for p in self._value_topics})
        return [self._topic.subscription()]

    def write_topic_filter(self, device_id: str) -> str:
        """What device ``device_id`` publishes to, as an ACL topic: a plain device's node
        (``<node>/#``: its entities and its status), else its one topic."""
        base = self._topic.topic_for(device_id)
        return f"{base}/#" if self._value_topics else base

    def device_id_from_topic(self, topic: str) -> str | None:
        """The device id in ``topic``, or None when the topic is not this profile's."""
        if self._value_topics:
            for pattern in self._value_topics:
                device_id = pattern.device_id(topic)
                if device_id is not None:
                    return device_id
            return None
        return self._topic.device_id(topic)

    @property
    def offline_timeout_s(self) -> float | None:
        """Silence after which the device is offline when its profile follows Zigbee2MQTT's
        availability defaults (by power); None: the heartbeat rule decides."""
        return offline_timeout_s(self.spec)

    @property
    def zigbee2mqtt_base(self) -> str | None:
        """The Zigbee2MQTT base topic (``zigbee2mqtt``) of a profile that follows
        Zigbee2MQTT's availability, whose data topic is ``<base>/{device_id}``; else None."""
        pattern = self._topic.pattern
        if self.offline_timeout_s is None or not pattern.endswith("/{device_id}"):
            return None
        return pattern.removesuffix("/{device_id}")

    def availability_subscription(self) -> str | None:
        """MQTT filter of every device's availability topic, or None without one."""
        return self._availability.subscription() if self._availability else None

    def availability_topic_for(self, device_id: str) -> str | None:
        """The availability topic of ``device_id``, or None without one."""
        return self._availability.topic_for(device_id) if self._availability else None

    def device_id_from_availability_topic(self, topic: str) -> str | None:
        """The device id in an availability ``topic``, or None when it is not one of ours."""
        return self._availability.device_id(topic) if self._availability else None

    def decode_availability(self, payload: bytes) -> bool:
        """True online, False offline; DecodeError names the profile and the payload."""
        avail = self.spec.availability
        if avail is None:
            raise DecodeError(f"{self.id}: this profile has no availability topic")
        try:
            return availability_state(payload, online=avail.online, offline=avail.offline)
        except DecodeError as exc:
            raise DecodeError(f"{self.id}: {exc}") from None

    def decode(self, topic: str, payload: bytes, *, received_at: float) -> list[Reading]:
        """Normalized readings in ``payload``; DecodeError names profile, topic and field."""
        device_id = self.device_id_from_topic(topic)
        if device_id is None:
            raise DecodeError(
                f"{self.id}: topic {topic!r} does not fit pattern {self._topic.pattern!r}"
            )
        return self._codec.decode(device_id, topic, payload, received_at)

    def encode(
        self, device_id: str, values: Mapping[str, Any], *, ts: float, z2m: str | None = None
    ) -> tuple[str, bytes]:
        """Topic and payload carrying ``values`` (keyed by ReadingKind value) at time ``ts``.

        ``z2m="2.x"`` writes the field names of Zigbee2MQTT 2.x where they differ from 1.x.

        Values may be numpy scalars; None or NaN means "not measured". ``accel`` is an (n, 3)
        array in g at ``sample_rate_hz``, its first sample at ``ts``. EncodeError names the
        profile, kind and field of a value that cannot be encoded.
        """
        messages = self.encode_messages(device_id, values, ts=ts, z2m=z2m)
        if len(messages) != 1:
            raise EncodeError(
                f"{self.id}: {sorted(values)} are {len(messages)} messages (one plain value "
                "per topic): use encode_messages()"
            )
        return messages[0]

    def encode_messages(
        self, device_id: str, values: Mapping[str, Any], *, ts: float, z2m: str | None = None
    ) -> list[tuple[str, bytes]]:
        """Every (topic, payload) carrying ``values``: one message, or for a plain profile
        (ESPHome) one per value. EncodeError as ``encode``."""
        unknown = [k for k in values if k not in self._kind_names]
        if unknown:
            raise EncodeError(
                f"{self.id}: cannot encode {sorted(unknown)}: "
                f"this profile carries {sorted(self._kind_names)}"
            )
        try:
            base = self._topic.topic_for(device_id)
        except ValueError as exc:
            raise EncodeError(f"{self.id}: {exc}") from None
        return self._codec.encode_messages(base, values, ts, z2m=z2m)

    def battery_percent(self, volts: float) -> float:
        """Battery charge in percent for a cell voltage, from the profile's battery curve.

        Raises ValueError for a mains-powered model, which declares no curve.
        """
        if not len(self._volts):
            raise ValueError(f"{self.id}: mains powered, no battery curve")
        return float(np.interp(volts, self._volts, self._percent))

    def recognition_score(self, topic: str, payload: bytes) -> float | None:
        """How well ``payload`` on ``topic`` fits this model; None when it is not this model."""
        if self.device_id_from_topic(topic) is None:
            return None
        score = self._codec.score(payload)
        if score is None:
            return None
        try:
            readings = self.decode(topic, payload, received_at=0.0)
        except DecodeError as exc:
            log.debug("%s does not decode: %s", self.id, exc)
            return None
        return score if readings else None
