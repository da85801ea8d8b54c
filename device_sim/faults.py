"""Fault injection on the outgoing message stream: garbage, duplicates, late delivery, and
a host clock reset (the Zigbee2MQTT host, a Raspberry Pi without RTC, booted at 1970: its
``last_seen`` counts from the epoch again)."""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from device_sim.episodes import TruthEvent

FAULT_KINDS = (
    "malformed",
    "duplicate",
    "out_of_order",
    "silent",
    "broker_restart",
    "clock_reset",
)
_STREAM_KINDS = ("malformed", "duplicate", "out_of_order", "clock_reset")


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: ``rate`` (share of messages hit) between ``at`` and ``at + duration_s``.

    ``silent`` becomes a device_offline episode; ``broker_restart`` is handed to the player's
    restart hook (or drops the simulator's own connection when there is none).
    """

    kind: str
    at: float
    duration_s: float = 0.0
    device_id: str | None = None
    rate: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)

    def active(self, ts: float) -> bool:
        """True while ``ts`` falls in the fault's window (open-ended when duration is 0)."""
        return ts >= self.at and (self.duration_s == 0 or ts < self.at + self.duration_s)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One MQTT message on its way out, with the simulated time it belongs to."""

    ts: float
    topic: str
    payload: bytes
    qos: int
    device_id: str
    retain: bool = False


_GARBAGE = (b'{"occupancy": tru', b"\x00\xff\xfe\x01", b"[]", b'{"battery": "lots"}', b"")


class FaultInjector:
    """Applies message faults; keeps late messages until their release time."""

    def __init__(self, faults: list[Fault], home_id_of: dict[str, str], seed: int) -> None:
        self.faults = [f for f in faults if f.kind in _STREAM_KINDS]
        self.home_id_of = home_id_of
        self.rng = np.random.default_rng([seed & 0xFFFFFFFF, 99])
        self.held: list[tuple[float, int, Outgoing]] = []
        self.truth: list[TruthEvent] = []
        self._n = 0

    def _hit(self, f: Fault, msg: Outgoing) -> bool:
        if not f.active(msg.ts) or (f.device_id is not None and f.device_id != msg.device_id):
            return False
        return bool(self.rng.random() < f.rate)

    def _note(self, msg: Outgoing, event: str, **details: Any) -> None:
        self.truth.append(
            TruthEvent(
                msg.ts,
                self.home_id_of.get(msg.device_id, ""),
                event,
                msg.device_id,
                None,
                0.0,
                {"topic": msg.topic, **details},
            )
        )

    def process(self, msg: Outgoing) -> list[Outgoing]:
        """What to send now in place of ``msg`` (none if it is held back)."""
        out = [msg]
        for f in self.faults:
            if not self._hit(f, msg):
                continue
            if f.kind == "malformed":
                bad = _GARBAGE[int(self.rng.integers(len(_GARBAGE)))]
                out = [Outgoing(msg.ts, msg.topic, bad, msg.qos, msg.device_id)]
                self._note(msg, "fault_malformed", payload=bad.decode("latin-1"))
            elif f.kind == "clock_reset":
                out = [_reset_clock(m, since=f.at) for m in out]
                self._note(msg, "fault_clock_reset")
            elif f.kind == "duplicate":
                out = out + out
                self._note(msg, "fault_duplicate")
            elif f.kind == "out_of_order":
                delay = float(self.rng.uniform(1.0, float(f.params.get("max_delay_s", 30.0))))
                self._n += 1
                heapq.heappush(self.held, (msg.ts + delay, self._n, msg))
                self._note(msg, "fault_out_of_order", delay_s=round(delay, 3))
                return []
        return out

    def release(self, until: float) -> list[Outgoing]:
        """Held messages whose release time is before ``until`` (everything if ``inf``)."""
        out = []
        while self.held and self.held[0][0] < until:
            out.append(heapq.heappop(self.held)[2])
        return out


def _reset_clock(msg: Outgoing, *, since: float) -> Outgoing:
    """``msg`` with its ``last_seen`` (epoch ms, as Zigbee2MQTT sends it) counted from a
    clock that restarted at 1970 when the fault began; other payloads unchanged."""
    try:
        data = json.loads(msg.payload)
    except ValueError:
        return msg
    if not isinstance(data, dict) or not isinstance(data.get("last_seen"), int):
        return msg
    data["last_seen"] = int((msg.ts - since) * 1000)
    payload = json.dumps(data, separators=(",", ":")).encode()
    return Outgoing(msg.ts, msg.topic, payload, msg.qos, msg.device_id)
