"""Vital-sign, device-health, SOS and fall alarms: precision and recall on simulated months.

For each built-in home of ``device_sim`` (or ``--home FILE``), ``--days`` of normal life
with random injected episodes (the simulator's mix: tachycardia, bradycardia, SpO2 low,
SOS, device offline, battery dying, band off the wrist, falls with the wearable's accel
replayed from the public datasets, ...) go through the home's
``DetectorBank`` exactly as on the gateway (``build_bank``, default configuration, a tick
every simulated minute). The simulator's ground truth says which alarm each episode
should raise and how long after its start it may fairly arrive.

A truth event is recalled when an active detection of its alarm kind (same device when
the truth names one) starts within [ts - 60 s, ts + window + ``--slack``]; a detection is
precise when it matches some truth event that way. Episodes during which the device sent
none of the readings the alarm needs (a band whose battery died earlier, a bed radar with
nobody in bed) cannot be seen by any detector: they are counted as ``unobservable`` and
left out of recall. Identical truth events (same time, device and alarm) count once.

    python bench/vitals_accuracy.py [--days 30] [--seeds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.fall_accuracy import DEFAULT_ROOTS  # noqa: E402
from bench.inactivity_accuracy import DAY, HOMES_DIR, START, stream  # noqa: E402
from edge.detectors import Detection, DetectorsConfig, build_bank  # noqa: E402
from protocol import load_home  # noqa: E402

DATASETS = DEFAULT_ROOTS["weda"].parent
KINDS = (
    "fall",
    "heart_rate_high",
    "heart_rate_low",
    "spo2_low",
    "sos",
    "device_offline",
    "battery_low",
    "off_wrist",
)


# What a device must report during an episode for the alarm to be observable at all.
NEEDS_READINGS: dict[str, tuple[str, ...]] = {
    "fall": ("accel",),
    "heart_rate_high": ("heart_rate",),
    "heart_rate_low": ("heart_rate",),
    "spo2_low": ("spo2",),
    "sos": ("sos",),
    "off_wrist": ("worn",),
    "battery_low": ("battery", "voltage"),
}


def observable(truth: Any, seen: dict[tuple[str, str], list[float]]) -> bool:
    """Whether the truth's device sent the readings its alarm needs during the episode."""
    end = truth.ts + max(truth.window_s, 60.0)
    return any(
        truth.ts - 60.0 <= t <= end
        for kind in NEEDS_READINGS[truth.expected_alarm]
        for t in seen.get((truth.device_id or "", kind), [])
    )


def matches(d: Detection, truth: Any, slack: float) -> bool:
    """Whether a detection answers a truth event."""
    if not d.active or str(d.kind) != truth.expected_alarm:
        return False
    if truth.device_id is not None and d.device_id not in (None, truth.device_id):
        return False
    return truth.ts - 60.0 <= d.ts <= truth.ts + max(truth.window_s, 60.0) + slack


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    from device_sim.engine import random_episodes, simulate_readings
    from firmware_profiles import load_library

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--seeds", type=int, default=2, help="simulated months per home")
    ap.add_argument("--per-day", type=float, default=1.0, help="episodes per day")
    ap.add_argument("--slack", type=float, default=600.0, help="extra time after the window, s")
    ap.add_argument("--home", type=Path, action="append", help="home manifest (default: all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    lib = load_library()
    cfg = DetectorsConfig()
    tp: dict[str, int] = defaultdict(int)
    n_truth: dict[str, int] = defaultdict(int)
    n_det: dict[str, int] = defaultdict(int)
    precise: dict[str, int] = defaultdict(int)
    unobservable: dict[str, int] = defaultdict(int)
    for path in args.home or sorted(HOMES_DIR.glob("*.yaml")):
        home = load_home(path)
        for seed in range(args.seeds):
            eps = random_episodes(
                home, start=START, days=args.days, seed=seed, per_day=args.per_day
            )
            sim = simulate_readings(
                home,
                start=START,
                days=args.days,
                seed=seed,
                episodes=eps,
                accel=True,
                datasets_dir=DATASETS if DATASETS.exists() else None,
            )
            dets = stream(build_bank(home, lib, cfg), sim.readings, START, START + args.days * DAY)
            unique = {(t.ts, t.device_id, t.expected_alarm): t for t in sim.truth}
            truths = [t for t in unique.values() if t.expected_alarm in KINDS]
            seen: dict[tuple[str, str], list[float]] = defaultdict(list)
            for r in sim.readings:
                seen[(r.device_id, str(r.kind))].append(r.ts)
            for t in truths:
                if t.expected_alarm in NEEDS_READINGS and not observable(t, seen):
                    unobservable[t.expected_alarm] += 1
                    continue
                n_truth[t.expected_alarm] += 1
                tp[t.expected_alarm] += any(matches(d, t, args.slack) for d in dets)
            for d in dets:
                if d.active and str(d.kind) in KINDS:
                    n_det[str(d.kind)] += 1
                    precise[str(d.kind)] += any(matches(d, t, args.slack) for t in truths)
    res = {
        kind: {
            "episodes": n_truth[kind],
            "unobservable": unobservable[kind],
            "alarms": n_det[kind],
            "recall": round(tp[kind] / n_truth[kind], 4) if n_truth[kind] else None,
            "precision": round(precise[kind] / n_det[kind], 4) if n_det[kind] else None,
        }
        for kind in KINDS
    }
    all_t, all_d = sum(n_truth.values()), sum(n_det.values())
    res["all"] = {
        "episodes": all_t,
        "alarms": all_d,
        "recall": round(sum(tp.values()) / all_t, 4) if all_t else None,
        "precision": round(sum(precise.values()) / all_d, 4) if all_d else None,
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{'kind':<18}{'episodes':>9}{'alarms':>8}{'recall':>8}{'precision':>10}")
    for kind, r in res.items():
        rec = "-" if r["recall"] is None else f"{r['recall']:.3f}"
        pre = "-" if r["precision"] is None else f"{r['precision']:.3f}"
        print(f"{kind:<18}{r['episodes']:>9}{r['alarms']:>8}{rec:>8}{pre:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
