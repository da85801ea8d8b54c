"""Heart Rate Measurement (0x2A37) and Battery Level (0x2A19) on frames built from the GATT
Specification Supplement's field layout."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from edge.ble.errors import FrameError
from edge.ble.heart_rate import decode_battery_level, decode_heart_rate


def hrm(flags: int, rate: int, energy: int | None = None, rr: tuple[int, ...] = ()) -> bytes:
    """A 0x2A37 value: flags, uint8/uint16 rate, optional uint16 energy, uint16 RR list."""
    out = bytes([flags]) + struct.pack("<H" if flags & 0x01 else "<B", rate)
    if energy is not None:
        out += struct.pack("<H", energy)
    return out + struct.pack(f"<{len(rr)}H", *rr)


def test_uint8_rate_alone() -> None:
    m = decode_heart_rate(hrm(0x00, 72))
    assert (m.bpm, m.contact, m.energy_kj, len(m.rr_s)) == (72, None, None, 0)


def test_uint16_rate() -> None:
    assert decode_heart_rate(hrm(0x01, 300)).bpm == 300
    assert decode_heart_rate(bytes([0x01, 0x2C, 0x01])).bpm == 300  # little-endian on the wire


@pytest.mark.parametrize(
    ("bits", "contact"),
    [(0b00, None), (0b01, None), (0b10, False), (0b11, True)],
    ids=["unsupported", "unsupported-bit1", "no-contact", "contact"],
)
def test_sensor_contact_bits(bits: int, contact: bool | None) -> None:
    # bits 1-2: bit 2 says the feature is supported, bit 1 that contact is detected
    assert decode_heart_rate(hrm(bits << 1, 60)).contact is contact


def test_energy_expended() -> None:
    m = decode_heart_rate(hrm(0x08, 90, energy=317))
    assert (m.bpm, m.energy_kj) == (90, 317)


def test_rr_intervals_in_1024ths_of_a_second() -> None:
    m = decode_heart_rate(hrm(0x10, 60, rr=(1024, 512, 845)))
    np.testing.assert_array_equal(m.rr_s, [1.0, 0.5, 845 / 1024])


def test_every_field_at_once_uint16_energy_rr_contact() -> None:
    m = decode_heart_rate(hrm(0x1F, 190, energy=65535, rr=(323, 330)))
    assert (m.bpm, m.contact, m.energy_kj) == (190, True, 65535)
    np.testing.assert_array_equal(m.rr_s, [323 / 1024, 330 / 1024])


def test_reserved_bits_are_ignored() -> None:
    assert decode_heart_rate(hrm(0xE0, 55)).bpm == 55


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (b"", "empty"),
        (bytes([0x00]), "need 2 bytes"),
        (bytes([0x01, 0x48]), "uint16 rate"),
        (bytes([0x08, 0x48, 0x01]), "energy expended"),
        (hrm(0x10, 60, rr=(1024,)) + b"\x04", "not a whole number of uint16"),
        (hrm(0x00, 60) + b"\x00\x04", "RR flag (bit 4) is not set"),
    ],
    ids=["empty", "no-rate", "half-uint16-rate", "half-energy", "odd-rr", "stray-bytes"],
)
def test_truncated_or_malformed_frames_are_named(frame: bytes, words: str) -> None:
    with pytest.raises(FrameError, match="0x2A37") as info:
        decode_heart_rate(frame)
    assert words in str(info.value)
    assert frame.hex(" ") in str(info.value)


def test_battery_level() -> None:
    assert decode_battery_level(b"\x57") == 87
    assert decode_battery_level(bytearray(b"\x00")) == 0
    with pytest.raises(FrameError, match="not a percentage"):
        decode_battery_level(b"\x65")
    with pytest.raises(FrameError, match="exactly one byte"):
        decode_battery_level(b"")
