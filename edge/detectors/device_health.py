"""Device health: offline after missed heartbeats, low battery, tamper, band not worn for long.

Any reading from the device proves it alive. It is offline once ``missed_heartbeats``
intervals of its profile (plus ``grace_s``) pass without one, checked on ``tick``; the next
reading ends the condition. A profile that follows Zigbee2MQTT's availability sets the
silence instead (10 min mains, 25 h battery, plus ``grace_s``). The device's availability
topic marks it offline, or back, at once. While its Zigbee2MQTT bridge is offline the
silence rule is held (the bridge's one ``zigbee_offline`` alarm covers every device behind
it), and the silence counts again from the bridge's return. Battery low has hysteresis
(raise below ``battery_low``, clear above ``battery_clear``); tamper follows the device's
flag; off-wrist is raised when the band has not been worn for ``off_wrist_s`` and ends when
it is worn again. A device that
reports its battery voltage but no percentage has it turned into percent by its profile's
battery curve.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge.detectors.base import Detection, Detector
from edge.detectors.signal import Persistence, check_block, scalar_series
from protocol import AlarmKind, Reading, ReadingKind


class DeviceHealthConfig(BaseModel):
    """Device health limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["device_health"] = Field(
        default="device_health", title="Type", description="Detector type."
    )
    enabled: bool = Field(default=True, title="Enabled", description="Run this detector.")
    missed_heartbeats: float = Field(
        default=1.5, ge=1, title="Missed heartbeats", description="Intervals without a reading."
    )
    grace_s: float = Field(default=60.0, ge=0, title="Grace", description="Added slack, s.")
    battery_low: float = Field(default=15.0, title="Battery low", description="Raise below, %.")
    battery_clear: float = Field(default=25.0, title="Battery clear", description="Clear above, %.")
    off_wrist_s: float = Field(
        default=7200.0, gt=0, title="Off wrist", description="Not worn this long raises, s."
    )


