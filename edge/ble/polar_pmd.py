"""Polar Measurement Data (PMD): the control point, its responses, and accelerometer frames.

Polar's PMD service (FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8), as Polar publishes it in its BLE
SDK (Polar_Measurement_Data_Specification, and the SDK's parsers):

* control point (…5C81): read gives the features (``0x0F`` then a bit mask of measurement
  types); writes are commands ``[op, type, params…]``; answers come back as indications
  ``[0xF0, op, type, status, more, params…]``. Ops: 1 get settings, 2 start, 3 stop.
  Settings are ``[setting type, count, value × count]`` with sizes sample rate 2, resolution 2,
  range 2, range in milli-units 4, channels 1, factor 4 (float32).
* data (…5C82): ``[type, timestamp u64 (ns since 2000-01-01, of the frame's last sample),
  frame type, content…]``. Frame-type bit 7 marks a delta-compressed frame.

Accelerometer (type 2): uncompressed frame types 0, 1, 2 carry int8, int16, int24 x/y/z in
mg. Compressed frames start with a reference sample (3 × int16) and then blocks of
``[delta bit width, sample count, bit-packed deltas]``, each delta a two's-complement value
of that width, least significant bit first; a sample is the previous one plus its deltas.
Compressed type 1 values times the factor the start response gives are mg; compressed
type 0 values times the factor are g.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from edge.ble.errors import FrameError

PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

POLAR_EPOCH_S = 946_684_800.0  # 2000-01-01T00:00:00Z in Unix seconds
MEASUREMENT_ACC = 2
RESPONSE_CODE = 0xF0
STATUS_ALREADY_IN_STATE = 6
FEATURES_CODE = 0x0F
DEVICE_STOPPED = 0x01  # control point indication from the device: a stream was stopped

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class Op(IntEnum):
    """Control point commands (client to sensor)."""

    GET_SETTINGS = 1
    START = 2
    STOP = 3


class Setting(IntEnum):
    """Measurement setting types."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5


SETTING_SIZE: dict[Setting, int] = {
    Setting.SAMPLE_RATE: 2,
    Setting.RESOLUTION: 2,
    Setting.RANGE: 2,
    Setting.RANGE_MILLIUNIT: 4,
    Setting.CHANNELS: 1,
    Setting.FACTOR: 4,
}

STATUS_TEXT = {
    0: "success",
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
    14: "disk full",
}

Settings = dict[Setting, list[float]]


def parse_features(data: bytes | bytearray) -> set[int]:
    """Measurement types the sensor offers, from a read of the control point."""
    if len(data) < 2 or data[0] != FEATURES_CODE:
        raise FrameError("PMD features", data, f"expected {FEATURES_CODE:#04x} and a bit mask")
    mask = int.from_bytes(data[1:], "little")
    return {bit for bit in range(8 * (len(data) - 1)) if mask >> bit & 1}


def parse_settings(params: bytes | bytearray) -> Settings:
    """``[type, count, values…]…`` into {setting: values}; the factor as float32."""
    out: Settings = {}
    pos = 0
    while pos < len(params):
        if pos + 2 > len(params):
            raise FrameError("PMD settings", params, f"truncated setting header at byte {pos}")
        code, count = params[pos], params[pos + 1]
        try:
            kind = Setting(code)
        except ValueError:
            raise FrameError(
                "PMD settings", params, f"unknown setting type {code} at byte {pos}"
            ) from None
        size = SETTING_SIZE[kind]
        pos += 2
        end = pos + size * count
        if end > len(params):
            raise FrameError(
                "PMD settings",
                params,
                f"{kind.name}: {count} values of {size} bytes "
                f"need {end - pos} bytes from byte {pos}, {len(params) - pos} left",
            )
        raw = bytes(params[pos:end])
        if kind is Setting.FACTOR:
            values = [float(v) for v in struct.unpack(f"<{count}f", raw)]
        else:
            values = [
                float(int.from_bytes(raw[i : i + size], "little")) for i in range(0, len(raw), size)
            ]
        out[kind] = values
        pos = end
    return out


def settings_request(measurement: int) -> bytes:
    """Ask for the settings a measurement supports."""
    return bytes([Op.GET_SETTINGS, measurement])


def start_request(measurement: int, selected: dict[Setting, int]) -> bytes:
    """Start a measurement with one value per setting (the factor is the sensor's to say)."""
    body = bytearray([Op.START, measurement])
    for kind, value in sorted(selected.items()):
        if kind is Setting.FACTOR:
            continue
        body += bytes([kind, 1]) + int(value).to_bytes(SETTING_SIZE[kind], "little")
    return bytes(body)


def stop_request(measurement: int) -> bytes:
    """Stop a measurement."""
    return bytes([Op.STOP, measurement])


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """An answer of the control point to one command."""

    op: int
    measurement: int
    status: int
    more: bool
    params: bytes

    @property
    def ok(self) -> bool:
        """The command succeeded."""
        return self.status == 0

    @property
    def status_text(self) -> str:
        """The status in words."""
        return STATUS_TEXT.get(self.status, f"status {self.status}")


def parse_control_response(data: bytes | bytearray) -> ControlResponse:
    """``[0xF0, op, type, status, more, params…]``."""
    if len(data) < 4 or data[0] != RESPONSE_CODE:
        raise FrameError(
            "PMD control point response", data, f"expected {RESPONSE_CODE:#04x}, op, type, status"
        )
    ok = data[3] == 0
    return ControlResponse(
        op=data[1],
        measurement=data[2],
        status=data[3],
        more=ok and len(data) > 4 and data[4] != 0,
        params=bytes(data[5:]) if ok else b"",
    )


