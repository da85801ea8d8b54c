"""What the BLE bridge's decoding costs one core of the machine it runs on, per band.

Decodes Polar PMD accelerometer frames (delta-compressed, as a Verity Sense sends them:
36 samples of 3 channels per frame) and Heart Rate Measurements with RR intervals, and
builds the JSON payloads the bridge publishes. Prints frames/s and the CPU share one band
costs at its real rates (52 Hz ACC = 1.44 frames/s; heart rate 1/s).
Usage: python bench/ble_decode.py [--frames N]
"""

from __future__ import annotations

import argparse
import platform
import struct
import time

import numpy as np

from edge.ble.heart_rate import HeartRateMeasurement, decode_heart_rate
from edge.ble.payloads import accel_payload, heart_rate_payload
from edge.ble.polar_pmd import decode_acc_frame


def _delta_frame(rng: np.random.Generator, samples: int = 36, width: int = 8) -> bytes:
    ref = rng.integers(-4000, 4000, 3)
    lim = 1 << (width - 1)
    deltas = rng.integers(-lim, lim, (samples - 1, 3))
    acc, nbits = 0, 0
    for d in deltas.ravel():
        acc |= (int(d) & ((1 << width) - 1)) << nbits
        nbits += width
    body = b"".join(int(v).to_bytes(2, "little", signed=True) for v in ref)
    body += bytes([width, samples - 1]) + acc.to_bytes((nbits + 7) // 8, "little")
    return bytes([2]) + struct.pack("<Q", 700_000_000_000_000_000) + bytes([0x81]) + body


def _rate(fn: object, items: list[bytes]) -> float:
    assert callable(fn)
    t0 = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - t0)


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20000)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    acc_frames = [_delta_frame(rng) for _ in range(args.frames)]
    hr_frames = [bytes([0x16, 72]) + struct.pack("<2H", 830, 845) for _ in range(args.frames)]

    def acc_path(frame: bytes) -> None:
        f = decode_acc_frame(frame, factor=0.244140625)
        accel_payload("polar-verity-sense", f.samples_g, 1_800_000_000.0)

    def hr_path(frame: bytes) -> None:
        m: HeartRateMeasurement = decode_heart_rate(frame)
        heart_rate_payload("polar-h10", m, 1_800_000_000.0)

    acc = _rate(acc_path, acc_frames)
    hr = _rate(hr_path, hr_frames)
    per_band = 52 / 36 / acc + 1 / hr
    print(
        f"machine: {platform.machine()} {platform.python_implementation()} "
        f"{platform.python_version()}, numpy {np.__version__}, one core"
    )
    print(
        f"PMD ACC delta frame (36 x 3 samples, 8-bit deltas) decode + payload: {acc:,.0f} frames/s"
    )
    print(f"Heart Rate Measurement (contact, 2 RR) decode + payload: {hr:,.0f} frames/s")
    print(f"one Verity Sense at 52 Hz + heart rate: {per_band * 100:.3f} % of one core")


if __name__ == "__main__":
    main()
