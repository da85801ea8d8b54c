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
        messages = prof.encode_messages(rep.device_id, values, ts=rep.ts, z2m=self.z2m)
        qos = self._qos(rep.values)
        return [Outgoing(rep.ts, topic, payload, qos, rep.device_id) for topic, payload in messages]

    def _qos(self, values: Mapping[str, Any]) -> int:
        if self.qos is not None:
            return self.qos
        return 1 if URGENT_KEYS.intersection(values) else 0
