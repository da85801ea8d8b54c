"""Zigbee2MQTT's own messages, as the simulator plays them.

Shapes follow Zigbee2MQTT's sources (lib/extension/bridge.ts, availability.ts, state.ts):
``<base>/bridge/state`` and ``<base>/<name>/availability`` are retained, ``{"state":...}``
in 2.x and plain text in 1.x (its legacy payload); ``<base>/bridge/devices`` is a retained
list of devices with ``friendly_name``, ``ieee_address``, ``type``, ``power_source`` and a
``definition`` (``model``, ``vendor``, ...). Availability goes offline once a device has
been silent for Zigbee2MQTT's timeout (10 min active, 25 h passive) and online with its
next message. Everything is QoS 0, Zigbee2MQTT's default.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from device_sim.faults import Outgoing
from device_sim.profiles import profile
from protocol.home import HomeManifest

Version = Literal[1, 2]


def ieee_address(device_id: str) -> str:
    """A stable made-up IEEE address for a simulated device (Xiaomi's 0x00158d prefix)."""
    return "0x00158d00" + hashlib.sha256(device_id.encode()).hexdigest()[:8]


def state_payload(online: bool, version: Version) -> bytes:
    """``online``/``offline`` as Zigbee2MQTT ``version`` publishes it."""
    state = "online" if online else "offline"
    return json.dumps({"state": state}).encode() if version == 2 else state.encode()


def device_entry(device_id: str, prof: Any) -> dict[str, Any]:
    """One device of ``bridge/devices``."""
    mains = prof.power == "mains"
    models = prof.zigbee2mqtt_models or (prof.model,)
    return {
        "ieee_address": ieee_address(device_id),
        "type": "Router" if mains else "EndDevice",
        "network_address": int(ieee_address(device_id)[-4:], 16),
        "supported": True,
        "friendly_name": device_id,
        "disabled": False,
        "definition": {
            "model": models[0],
            "vendor": prof.vendor,
            "description": prof.description,
            "exposes": [],
            "options": [],
            "supports_ota": False,
        },
        "power_source": "Mains (single phase)" if mains else "Battery",
        "model_id": prof.spec.recognise.zigbee_model,
        "interview_completed": True,
        "interviewing": False,
    }


def interview_event(device_id: str, prof: Any) -> bytes:
    """The ``bridge/event`` of a successful interview of a new device."""
    entry = device_entry(device_id, prof)
    data = {
        "friendly_name": device_id,
        "status": "successful",
        "ieee_address": entry["ieee_address"],
        "supported": True,
        "definition": entry["definition"],
    }
    return json.dumps({"type": "device_interview", "data": data}).encode()


@dataclass
class _Watch:
    topic: str
    timeout_s: float
    last: float
    online: bool = True


class Zigbee2MQTTBridge:
    """The Zigbee2MQTT in front of the simulated homes' Zigbee devices."""

    def __init__(self, homes: list[HomeManifest], *, version: Version = 2) -> None:
        self.version = version
        self.devices: dict[str, list[dict[str, Any]]] = {}  # base -> bridge/devices
        self._watch: dict[str, _Watch] = {}
        for home in homes:
            for dev in home.devices:
                prof = profile(dev.profile)
                base, timeout = prof.zigbee2mqtt_base, prof.offline_timeout_s
                if base is None or timeout is None:
                    continue
                self.devices.setdefault(base, []).append(device_entry(dev.device_id, prof))
                topic = prof.availability_topic_for(dev.device_id)
                self._watch[dev.device_id] = _Watch(topic, timeout, float("-inf"))

    def startup(self, ts: float) -> list[Outgoing]:
        """What Zigbee2MQTT publishes (retained) when it starts: state, devices, availability."""
        out = []
        for base, devices in self.devices.items():
            online = state_payload(True, self.version)
            out.append(Outgoing(ts, f"{base}/bridge/state", online, 0, "", retain=True))
            body = json.dumps(devices).encode()
            out.append(Outgoing(ts, f"{base}/bridge/devices", body, 0, "", retain=True))
        for device_id, w in self._watch.items():
            w.last, w.online = ts, True
            out.append(self._availability(ts, device_id, w))
        return out

    def heard(self, msg: Outgoing) -> list[Outgoing]:
        """A device message went out: its availability comes back online first, if it was off."""
        w = self._watch.get(msg.device_id)
        if w is None or msg.topic == w.topic:
            return []
        w.last = max(w.last, msg.ts)
        if w.online:
            return []
        w.online = True
        return [self._availability(msg.ts, msg.device_id, w)]

    def due(self, now: float) -> list[Outgoing]:
        """Availability offline for the devices silent past their timeout by ``now``."""
        out = []
        for device_id, w in self._watch.items():
            if w.online and now - w.last >= w.timeout_s:
                w.online = False
                out.append(self._availability(w.last + w.timeout_s, device_id, w))
        return sorted(out, key=lambda m: m.ts)

    def _availability(self, ts: float, device_id: str, w: _Watch) -> Outgoing:
        payload = state_payload(w.online, self.version)
        return Outgoing(ts, w.topic, payload, 0, device_id, retain=True)
