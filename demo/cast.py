"""Who plays in the demo: four homes with their scenarios, workers around them, families."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device_sim.scenario import Scenario, load_scenario
from protocol import HomeManifest

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


@dataclass(frozen=True, slots=True)
class Stage:
    """One home of the demo: its scenario, its manifest and what it should show."""

    label: str
    scenario: Path
    story: str
    wall_s: float  # how long the scenario plays in `make demo`

    def load(self) -> Scenario:
        """The scenario, resolved against its home manifest."""
        return load_scenario(self.scenario)


STAGES: tuple[Stage, ...] = (
    Stage("li", SCENARIOS / "li_fall.yaml", "falls and lies still", 80),
    Stage("wang", SCENARIOS / "wang_stops_moving.yaml", "stops moving", 150),
    Stage("chen", SCENARIOS / "chen_tachycardia.yaml", "heart rate climbs", 120),
    Stage("zhao", SCENARIOS / "zhao_normal.yaml", "an ordinary day", 140),
)


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """A community worker of the demo, placed near the homes."""

    key: str
    name: str
    phone: str
    language: str
    role: str
    district: str
    lat: float
    lon: float
    declines_first: bool = False


@dataclass(frozen=True, slots=True)
class FamilySpec:
    """A family contact of one home."""

    home_id: str
    name: str
    relation: str
    phone: str
    language: str


_NAMES = [
    "Zhang Wei",
    "Wang Fang",
    "Liu Yang",
    "Chen Jing",
    "Yang Min",
    "Zhao Lei",
    "Huang Li",
    "Zhou Qiang",
    "Wu Xia",
    "Xu Tao",
    "Sun Hui",
    "Ma Jun",
]


def offset(lat: float, lon: float, east_km: float, north_km: float) -> tuple[float, float]:
    """A point ``east_km`` / ``north_km`` away from (lat, lon)."""
    dlat = north_km / 111.2
    dlon = east_km / (111.2 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def workers_for(homes: list[HomeManifest], *, seed: int = 7) -> list[WorkerSpec]:
    """Three workers around each home (0.3-2.5 km away) and a supervisor per district.

    The nearest worker of the first home declines its first offer, so the demo also shows
    an offer moving on to the next worker.
    """
    rng = np.random.default_rng(seed)
    out: list[WorkerSpec] = []
    n = 0
    for h_index, home in enumerate(homes):
        for k in range(3):
            dist = float(rng.uniform(0.3, 0.8) + 0.8 * k)
            angle = float(rng.uniform(0, 2 * math.pi))
            lat, lon = offset(
                home.coordinates.lat,
                home.coordinates.lon,
                dist * math.cos(angle),
                dist * math.sin(angle),
            )
            out.append(
                WorkerSpec(
                    key=f"w{n + 1:02d}",
                    name=_NAMES[n % len(_NAMES)],
                    phone=f"+8613900{n + 1:06d}",
                    language="zh" if n % 3 else "en",
                    role="worker",
                    district=home.district,
                    lat=lat,
                    lon=lon,
                    declines_first=h_index == 0 and k == 0,
                )
            )
            n += 1
    for d_index, district in enumerate(sorted({h.district for h in homes})):
        home = next(h for h in homes if h.district == district)
        lat, lon = offset(home.coordinates.lat, home.coordinates.lon, 3.0, 3.0)
        out.append(
            WorkerSpec(
                key=f"s{d_index + 1:02d}",
                name=f"Supervisor {district}",
                phone=f"+8613800{d_index + 1:06d}",
                language="zh",
                role="supervisor",
                district=district,
                lat=lat,
                lon=lon,
            )
        )
    return out


def families_for(homes: list[HomeManifest]) -> list[FamilySpec]:
    """One family contact per home (a daughter or son), Chinese or English speaking."""
    return [
        FamilySpec(
            home_id=h.home_id,
            name=f"{h.resident.last_name or 'Family'} (child)",
            relation="daughter" if i % 2 == 0 else "son",
            phone=f"+8613700{i + 1:06d}",
            language="en" if i % 2 else "zh",
        )
        for i, h in enumerate(homes)
    ]
