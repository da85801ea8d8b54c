"""Online/offline messages: a device's (or its bridge's) availability topic.

Zigbee2MQTT 1.x publishes plain ``online``/``offline`` (its legacy payload); 2.x publishes
``{"state":"online"}``; ESPHome's ``<node>/status`` is plain ``online``/``offline``. One
reader takes all three.
"""

from __future__ import annotations

import json

from firmware_profiles.errors import DecodeError
from firmware_profiles.schema import ProfileSpec

# Zigbee2MQTT's availability defaults (lib/extension/availability.ts; docs "Device
# availability"): an active device (router / mains powered) must check in every 10 min,
# a passive (battery) one every 25 h, or Zigbee2MQTT marks it offline.
ZIGBEE2MQTT_ACTIVE_TIMEOUT_S = 10 * 60.0
ZIGBEE2MQTT_PASSIVE_TIMEOUT_S = 25 * 3600.0


def availability_state(payload: bytes, *, online: str = "online", offline: str = "offline") -> bool:
    """True for online, False for offline; DecodeError for anything else.

    ``payload`` is the state as plain text, or a JSON object whose ``state`` is it.
    """
    text = payload.decode("utf-8", errors="replace").strip()
    state: object = text
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise DecodeError(f"availability payload is not valid JSON: {exc}") from None
        if not isinstance(obj, dict) or "state" not in obj:
            raise DecodeError(f"availability payload {text[:60]!r} has no 'state'")
        state = obj["state"]
    if state == online:
        return True
    if state == offline:
        return False
    raise DecodeError(
        f"availability state {str(state)[:40]!r} is neither {online!r} nor {offline!r}"
    )


def zigbee2mqtt_timeout_s(power: str) -> float:
    """Zigbee2MQTT's default availability timeout for a device of this power source."""
    return ZIGBEE2MQTT_ACTIVE_TIMEOUT_S if power == "mains" else ZIGBEE2MQTT_PASSIVE_TIMEOUT_S


def offline_timeout_s(spec: ProfileSpec) -> float | None:
    """Silence after which a device of ``spec`` is offline, when the profile follows
    Zigbee2MQTT's availability defaults; None: its heartbeat rule decides."""
    avail = spec.availability
    if avail is None or avail.timeouts != "zigbee2mqtt":
        return None
    return zigbee2mqtt_timeout_s(spec.power)
