"""Score a demo run: expected alarms (ground truth) against what the cloud raised and sent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Expected:
    """An alarm the ground truth says must happen."""

    home_id: str
    kind: str
    ts: float  # simulated event time
    window_s: float


@dataclass(frozen=True, slots=True)
class Raised:
    """An alarm the cloud holds, with what reached a person."""

    alarm_id: str
    home_id: str
    kind: str
    ts: float  # event time (raised_at)
    reached_worker: bool


@dataclass
class Score:
    """Matches between expected and raised alarms."""

    matched: list[tuple[Expected, Raised]] = field(default_factory=list)
    missed: list[Expected] = field(default_factory=list)
    false_alarms: list[Raised] = field(default_factory=list)
    unreached: list[Raised] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every expected alarm reached a worker and nothing false was raised."""
        return not (self.missed or self.false_alarms or self.unreached)


# Alarm kinds that stand for the same incident (a fall that is then followed by no motion
# may surface as either; a radar fall confirms a fall).
EQUIVALENT: dict[str, frozenset[str]] = {
    "fall": frozenset({"fall", "radar_fall"}),
    "radar_fall": frozenset({"fall", "radar_fall"}),
    "inactivity": frozenset({"inactivity", "not_up"}),
    "not_up": frozenset({"inactivity", "not_up"}),
}

# Kinds that are never false alarms in a demo (operational, not about the resident).
OPERATIONAL = frozenset({"test", "gateway_offline"})


def score(expected: Sequence[Expected], raised: Iterable[Raised], *, slack_s: float = 120) -> Score:
    """Match each expected alarm to a raised one of an equivalent kind in the same home
    within its window; raised alarms that match nothing are false alarms."""
    result = Score()
    pool = [r for r in raised if r.kind not in OPERATIONAL]
    used: set[str] = set()
    for exp in sorted(expected, key=lambda e: e.ts):
        kinds = EQUIVALENT.get(exp.kind, frozenset({exp.kind}))
        hit = next(
            (
                r
                for r in sorted(pool, key=lambda r: r.ts)
                if r.alarm_id not in used
                and r.home_id == exp.home_id
                and r.kind in kinds
                and exp.ts - slack_s <= r.ts <= exp.ts + exp.window_s + slack_s
            ),
            None,
        )
        if hit is None:
            result.missed.append(exp)
            continue
        used.add(hit.alarm_id)
        result.matched.append((exp, hit))
        if not hit.reached_worker:
            result.unreached.append(hit)
    # Further alarms about an incident already matched (same home, equivalent kind, while the
    # incident lasts) are its follow-ups, not false alarms.
    for r in pool:
        if r.alarm_id in used:
            continue
        follow_up = any(
            m.home_id == r.home_id
            and r.kind in EQUIVALENT.get(e.kind, frozenset({e.kind}))
            and e.ts - slack_s <= r.ts <= e.ts + e.window_s + slack_s
            for e, m in result.matched
        )
        if not follow_up:
            result.false_alarms.append(r)
    return result


def percentiles(values_ms: Sequence[float]) -> dict[str, Any]:
    """p50 / p99 / max / n of latencies in milliseconds (None when there are none)."""
    if not values_ms:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    arr = np.asarray(values_ms, dtype=float)
    return {
        "p50": round(float(np.percentile(arr, 50)), 1),
        "p99": round(float(np.percentile(arr, 99)), 1),
        "max": round(float(arr.max()), 1),
        "n": len(values_ms),
    }