def choose_settings(available: Settings, *, rate_hz: float, range_g: int) -> dict[Setting, int]:
    """One value per offered setting: the rate asked for (ValueError naming the offered rates
    if it is not one), the range asked for or else the largest, the finest resolution and
    every channel."""
    chosen: dict[Setting, int] = {}
    for kind, values in available.items():
        if kind is Setting.FACTOR or not values:
            continue
        if kind is Setting.SAMPLE_RATE:
            if rate_hz not in values:
                offered = ", ".join(f"{v:g}" for v in sorted(values))
                raise ValueError(f"sample rate {rate_hz:g} Hz not offered (offers {offered} Hz)")
            chosen[kind] = int(rate_hz)
        elif kind is Setting.RANGE:
            chosen[kind] = int(range_g) if range_g in values else int(max(values))
        else:
            chosen[kind] = int(max(values))
    return chosen


@dataclass(frozen=True, slots=True)
class AccFrame:
    """One accelerometer data frame: samples in g and the sensor time of the last one."""

    sensor_ns: int
    samples_g: F64  # (n, 3)
    frame_type: int
    compressed: bool

    @property
    def last_sample_s(self) -> float:
        """Sensor time of the last sample, Unix seconds if the sensor clock was set."""
        return POLAR_EPOCH_S + self.sensor_ns / 1e9


_RAW_WIDTH = {0: 1, 1: 2, 2: 3}  # uncompressed ACC frame type -> bytes per axis value


def decode_acc_frame(data: bytes | bytearray, *, factor: float = 1.0) -> AccFrame:
    """Decode one PMD data notification of the accelerometer into samples in g."""
    what = "PMD ACC frame"
    if len(data) < 10:
        raise FrameError(what, data, "shorter than the 10-byte header (type, time, frame type)")
    if data[0] != MEASUREMENT_ACC:
        raise FrameError(what, data, f"measurement type {data[0]}, not ACC ({MEASUREMENT_ACC})")
    sensor_ns = int.from_bytes(data[1:9], "little")
    compressed = bool(data[9] & 0x80)
    frame_type = data[9] & 0x7F
    content = bytes(data[10:])
    if compressed:
        if frame_type not in (0, 1):
            raise FrameError(what, data, f"compressed frame type {frame_type} is not 0 or 1")
        counts = delta_decode(content, channels=3, ref_bits=16, what=what)
        scale = factor if frame_type == 0 else factor / 1000.0
        samples = counts * scale
    else:
        width = _RAW_WIDTH.get(frame_type)
        if width is None:
            raise FrameError(what, data, f"uncompressed frame type {frame_type} is not 0, 1 or 2")
        if not content or len(content) % (3 * width):
            raise FrameError(
                what,
                data,
                f"{len(content)} content bytes is not a whole number of "
                f"{3 * width}-byte x/y/z samples (frame type {frame_type})",
            )
        samples = _signed_le(content, width).reshape(-1, 3) / 1000.0
    return AccFrame(sensor_ns, samples.astype(np.float64), frame_type, compressed)


def _signed_le(content: bytes, width: int) -> I64:
    """Little-endian two's-complement integers of ``width`` bytes."""
    raw = np.frombuffer(content, dtype=np.uint8).reshape(-1, width).astype(np.int64)
    values = (raw << (8 * np.arange(width, dtype=np.int64))).sum(axis=1)
    bits = 8 * width
    return np.where(values >= 1 << (bits - 1), values - (1 << bits), values)


def delta_decode(content: bytes, *, channels: int, ref_bits: int, what: str) -> I64:
    """A delta-compressed PMD block as (n, channels) integer samples, reference first."""
    ref_size = channels * ((ref_bits + 7) // 8)
    if len(content) < ref_size:
        raise FrameError(what, content, f"no room for the {ref_size}-byte reference sample")
    ref = _signed_le(content[:ref_size], (ref_bits + 7) // 8)
    parts: list[I64] = [ref.reshape(1, channels)]
    pos = ref_size
    while pos < len(content):
        if pos + 2 > len(content):
            raise FrameError(what, content, f"delta block at byte {pos}: truncated header")
        bit_width, count = content[pos], content[pos + 1]
        if bit_width > 32:
            raise FrameError(what, content, f"delta block at byte {pos}: width {bit_width} > 32")
        n_bytes = (bit_width * count * channels + 7) // 8
        start = pos + 2
        if start + n_bytes > len(content):
            raise FrameError(
                what,
                content,
                f"delta block at byte {pos}: {count} samples of {bit_width}-bit "
                f"deltas need {n_bytes} bytes, {len(content) - start} left",
            )
        parts.append(_unpack_deltas(content[start : start + n_bytes], bit_width, count, channels))
        pos = start + n_bytes
    deltas = np.concatenate(parts)
    return np.cumsum(deltas, axis=0)


def _unpack_deltas(block: bytes, width: int, count: int, channels: int) -> I64:
    if width == 0:
        return np.zeros((count, channels), dtype=np.int64)
    bits = np.unpackbits(np.frombuffer(block, dtype=np.uint8), bitorder="little")
    fields = bits[: width * count * channels].reshape(count * channels, width).astype(np.int64)
    values = fields @ (np.int64(1) << np.arange(width, dtype=np.int64))
    values = np.where(fields[:, -1] == 1, values - (np.int64(1) << width), values)
    return values.reshape(count, channels)
