"""Polar PMD byte frames built from the published layout, independently of the decoder."""

from __future__ import annotations

import struct
from collections.abc import Sequence

ACC = 2
EPOCH_2000 = 946_684_800


def header(sensor_ns: int, frame_type: int, *, compressed: bool, measurement: int = ACC) -> bytes:
    """Type, u64 timestamp of the last sample (ns since 2000), frame type (bit 7 compressed)."""
    return (
        bytes([measurement])
        + struct.pack("<Q", sensor_ns)
        + bytes([frame_type | (0x80 if compressed else 0)])
    )


def raw_acc(samples: Sequence[Sequence[int]], *, frame_type: int = 1, sensor_ns: int = 0) -> bytes:
    """Uncompressed ACC: int8 (type 0), int16 (1) or int24 (2) x/y/z in mg."""
    width = {0: 1, 1: 2, 2: 3}[frame_type]
    body = b"".join(v.to_bytes(width, "little", signed=True) for row in samples for v in row)
    return header(sensor_ns, frame_type, compressed=False) + body


def pack_deltas(deltas: Sequence[Sequence[int]], width: int) -> bytes:
    """Two's-complement deltas of ``width`` bits, least significant bit first, in order."""
    acc, nbits = 0, 0
    for row in deltas:
        for d in row:
            assert -(1 << (width - 1)) <= d < (1 << (width - 1)), (d, width)
            acc |= (d & ((1 << width) - 1)) << nbits
            nbits += width
    return acc.to_bytes((nbits + 7) // 8, "little")


def delta_acc(
    reference: Sequence[int],
    blocks: Sequence[tuple[int, Sequence[Sequence[int]]]],
    *,
    frame_type: int = 1,
    sensor_ns: int = 0,
) -> bytes:
    """Compressed ACC: int16 reference x/y/z, then [width, count, packed deltas] blocks."""
    body = b"".join(v.to_bytes(2, "little", signed=True) for v in reference)
    for width, deltas in blocks:
        body += bytes([width, len(deltas)]) + pack_deltas(deltas, width)
    return header(sensor_ns, frame_type, compressed=True) + body


def settings(entries: dict[int, Sequence[int | float]]) -> bytes:
    """``[type, count, values...]`` with the published field sizes; type 5 (factor) float32."""
    size = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1}
    out = b""
    for kind, values in entries.items():
        out += bytes([kind, len(values)])
        for v in values:
            out += struct.pack("<f", v) if kind == 5 else int(v).to_bytes(size[kind], "little")
    return out


def response(
    op: int, measurement: int, status: int = 0, params: bytes = b"", more: int = 0
) -> bytes:
    """A control point answer: 0xF0, op, type, status, more, params."""
    return bytes([0xF0, op, measurement, status, more]) + params
