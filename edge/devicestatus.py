"""What each paired device last said: last seen, battery, signal, latest values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from protocol import HomeManifest, Reading, ReadingKind

if TYPE_CHECKING:
    from edge.zigbee2mqtt import BridgeDevice

ONLINE_FACTOR = 2.5  # a device is online if heard within this many heartbeat intervals


@dataclass(slots=True)
class DeviceState:
    """One paired device's latest state."""

    device_id: str
    profile: str
    room: str
    heartbeat_s: float
    last_seen: float | None = None
    messages: int = 0
    battery: float | None = None
    link_quality: float | None = None
    values: dict[str, str] = field(default_factory=dict)
    model: str | None = None  # what Zigbee2MQTT's bridge/devices says it is
    ieee_address: str | None = None


class DeviceBoard:
    """Latest state of every paired device of a home."""

    def __init__(self, home: HomeManifest, heartbeat_s: dict[str, float]) -> None:
        self.devices = {
            d.device_id: DeviceState(
                d.device_id, d.profile, d.room, heartbeat_s.get(d.device_id, 300.0)
            )
            for d in home.devices
        }

    def reconcile(self, home: HomeManifest, heartbeat_s: dict[str, float]) -> None:
        """Take a new manifest's devices: new ones added, changed ones updated, what was
        seen of the others kept (removed ones go with ``prune``, once nothing queued needs
        them)."""
        for d in home.devices:
            beat = heartbeat_s.get(d.device_id, 300.0)
            dev = self.devices.get(d.device_id)
            if dev is None:
                self.devices[d.device_id] = DeviceState(d.device_id, d.profile, d.room, beat)
            else:
                dev.profile, dev.room, dev.heartbeat_s = d.profile, d.room, beat

    def prune(self, keep: set[str]) -> None:
        """Forget the devices not in ``keep``."""
        for device_id in self.devices.keys() - keep:
            del self.devices[device_id]

    def update(self, device_id: str, readings: list[Reading], received_at: float) -> None:
        """Record a decoded message."""
        dev = self.devices.get(device_id)
        if dev is None:
            return
        dev.last_seen, dev.messages = received_at, dev.messages + 1
        for r in readings:
            if r.kind is ReadingKind.BATTERY and isinstance(r.value, int | float):
                dev.battery = float(r.value)
            elif r.kind is ReadingKind.LINK_QUALITY and isinstance(r.value, int | float):
                dev.link_quality = float(r.value)
            elif r.samples is not None:
                dev.values[r.kind.value] = f"block[{len(r.samples)}]"
            else:
                dev.values[r.kind.value] = str(r.value)[:16]

    def identify(self, device_id: str, found: BridgeDevice | None) -> None:
        """Record what Zigbee2MQTT's device list says the device is."""
        dev = self.devices.get(device_id)
        if dev is not None:
            dev.model = found.label() if found else None
            dev.ieee_address = found.ieee_address if found else None

    def online(self, now: float) -> int:
        """Devices heard within ONLINE_FACTOR heartbeat intervals."""
        return sum(
            1
            for d in self.devices.values()
            if d.last_seen is not None and now - d.last_seen <= ONLINE_FACTOR * d.heartbeat_s
        )
