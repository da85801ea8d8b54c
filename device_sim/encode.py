"""Turn device reports into MQTT messages with the same firmware profiles the gateway decodes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from device_sim.faults import Outgoing
from device_sim.profiles import profile
from device_sim.streams import DeviceReport
from protocol.home import HomeManifest

# Messages carrying any of these keys go out with QoS 1: they may raise an alarm.
URGENT_KEYS = frozenset({"sos", "cancel", "door_open", "radar_fall"})
# Zigbee2MQTT publishes at QoS 0 unless a device's `qos` is set; the install guide sets 1
# for SOS buttons and door contacts.
ZIGBEE_QOS1_FAMILIES = frozenset({"button", "door"})
# What Zigbee2MQTT never keeps in a device's cached state (`action`; lib/state.ts).
UNCACHED = frozenset({"sos", "cancel"})


class Encoder:
    """Encodes reports of the devices of one or more homes."""

    def __init__(
        self, homes: list[HomeManifest], *, qos: int | None = None, z2m: str | None = None
    ) -> None:
        self._profiles: dict[str, Any] = {}
        self.z2m = z2m  # "2.x": Zigbee2MQTT 2.x field names (illuminance, not illuminance_lux)
        for home in homes:
            for dev in home.devices:
                self._profiles[dev.device_id] = profile(dev.profile)
        self.qos = qos
        # Last worn state per device: a band's frame always says whether it is worn, so a
        # report that does not mention it (a battery heartbeat, an accel burst) carries it on.
        self._worn: dict[str, bool] = {}
        # Zigbee2MQTT's cache_state (its default): every message of a device carries the
        # device's whole cached state, new values merged in.
        self._cached: dict[str, dict[str, Any]] = {
            d: {} for d, p in self._profiles.items() if p.zigbee2mqtt_base is not None
        }

    def encode(self, rep: DeviceReport) -> Outgoing:
        """One report as one message; EncodeError (from the profile) names the profile, and
        a report a plain (ESPHome) device sends as several messages is one (encode_all)."""
        messages = self.encode_all(rep)
        if len(messages) != 1:
            raise ValueError(
                f"{rep.device_id}: the report {sorted(rep.values)} is {len(messages)} messages"
            )
        return messages[0]

    def encode_all(self, rep: DeviceReport) -> list[Outgoing]:
        """Every message of one report: one, or one per value for an ESPHome node."""
        prof = self._profiles[rep.device_id]
        values: Mapping[str, Any] = rep.values
        if "worn" in prof.kinds:
            if "worn" in values:
                self._worn[rep.device_id] = bool(values["worn"])
            else:
                values = {**values, "worn": self._worn.get(rep.device_id, True)}
        cached = self._cached.get(rep.device_id)
        if cached is not None:
            values = {**cached, **values}
            cached.update((k, v) for k, v in rep.values.items() if k not in UNCACHED)
        messages = prof.encode_messages(rep.device_id, values, ts=rep.ts, z2m=self.z2m)
        qos = self._qos(prof, rep.values)
        return [Outgoing(rep.ts, topic, payload, qos, rep.device_id) for topic, payload in messages]

    def _qos(self, prof: Any, values: Mapping[str, Any]) -> int:
        if self.qos is not None:
            return self.qos
        if prof.zigbee2mqtt_base is not None:
            return 1 if prof.family in ZIGBEE_QOS1_FAMILIES else 0
        return 1 if URGENT_KEYS.intersection(values) else 0
