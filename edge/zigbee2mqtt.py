"""Zigbee2MQTT's bridge topics: its state, its device list, its events, and joining.

``<base>/bridge/state`` is ``{"state":"online"}`` (2.x) or plain ``online`` (1.x), retained,
with ``offline`` as the bridge's last will. ``<base>/bridge/devices`` (retained) lists every
device with its ``friendly_name``, ``ieee_address`` and ``definition`` (``model``,
``vendor``; null while unsupported or not interviewed). ``<base>/bridge/event`` carries
``{"type":"device_interview","data":{"status":"successful",...}}`` when a device has joined
and been interviewed. Joining is opened by ``<base>/bridge/request/permit_join``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

STATE = "bridge/state"
DEVICES = "bridge/devices"
EVENT = "bridge/event"
PERMIT_JOIN = "bridge/request/permit_join"
PERMIT_JOIN_RESPONSE = "bridge/response/permit_join"
MAX_JOIN_S = 254  # the longest a Zigbee permit-join lasts


class BridgeMessageError(ValueError):
    """A bridge message that does not have the shape Zigbee2MQTT gives it."""


@dataclass(frozen=True, slots=True)
class BridgeDevice:
    """One device as Zigbee2MQTT knows it."""

    friendly_name: str
    ieee_address: str
    model: str | None  # definition.model; None while unsupported or not interviewed
    vendor: str | None
    type: str = ""  # Coordinator, Router, EndDevice
    power_source: str | None = None

    def label(self) -> str:
        """``vendor model`` or ``unsupported``, for messages."""
        return f"{self.vendor or '?'} {self.model}" if self.model else "unsupported"


def _device(obj: Any, where: str) -> BridgeDevice:
    if not isinstance(obj, dict):
        raise BridgeMessageError(f"{where}: expected an object, got {type(obj).__name__}")
    name, ieee = obj.get("friendly_name"), obj.get("ieee_address")
    if not isinstance(name, str) or not isinstance(ieee, str):
        raise BridgeMessageError(f"{where}: friendly_name and ieee_address must be text")
    definition = obj.get("definition")
    model = vendor = None
    if isinstance(definition, dict):
        model = definition.get("model")
        vendor = definition.get("vendor")
        if not isinstance(model, str) or not isinstance(vendor, str | None):
            raise BridgeMessageError(f"{where} ({name}): definition.model must be text")
    elif definition is not None:
        raise BridgeMessageError(f"{where} ({name}): definition must be an object or null")
    power = obj.get("power_source")
    return BridgeDevice(
        name,
        ieee,
        model,
        vendor,
        type=str(obj.get("type", "")),
        power_source=power if isinstance(power, str) else None,
    )


def _json(payload: bytes, topic: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise BridgeMessageError(f"{topic}: not JSON: {exc}") from None


def parse_devices(payload: bytes) -> dict[str, BridgeDevice]:
    """``bridge/devices`` as friendly name -> device (the coordinator left out)."""
    data = _json(payload, DEVICES)
    if not isinstance(data, list):
        raise BridgeMessageError(f"{DEVICES}: expected a list of devices")
    devices = [_device(obj, f"{DEVICES}[{i}]") for i, obj in enumerate(data)]
    return {d.friendly_name: d for d in devices if d.type != "Coordinator"}


def parse_interview(payload: bytes) -> BridgeDevice | None:
    """The device of a successful ``device_interview`` event; None for any other event."""
    data = _json(payload, EVENT)
    if not isinstance(data, dict) or data.get("type") != "device_interview":
        return None
    body = data.get("data")
    if not isinstance(body, dict) or body.get("status") != "successful":
        return None
    return _device(body, f"{EVENT} device_interview")


def permit_join_payload(seconds: int = MAX_JOIN_S) -> bytes:
    """The permit-join request both major versions take.

    Zigbee2MQTT 2.x reads ``time`` (0 closes joining) and ignores ``value``; 1.x requires
    ``value`` (true/false) and reads ``time`` beside it (lib/extension/bridge.ts).
    """
    if not 0 <= seconds <= MAX_JOIN_S:
        raise ValueError(f"permit-join time must be 0..{MAX_JOIN_S} s, got {seconds}")
    return json.dumps({"time": seconds, "value": seconds > 0}).encode()
