"""Every profile in the device library encodes what the simulator makes, and decodes it back."""

from __future__ import annotations

import numpy as np
import pytest

from device_sim.encode import Encoder
from device_sim.engine import Episode, HomeSim
from device_sim.profiles import library
from protocol.home import HomeManifest

START = 1763913600.0  # 2025-11-24 00:00 Asia/Shanghai
PROFILES = sorted(p.id for p in library().all())


def _home(profile_id: str, family: str) -> HomeManifest:
    worn = "resident" if family in ("wearable", "fall_pendant") else None
    return HomeManifest.model_validate(
        {
            "home_id": "h-rt",
            "gateway_id": "gw-rt",
            "coordinates": {"lat": 31.23, "lon": 121.47},
            "timezone": "Asia/Shanghai",
            "resident": {"first_name": "Test"},
            "devices": [
                {
                    "device_id": "dev-1",
                    "profile": profile_id,
                    "room": "bathroom",
                    "worn_by": worn,
                    "front_door": family == "door",
                },
                {"device_id": "pir-1", "profile": "aqara-rtcgq11lm", "room": "living_room"},
            ],
        }
    )


@pytest.mark.parametrize("profile_id", PROFILES)
def test_profile_round_trip(profile_id: str) -> None:
    prof = library().get(profile_id)
    home = _home(profile_id, prof.family)
    eps = [Episode("fall", START + 10 * 3600, 900, params={"room": "bathroom"})]
    if "sos" in prof.kinds:
        eps.append(Episode("sos", START + 12 * 3600, 0, "dev-1"))
    sim = HomeSim(home, start=START, end=START + 86400, seed=1, episodes=eps, accel=True)
    enc = Encoder([home])
    reports = [r for r in sim.reports(sim.start, sim.end) if r.device_id == "dev-1"]
    assert reports, f"{profile_id}: the simulator made nothing for it"
    seen: set[str] = set()
    for rep in reports:
        readings = [
            r
            for msg in enc.encode_all(rep)
            for r in prof.decode(msg.topic, msg.payload, received_at=rep.ts + 0.5)
        ]
        for r in readings:
            seen.add(str(r.kind))
            if r.is_block:
                assert r.samples is not None
                assert np.allclose(r.samples, rep.values["accel"], atol=0.02)
            elif str(r.kind) in rep.values and isinstance(r.value, bool | str):
                assert r.value == rep.values[str(r.kind)]
        measured = {k for k, v in rep.values.items() if not (isinstance(v, float) and v != v)}
        assert measured <= {str(r.kind) for r in readings}  # NaN: not measured, not sent
    assert seen >= {str(k) for k in prof.kinds} - {"cancel"}, (profile_id, seen)
