"""A frame that does not carry a quantity must not decode to a made-up value of it.

Binary frames have a slot for every field; a device that has not measured its battery fills
the slot with the profile's ``absent`` value. Decoding that as a real 0 % battery raised
battery alarms on every accelerometer burst (found by the end-to-end demo).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from firmware_profiles import DeviceProfile, load_library
from protocol import ReadingKind

TS = 1_763_948_520.0
MEASURED = (ReadingKind.BATTERY, ReadingKind.VOLTAGE, ReadingKind.HEART_RATE, ReadingKind.SPO2)


def _one_value(prof: DeviceProfile) -> dict[str, Any]:
    """The least a message of this profile can carry: one event or block, no measurements."""
    if ReadingKind.ACCEL in prof.kinds:
        return {"accel": np.zeros((4, 3))}
    for kind in (
        ReadingKind.MOTION,
        ReadingKind.OCCUPANCY,
        ReadingKind.PRESENCE,
        ReadingKind.DOOR_OPEN,
        ReadingKind.SOS,
    ):
        if kind in prof.kinds:
            return {str(kind): True}
    pytest.skip(f"{prof.id} has no event kind to send alone")


@pytest.mark.parametrize("prof", load_library().all(), ids=lambda p: p.id)
def test_unmeasured_quantities_stay_absent(prof: DeviceProfile) -> None:
    values = _one_value(prof)
    topic, payload = prof.encode("dev-1", values, ts=TS)
    decoded = prof.decode(topic, payload, received_at=TS)
    invented = [(str(r.kind), r.value) for r in decoded if r.kind in MEASURED]
    assert not invented, f"{prof.id}: {invented} decoded from a frame that carried only {values}"
