"""The home's Zigbee network: one ``zigbee_offline`` alarm while Zigbee2MQTT is offline.

Zigbee2MQTT publishes ``<base>/bridge/state`` (retained), ``online`` when it runs and
``offline`` as its last will when it stops or its process dies. A dead coordinator or a
stopped bridge silences every Zigbee device at once: that is one gateway-level alarm, not
one ``device_offline`` per device (those are held meanwhile, see device_health). The
alarm clears when the bridge says ``online`` again.
"""

from __future__ import annotations

from typing import Any, ClassVar

from edge.detectors.base import Detection, Detector
from protocol import AlarmKind, Reading, ReadingKind


class ZigbeeBridgeDetector(Detector):
    """Home-wide: the Zigbee2MQTT bridge at ``bridge_base`` is offline."""

    type: ClassVar[str] = "zigbee_bridge"
    kinds: ClassVar[frozenset[ReadingKind]] = frozenset()

    def __init__(self, *, bridge_base: str) -> None:
        super().__init__()
        self.bridge_base = bridge_base
        self.offline_since: float | None = None

    def feed(self, reading: Reading) -> list[Detection]:
        """No readings: the bridge speaks through ``bridge()`` only."""
        return []

    def bridge(self, online: bool, ts: float) -> list[Detection]:
        """Raise on offline, clear on online; repeats (retained replays) change nothing."""
        if online == (self.offline_since is None):
            return []
        start = ts if self.offline_since is None else self.offline_since
        self.offline_since = None if online else ts
        return [
            Detection(
                kind=AlarmKind.ZIGBEE_OFFLINE,
                detector=self.type,
                ts=ts,
                active=not online,
                message="Zigbee2MQTT back online"
                if online
                else f"Zigbee2MQTT ({self.bridge_base}) offline: no Zigbee device is heard",
                details={"bridge": str(self.bridge_base), "offline_since": start},
                evidence=(
                    {
                        "device_id": self.bridge_base,
                        "kind": "bridge_state",
                        "ts": ts,
                        "value": "online" if online else "offline",
                    },
                ),
            )
        ]

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {"offline_since": self.offline_since}

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.offline_since = state.get("offline_since")
