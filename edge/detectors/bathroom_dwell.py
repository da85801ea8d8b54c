"""A bathroom stay far longer than usual.

A stay starts with motion or presence in a bathroom room (a door contact fires on the way
in and out alike, so it starts nothing) and ends with activity in any other room or at the
front door. It raises an alarm when it lasts longer than this resident's usual
stays allow: ``factor`` times the ``quantile`` of the recent stays, kept between
``floor_s`` and ``ceiling_s`` (``prior_s`` until ``min_samples`` stays are known). The
alarm ends when the resident is seen elsewhere.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge.detectors.activity import ACTIVITY_KINDS, ActivityTracker
from edge.detectors.base import Detection, Detector
from edge.detectors.home import HomeContext
from protocol import AlarmKind, Reading, ReadingKind

# Readings that show someone in the room; a door contact fires on the way in and out alike.
PRESENCE_KINDS = frozenset(
    {ReadingKind.MOTION, ReadingKind.OCCUPANCY, ReadingKind.PRESENCE, ReadingKind.TARGET_STATE}
)


class BathroomDwellConfig(BaseModel):
    """Bathroom stays."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["bathroom_dwell"] = Field(
        default="bathroom_dwell", title="Type", description="Detector type."
    )
    enabled: bool = Field(default=True, title="Enabled", description="Run this detector.")
    rooms: tuple[str, ...] = Field(
        default=("bathroom", "toilet", "wc"), title="Rooms", description="Bathroom room names."
    )
    floor_s: float = Field(default=3600.0, gt=0, title="Floor", description="Shortest limit, s.")
    ceiling_s: float = Field(
        default=3 * 3600.0, gt=0, title="Ceiling", description="Longest limit, s."
    )
    prior_s: float = Field(
        default=5400.0, gt=0, title="Prior", description="Limit while learning, s."
    )
    factor: float = Field(
        default=2.0, ge=1, title="Factor", description="Limit = factor x quantile."
    )
    quantile: float = Field(
        default=0.95, gt=0, le=1, title="Quantile", description="Of recent stays."
    )
    min_samples: int = Field(
        default=10, ge=1, title="Min samples", description="Stays before learning."
    )
    history: int = Field(default=100, ge=1, title="History", description="Stays kept.")


class BathroomDwellDetector(Detector):
    """Home-wide: a bathroom stay far longer than usual."""

    type: ClassVar[str] = "bathroom_dwell"
    kinds: ClassVar[frozenset[ReadingKind]] = ACTIVITY_KINDS

    def __init__(
        self, config: BathroomDwellConfig | None = None, *, home: HomeContext | None = None
    ) -> None:
        super().__init__()
        self.cfg = config or BathroomDwellConfig()
        self.home = home or HomeContext()
        self.activity = ActivityTracker(self.home)
        self.since: float | None = None
        self.stays: list[float] = []
        self.open = False

    def limit(self) -> float:
        """How long a stay may last before it raises an alarm, s."""
        if len(self.stays) < self.cfg.min_samples:
            return self.cfg.prior_s
        q = float(np.quantile(np.asarray(self.stays), self.cfg.quantile))
        return min(self.cfg.ceiling_s, max(self.cfg.floor_s, self.cfg.factor * q))

    def feed(self, reading: Reading) -> list[Detection]:
        """Bathroom activity starts a stay; activity elsewhere ends it."""
        inside, door = self.activity(reading, self.type)
        times = np.concatenate((inside, door))
        if not len(times):
            return []
        in_bath = (
            reading.kind in PRESENCE_KINDS
            and self.home.rooms.get(reading.device_id, "") in self.cfg.rooms
        )
        out = self.tick(float(times.min()))
        if in_bath:
            if self.since is None:
                self.since = float(times.min())
            return out
        if self.since is not None:
            end = float(times.min())
            self.stays.append(end - self.since)
            del self.stays[: -self.cfg.history]
            if self.open:
                out.append(self._det(end, end - self.since, active=False))
            self.since, self.open = None, False
        return out

    def tick(self, now: float) -> list[Detection]:
        """Raise when the stay outlasts the limit."""
        if self.since is None or self.open:
            return []
        limit = self.limit()
        if now - self.since < limit:
            return []
        self.open = True
        return [self._det(self.since + limit, limit, active=True)]

    def _det(self, ts: float, stay: float, *, active: bool) -> Detection:
        return Detection(
            kind=AlarmKind.BATHROOM_DWELL,
            detector=self.type,
            ts=ts,
            active=active,
            room="bathroom",
            message=f"in the bathroom for {stay / 60:.0f} min" if active else "left the bathroom",
            details={"stay_s": round(stay, 1)},
            evidence=(
                {
                    "device_id": "home",
                    "kind": "motion",
                    "ts": ts,
                    "summary": {"stillness_s": round(stay, 1)},
                },
            ),
        )

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {
            "activity": self.activity.state(),
            "since": self.since,
            "stays": list(self.stays),
            "open": self.open,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.activity.restore(state["activity"])
        self.since = state["since"]
        self.stays = [float(x) for x in state["stays"]]
        self.open = bool(state["open"])
