"""A band's frames always carry its worn state, including battery heartbeats and bursts."""

from __future__ import annotations

import numpy as np

from device_sim.encode import Encoder
from device_sim.streams import DeviceReport
from firmware_profiles import load_library
from protocol import HomeManifest, ReadingKind
from tests.device_sim.conftest import home_with


def _home(profile: str) -> HomeManifest:
    return home_with(
        [{"device_id": "band", "profile": profile, "room": "bedroom", "worn_by": "resident"}]
    )


def _worn(profile: str, reports: list[DeviceReport]) -> list[object]:
    prof = load_library().get(profile)
    enc = Encoder([_home(profile)])
    out = []
    for rep in reports:
        msg = enc.encode(rep)
        decoded = prof.decode(msg.topic, msg.payload, received_at=rep.ts)
        out.append(next((r.value for r in decoded if r.kind == ReadingKind.WORN), None))
    return out


def test_binary_band_battery_and_burst_frames_keep_the_worn_state() -> None:
    reports = [
        DeviceReport(0.0, "band", {"battery": 80.0}),  # before anything said: worn
        DeviceReport(1.0, "band", {"heart_rate": 70.0, "worn": True}),
        DeviceReport(2.0, "band", {"accel": np.zeros((4, 3))}),
        DeviceReport(3.0, "band", {"worn": False}),
        DeviceReport(4.0, "band", {"battery": 81.0}),
    ]
    assert _worn("vitawear-vw-b50", reports) == [True, True, True, False, False]
