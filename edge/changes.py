"""Change detection: a repeated state value is a check-in, not an event.

Zigbee2MQTT republishes a device's whole cached state with every check-in (its default
``cache_state: true``), and ESPHome republishes its retained states on every reconnect: an
unchanged ``contact: true`` an hour later says the device is alive, not that the door
moved. The gateway keeps each device's last value of every state kind
(``protocol.readings.is_state_kind``: built-in or declared as data) and lets a state
reading through to the detectors only when the value changed. Event kinds (SOS, cancel),
measurements and blocks always pass. A message left with nothing to say becomes one
``heartbeat`` reading, so the device is still seen alive.

The very first value of a kind from a device (just installed, or no saved state) counts as
a change: an event that might matter is never swallowed; at worst one check-in after an
install counts as activity once. The last values are saved with the detectors' state, so a
restart does not turn the next repeat into a transition.
"""

from __future__ import annotations

from typing import Any

from protocol import Reading, ReadingKind
from protocol.readings import Kind, Scalar, is_state_kind, kind_named


class ChangeFilter:
    """Last state value per device and kind; passes transitions, swallows repeats."""

    __slots__ = ("last", "repeats")

    def __init__(self) -> None:
        self.last: dict[tuple[str, Kind], Scalar] = {}
        self.repeats = 0

    def filter(self, readings: list[Reading]) -> list[Reading]:
        """The readings of one message the detectors must see (never empty if given any)."""
        out: list[Reading] = []
        last = self.last
        for r in readings:
            if is_state_kind(r.kind) and r.samples is None:
                key = (r.device_id, r.kind)
                if key in last and last[key] == r.value:
                    self.repeats += 1
                    continue
                last[key] = r.value
            out.append(r)
        if not out and readings:
            first = readings[0]
            out.append(Reading(first.device_id, first.ts, ReadingKind.HEARTBEAT))
        return out

    def forget(self, device_ids: tuple[str, ...] | set[str]) -> None:
        """Drop the last values of devices no longer paired (a re-paired one starts fresh)."""
        gone = set(device_ids)
        for key in [k for k in self.last if k[0] in gone]:
            del self.last[key]

    def state(self) -> dict[str, dict[str, Scalar]]:
        """JSON state: device id -> kind -> last value."""
        out: dict[str, dict[str, Scalar]] = {}
        for (device_id, kind), value in self.last.items():
            out.setdefault(device_id, {})[kind.value] = value
        return out

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``; kinds no longer known (or no longer states) are dropped."""
        self.last = {}
        for device_id, values in state.items():
            for name, value in values.items():
                try:
                    kind = kind_named(name)
                except ValueError:
                    continue
                if is_state_kind(kind):
                    self.last[(str(device_id), kind)] = value
