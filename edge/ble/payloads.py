"""What the bridge publishes: one JSON object per BLE notification, as the profiles read it.

Every object names the band's ``profile`` (the profiles hold it as a constant, so pairing
proposes the right one and a band configured with the wrong profile is refused, not
misread). ``ts`` is epoch milliseconds (of the first sample for a block). Heart rate: ``hr`` (bpm),
``contact`` (skin contact, when the sensor reports it), ``energy_kj``, ``rr_ms`` (RR
intervals in ms, oldest first). Battery: ``bat`` (percent). Accelerometer: ``acc``, base64
of little-endian int16 x/y/z in mg (±32.7 g), and ``n``, the number of samples.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.ble.heart_rate import HeartRateMeasurement

_I16 = np.iinfo(np.int16)


def _dump(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def heart_rate_payload(profile: str, m: HeartRateMeasurement, ts: float) -> bytes:
    """A Heart Rate Measurement as published."""
    obj: dict[str, Any] = {"profile": profile, "ts": round(ts * 1000), "hr": m.bpm}
    if m.contact is not None:
        obj["contact"] = m.contact
    if m.energy_kj is not None:
        obj["energy_kj"] = m.energy_kj
    if len(m.rr_s):
        obj["rr_ms"] = (m.rr_s * 1000.0).tolist()
    return _dump(obj)


def battery_payload(profile: str, percent: int, ts: float) -> bytes:
    """A battery level as published."""
    return _dump({"profile": profile, "ts": round(ts * 1000), "bat": percent})


def accel_payload(profile: str, samples_g: npt.NDArray[np.float64], ts_first: float) -> bytes:
    """A block of x/y/z samples in g as published (int16 mg, saturating)."""
    counts = np.clip(np.rint(samples_g * 1000.0), _I16.min, _I16.max).astype("<i2")
    text = base64.b64encode(counts.tobytes()).decode("ascii")
    return _dump({"profile": profile, "ts": round(ts_first * 1000), "acc": text, "n": len(counts)})
