"""The standard Bluetooth Heart Rate service (0x180D) and Battery Level (0x2A19) values.

Heart Rate Measurement (0x2A37), per the GATT Specification Supplement: a flags byte, then
the heart rate (uint8 or uint16), the energy expended (uint16, kJ) when flagged, and RR
intervals (uint16, 1/1024 s each) when flagged, all little-endian.

flags bit 0: heart rate is uint16 (else uint8); bits 1-2: sensor contact (0b00/0b01 not
supported, 0b10 supported but no contact, 0b11 contact); bit 3: energy expended present;
bit 4: RR intervals present; bits 5-7: reserved (ignored).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.ble.errors import FrameError

HEART_RATE_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"
HEART_RATE_MEASUREMENT = "00002a37-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"

RR_UNIT_S = 1.0 / 1024.0

_RATE_U16 = 0x01
_CONTACT_DETECTED = 0x02
_CONTACT_SUPPORTED = 0x04
_ENERGY = 0x08
_RR = 0x10


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded 0x2A37 notification."""

    bpm: int
    contact: bool | None  # None: the sensor does not report skin contact
    energy_kj: int | None
    rr_s: npt.NDArray[np.float64]  # RR intervals in seconds, oldest first (may be empty)


def decode_heart_rate(data: bytes | bytearray) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement value; FrameError names the fault and shows the bytes."""
    what = "heart rate measurement 0x2A37"
    if not data:
        raise FrameError(what, data, "empty value, expected at least the flags byte")
    flags = data[0]
    need = 1 + (2 if flags & _RATE_U16 else 1) + (2 if flags & _ENERGY else 0)
    if len(data) < need:
        parts = ["flags", "uint16 rate" if flags & _RATE_U16 else "uint8 rate"]
        parts += ["uint16 energy expended"] if flags & _ENERGY else []
        raise FrameError(
            what, data, f"truncated: flags {flags:#04x} need {need} bytes ({' + '.join(parts)})"
        )
    if flags & _RATE_U16:
        bpm = int.from_bytes(data[1:3], "little")
        pos = 3
    else:
        bpm = data[1]
        pos = 2
    energy = None
    if flags & _ENERGY:
        energy = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2
    rest = len(data) - pos
    if not flags & _RR:
        if rest:
            raise FrameError(
                what, data, f"{rest} bytes after the last field, and the RR flag (bit 4) is not set"
            )
        rr = np.empty(0)
    elif rest % 2:
        raise FrameError(
            what,
            data,
            f"RR intervals: {rest} bytes is not a whole number of uint16 values (truncated)",
        )
    else:
        rr = np.frombuffer(bytes(data[pos:]), dtype="<u2").astype(np.float64) * RR_UNIT_S
    contact = bool(flags & _CONTACT_DETECTED) if flags & _CONTACT_SUPPORTED else None
    return HeartRateMeasurement(bpm=bpm, contact=contact, energy_kj=energy, rr_s=rr)


def decode_battery_level(data: bytes | bytearray) -> int:
    """Battery Level (0x2A19): one uint8, percent 0-100."""
    what = "battery level 0x2A19"
    if len(data) != 1:
        raise FrameError(what, data, "expected exactly one byte")
    if data[0] > 100:
        raise FrameError(what, data, f"{data[0]} is not a percentage (0-100)")
    return int(data[0])
