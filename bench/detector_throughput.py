"""Samples per second per detector on one core, through ``Detector.feed`` as the gateway calls it.

Each detector gets a realistic stream for its kind: the wrist fall detector a 50 Hz
wristband in 1 s blocks (irregular timestamps, as WEDA-FALL's), the waist one a 200 Hz
belt sensor in 1 s blocks, the others scalar readings one by one. Figures: samples per
second of CPU time and the multiple of real time for the stream's own rate.

    python bench/detector_throughput.py [--seconds 600] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge.detectors import Detector  # noqa: E402
from edge.detectors.bathroom_dwell import BathroomDwellDetector  # noqa: E402
from edge.detectors.device_health import DeviceHealthDetector  # noqa: E402
from edge.detectors.fall import FallDetector, waist_defaults  # noqa: E402
from edge.detectors.home import HomeContext  # noqa: E402
from edge.detectors.inactivity import InactivityDetector  # noqa: E402
from edge.detectors.night_wandering import NightWanderingDetector  # noqa: E402
from edge.detectors.radar_fall import RadarFallDetector  # noqa: E402
from edge.detectors.sos import SosDetector  # noqa: E402
from edge.detectors.vitals import VitalsDetector  # noqa: E402
from protocol import Reading, ReadingKind  # noqa: E402

T0 = 1_767_225_600.0
HOME = HomeContext(front_doors=frozenset({"door"}), rooms={"pir": "bathroom", "door": "entrance"})


def accel_stream(rate: float, seconds: float, seed: int) -> list[Reading]:
    """Walking-like accel in 1 s blocks, with jittered (irregular) sample times."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    t = T0 + np.arange(n) / rate + rng.uniform(0, 0.3 / rate, n)
    x = np.column_stack(
        (
            0.3 * np.sin(2 * np.pi * 1.8 * (t - T0)),
            0.2 * np.cos(2 * np.pi * 0.9 * (t - T0)),
            1 + 0.4 * np.sin(2 * np.pi * 1.8 * (t - T0)) ** 2,
        )
    ) + rng.normal(0, 0.05, (n, 3))
    step = int(rate)
    return [
        Reading(
            "dev",
            float(t[a]),
            ReadingKind.ACCEL,
            samples=x[a : a + step],
            sample_ts=t[a : a + step],
        )
        for a in range(0, n, step)
    ]


def scalar_stream(kind: ReadingKind, every: float, seconds: float, seed: int) -> list[Reading]:
    """One scalar reading every ``every`` seconds."""
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(0, seconds, every)
    if kind == ReadingKind.HEART_RATE:
        vals: list[Any] = (70 + rng.normal(0, 3, len(ts))).tolist()
    else:
        vals = (rng.uniform(size=len(ts)) < 0.5).tolist()
    return [Reading("dev", float(t), kind, value=v) for t, v in zip(ts, vals, strict=True)]


def measure(make: Callable[[], Detector], readings: list[Reading], rate: float) -> dict[str, float]:
    """Best of three runs: samples per CPU second and multiple of real time."""
    n = sum(len(r.samples) if r.samples is not None else 1 for r in readings)
    span = readings[-1].end_ts - readings[0].ts
    best = float("inf")
    for _ in range(3):
        det = make()
        start = time.process_time()
        for r in readings:
            det.feed(r)
        best = min(best, time.process_time() - start)
    return {
        "samples": n,
        "cpu_s": round(best, 4),
        "samples_per_s": round(n / best),
        "x_real_time": round(span / best),
        "stream_rate_hz": rate,
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0, help="length of each stream, s")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    s = args.seconds
    cases: dict[str, tuple[Callable[[], Detector], list[Reading], float]] = {
        "fall (wrist, 50 Hz)": (
            lambda: FallDetector(device_id="dev", sample_rate_hz=50.0),
            accel_stream(50.0, s, 1),
            50.0,
        ),
        "fall (waist, 200 Hz)": (
            lambda: FallDetector(waist_defaults(), device_id="dev", sample_rate_hz=200.0),
            accel_stream(200.0, s, 2),
            200.0,
        ),
        "vitals (HR 1 Hz)": (
            lambda: VitalsDetector(device_id="dev"),
            scalar_stream(ReadingKind.HEART_RATE, 1.0, s, 3),
            1.0,
        ),
        "radar_fall (presence 1 Hz)": (
            lambda: RadarFallDetector(device_id="dev"),
            scalar_stream(ReadingKind.PRESENCE, 1.0, s, 4),
            1.0,
        ),
        "sos (1 Hz)": (
            lambda: SosDetector(device_id="dev"),
            scalar_stream(ReadingKind.SOS, 1.0, s, 5),
            1.0,
        ),
        "device_health (1 Hz)": (
            lambda: DeviceHealthDetector(device_id="dev"),
            scalar_stream(ReadingKind.HEARTBEAT, 1.0, s, 6),
            1.0,
        ),
        "inactivity (motion 1 Hz)": (
            lambda: InactivityDetector(home=HOME),
            scalar_stream(ReadingKind.MOTION, 1.0, s, 7),
            1.0,
        ),
        "night_wandering (motion 1 Hz)": (
            lambda: NightWanderingDetector(home=HOME),
            scalar_stream(ReadingKind.MOTION, 1.0, s, 8),
            1.0,
        ),
        "bathroom_dwell (motion 1 Hz)": (
            lambda: BathroomDwellDetector(home=HOME),
            [
                Reading("pir", r.ts, r.kind, value=r.value)
                for r in scalar_stream(ReadingKind.MOTION, 1.0, s, 9)
            ],
            1.0,
        ),
    }
    res = {name: measure(make, rs, rate) for name, (make, rs, rate) in cases.items()}
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{'detector':<32}{'samples/s':>12}{'x real time':>14}")
    for name, r in res.items():
        print(f"{name:<32}{r['samples_per_s']:>12}{r['x_real_time']:>14}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
