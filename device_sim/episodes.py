"""Incidents injected into a simulated home, and the ground truth a run records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Episode kind -> the alarm kind it should cause (None: a normal event, no alarm due).
EPISODE_ALARMS: dict[str, str | None] = {
    "fall": "fall",
    "fall_recovered": "fall_recovered",  # on a waist pendant; a wristband alarms (see truth)
    "stop_moving": "inactivity",
    "night_wandering": "night_wandering",
    "tachycardia": "heart_rate_high",
    "bradycardia": "heart_rate_low",
    "spo2_low": "spo2_low",
    "sos": "sos",
    "device_offline": "device_offline",
    "battery_die": "battery_low",
    "off_wrist": "off_wrist",
    "go_out": None,
}

# Default length of each episode when the caller gives none (seconds).
DEFAULT_DURATION_S: dict[str, float] = {
    "fall": 1800.0,
    "fall_recovered": 60.0,
    "stop_moving": 4 * 3600.0,
    "night_wandering": 40 * 60.0,
    "tachycardia": 20 * 60.0,
    "bradycardia": 20 * 60.0,
    "spo2_low": 20 * 60.0,
    "sos": 0.0,
    "device_offline": 3 * 3600.0,
    "battery_die": 6 * 3600.0,
    "off_wrist": 5 * 3600.0,
    "go_out": 2 * 3600.0,
}


@dataclass(frozen=True, slots=True)
class Episode:
    """One incident: ``kind`` (see EPISODE_ALARMS) starting at epoch ``at``.

    ``duration_s`` 0 means the kind's default length; ``device_id`` picks the device for
    device-bound kinds (sos, device_offline, battery_die, off_wrist) when the home has several.
    """

    kind: str
    at: float
    duration_s: float = 0.0
    device_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EPISODE_ALARMS:
            known = ", ".join(sorted(EPISODE_ALARMS))
            raise ValueError(f"episode kind {self.kind!r} is unknown; known kinds: {known}")
        if self.duration_s < 0:
            raise ValueError(f"episode {self.kind!r}: duration_s {self.duration_s} is negative")

    @property
    def length_s(self) -> float:
        """The episode's duration, or its kind's default when none was given."""
        return self.duration_s or DEFAULT_DURATION_S[self.kind]


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """What really happened in a simulated home, and which alarm (if any) it should raise.

    ``window_s`` is how long after ``ts`` the alarm may fairly arrive.
    """

    ts: float
    home_id: str
    event: str
    device_id: str | None
    expected_alarm: str | None
    window_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, one line of a ``--truth`` file."""
        return {
            "ts": round(self.ts, 3),
            "home_id": self.home_id,
            "event": self.event,
            "device_id": self.device_id,
            "expected_alarm": self.expected_alarm,
            "window_s": round(self.window_s, 3),
            "details": self.details,
        }