class DeviceHealthDetector(Detector):
    """Health of one device."""

    type: ClassVar[str] = "device_health"
    kinds: ClassVar[frozenset[ReadingKind]] = frozenset(ReadingKind)

    def __init__(
        self,
        config: DeviceHealthConfig | None = None,
        *,
        device_id: str | None = None,
        room: str | None = None,
        heartbeat_interval_s: float = 300.0,
        offline_timeout_s: float | None = None,
        bridge_base: str | None = None,
        battery_curve: tuple[tuple[float, float], ...] = (),
    ) -> None:
        """``offline_timeout_s``: the profile's own silence limit (Zigbee2MQTT's), which
        replaces the heartbeat rule; ``bridge_base``: the Zigbee2MQTT it is heard through;
        ``battery_curve``: (volts, percent) points, ascending volts, for devices that
        report only a voltage."""
        super().__init__(device_id=device_id, room=room)
        self.cfg = config or DeviceHealthConfig()
        silence = offline_timeout_s or heartbeat_interval_s * self.cfg.missed_heartbeats
        self.timeout = silence + self.cfg.grace_s
        self.bridge_base = bridge_base
        self.held = False  # the bridge is offline: silence proves nothing
        self.last_seen: float | None = None
        self.open: dict[str, bool] = {}
        self.off_since: float | None = None
        self.battery = Persistence(0.0, 0.0, math.inf)
        self.battery_pct: float | None = None
        self.curve = np.asarray(battery_curve, dtype=np.float64).reshape(-1, 2)
        self.has_percent = False
        self.tamper = Persistence(0.0, 0.0, math.inf)

    def feed(self, reading: Reading) -> list[Detection]:
        """Note the device alive; follow battery, tamper and worn."""
        out: list[Detection] = []
        from_volts = (
            reading.kind == ReadingKind.VOLTAGE and len(self.curve) and not self.has_percent
        )
        if reading.kind in (ReadingKind.BATTERY, ReadingKind.TAMPER, ReadingKind.WORN):
            t, v = scalar_series(reading, self.type)
            self.has_percent |= reading.kind == ReadingKind.BATTERY
        elif from_volts:
            t, volts = scalar_series(reading, self.type)
            v = np.interp(volts, self.curve[:, 0], self.curve[:, 1])
        else:
            check_block(reading, self.type)
            t, v = np.array([reading.end_ts]), np.zeros(1)
        if not len(t):
            return out
        end = float(t[-1])
        if self.open.get(AlarmKind.DEVICE_OFFLINE):
            out.append(
                self._det(AlarmKind.DEVICE_OFFLINE, float(t[0]), False, "device back online")
            )
        self.last_seen = end if self.last_seen is None else max(self.last_seen, end)
        if reading.kind == ReadingKind.BATTERY or from_volts:
            self.battery_pct = round(float(v[-1]), 1)  # the latest, for the burn-in report
            for ts, on in self.battery.feed(
                t, v < self.cfg.battery_low, v > self.cfg.battery_clear
            ):
                value = float(v[int(np.searchsorted(t, ts))])
                msg = f"battery {value:.0f}%"
                out.append(self._det(AlarmKind.BATTERY_LOW, ts, on, msg, value))
        elif reading.kind == ReadingKind.TAMPER:
            for ts, on in self.tamper.feed(t, v != 0, v == 0):
                out.append(
                    self._det(AlarmKind.TAMPER, ts, on, "tamper" if on else "tamper cleared")
                )
        elif reading.kind == ReadingKind.WORN:
            worn = np.flatnonzero(v != 0)
            if len(worn) and worn[-1] == len(v) - 1:
                self.off_since = None
                if self.open.get(AlarmKind.OFF_WRIST):
                    out.append(self._det(AlarmKind.OFF_WRIST, float(t[worn[0]]), False, "worn"))
            else:
                if len(worn):
                    self.off_since = float(t[worn[-1] + 1])
                elif self.off_since is None:
                    self.off_since = float(t[0])
                out += self._off_wrist(end)
        return out

    def availability(self, online: bool, ts: float) -> list[Detection]:
        """Offline at once when the availability topic says so; back when it says online."""
        if online:
            self.last_seen = ts if self.last_seen is None else max(self.last_seen, ts)
            if self.open.get(AlarmKind.DEVICE_OFFLINE):
                return [self._det(AlarmKind.DEVICE_OFFLINE, ts, False, "reported online")]
            return []
        if self.open.get(AlarmKind.DEVICE_OFFLINE) or self.held:
            return []
        return [self._det(AlarmKind.DEVICE_OFFLINE, ts, True, "reported offline")]

    def bridge(self, online: bool, ts: float) -> list[Detection]:
        """Hold the silence rule while the bridge is offline; count again from its return."""
        if online and self.held:
            self.last_seen = ts if self.last_seen is None else max(self.last_seen, ts)
        self.held = not online
        return []

    def tick(self, now: float) -> list[Detection]:
        """Offline and off-wrist timers."""
        if self.last_seen is None:
            self.last_seen = now  # never heard from: count from the first tick
        out = self._off_wrist(now)
        if self.held:
            return out
        if not self.open.get(AlarmKind.DEVICE_OFFLINE) and now - self.last_seen >= self.timeout:
            msg = f"no reading for {now - self.last_seen:.0f} s"
            out.append(
                self._det(AlarmKind.DEVICE_OFFLINE, self.last_seen + self.timeout, True, msg)
            )
        return out

    def _off_wrist(self, now: float) -> list[Detection]:
        if self.off_since is None or self.open.get(AlarmKind.OFF_WRIST):
            return []
        if now - self.off_since < self.cfg.off_wrist_s:
            return []
        ts = self.off_since + self.cfg.off_wrist_s
        return [self._det(AlarmKind.OFF_WRIST, ts, True, "band not worn", self.cfg.off_wrist_s)]

    def _det(
        self, kind: AlarmKind, ts: float, active: bool, msg: str, value: float | None = None
    ) -> Detection:
        self.open[kind] = active
        return Detection(
            kind=kind,
            detector=self.type,
            ts=ts,
            active=active,
            device_id=self.device_id,
            room=self.room,
            message=msg,
            details={} if value is None else {"value": value},
            evidence=(
                {"device_id": self.device_id or "", "kind": kind.value, "ts": ts, "value": value},
            ),
        )

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {
            "last_seen": self.last_seen,
            "open": dict(self.open),
            "off_since": self.off_since,
            "battery": self.battery.state(),
            "tamper": self.tamper.state(),
            "has_percent": self.has_percent,
            "held": self.held,
            "battery_pct": self.battery_pct,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.last_seen = state["last_seen"]
        self.open = {k: bool(v) for k, v in state["open"].items()}
        self.off_since = state["off_since"]
        self.battery.restore(state["battery"])
        self.tamper.restore(state["tamper"])
        self.has_percent = bool(state["has_percent"])
        self.held = bool(state.get("held", False))
        self.battery_pct = state.get("battery_pct")
