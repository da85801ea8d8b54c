"""Inactivity, not-up, night wandering and bathroom dwell: false alarms and detection delay.

Two sources, both through the gateway's path (``Reading`` objects into the home's
``DetectorBank``, ``tick`` once per simulated minute, default configuration):

* van Kasteren house A (``--root``): every sensor firing is activity (open and close are
  two door-contact readings; the front door is the home's front door). Every alarm on
  this healthy man's 28 days is false. Incidents: at ``--incidents`` random times when he
  is at home (not inside an annotated "leave house" span), everything after is removed (a
  person who stops moving) and the delay to the first inactivity / not-up alarm is
  measured; the detector's state up to that time comes from the real history (snapshots).
* simulated months from ``device_sim`` for each built-in home (``--days``): false alarms
  per resident-day with normal life only, then injected ``stop_moving`` incidents (the
  person does not move again for ``--incident-hours``) and night wandering episodes.

    python bench/inactivity_accuracy.py [--root DIR] [--json] [--no-sim]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge.detectors import Detection, DetectorBank, DetectorsConfig, build_bank  # noqa: E402
from edge.detectors.bathroom_dwell import BathroomDwellDetector  # noqa: E402
from edge.detectors.home import HomeContext  # noqa: E402
from edge.detectors.inactivity import InactivityDetector  # noqa: E402
from edge.detectors.night_wandering import NightWanderingDetector  # noqa: E402
from protocol import HomeManifest, Reading, ReadingKind, load_home  # noqa: E402

DEFAULT_ROOT = REPO.parent / "shared" / "datasets" / "kasteren-house-a"
HOMES_DIR = REPO / "device_sim" / "homes"
TICK_S = 60.0
DAY = 86400.0
HOME_KINDS = ("inactivity", "not_up", "night_wandering", "bathroom_dwell")
INCIDENT_KINDS = frozenset({"inactivity", "not_up"})
# Kasteren sensor id -> (device id, room); 12 is the front door.
KASTEREN_SENSORS = {
    1: ("microwave", "kitchen"),
    5: ("toilet-door", "bathroom"),
    6: ("bathroom-door", "bathroom"),
    7: ("cups-cupboard", "kitchen"),
    8: ("fridge", "kitchen"),
    9: ("plates-cupboard", "kitchen"),
    12: ("front-door", "entrance"),
    13: ("dishwasher", "kitchen"),
    14: ("toilet-flush", "bathroom"),
    17: ("freezer", "kitchen"),
    18: ("pans-cupboard", "kitchen"),
    20: ("washing-machine", "bathroom"),
    23: ("groceries-cupboard", "kitchen"),
    24: ("bedroom-door", "bedroom"),
}
ROW = re.compile(r"^(\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d)\s+(\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d)\s+(\d+)")


def _epoch(text: str, tz: ZoneInfo) -> float:
    return datetime.strptime(text, "%d-%b-%Y %H:%M:%S").replace(tzinfo=tz).timestamp()


def kasteren(root: Path, tz: ZoneInfo) -> tuple[list[Reading], list[tuple[float, float]]]:
    """Door-contact readings of every firing, and the annotated 'leave house' spans."""
    readings = []
    for line in (root / "kasterenSenseData.txt").read_text(errors="replace").splitlines():
        m = ROW.match(line.strip())
        if not m or int(m.group(3)) not in KASTEREN_SENSORS:
            continue
        dev = KASTEREN_SENSORS[int(m.group(3))][0]
        on, off = _epoch(m.group(1), tz), _epoch(m.group(2), tz)
        readings.append(Reading(dev, on, ReadingKind.DOOR_OPEN, value=True))
        readings.append(Reading(dev, max(on, off), ReadingKind.DOOR_OPEN, value=False))
    readings.sort(key=lambda r: r.ts)
    away = []
    acts = root / "kasterenActData.txt"
    if acts.exists():
        for line in acts.read_text(errors="replace").splitlines():
            m = ROW.match(line.strip())
            if m and m.group(3) == "1":
                away.append((_epoch(m.group(1), tz), _epoch(m.group(2), tz)))
    return readings, away


def kasteren_bank(ctx: HomeContext, cfg: DetectorsConfig) -> DetectorBank:
    """The home-wide detectors as build_bank makes them (Kasteren has no firmware profiles)."""
    return DetectorBank(
        [
            InactivityDetector(cfg.inactivity, home=ctx),
            NightWanderingDetector(cfg.night_wandering, home=ctx),
            BathroomDwellDetector(cfg.bathroom_dwell, home=ctx),
        ]
    )


def stream(
    bank: DetectorBank, readings: Iterable[Reading], start: float, end: float
) -> list[Detection]:
    """Feed readings in order with a tick every simulated minute from ``start`` to ``end``."""
    out: list[Detection] = []
    nxt = start
    for r in readings:
        while nxt <= r.ts:
            out += bank.tick(nxt)
            nxt += TICK_S
        out += bank.feed(r)
    while nxt <= end:
        out += bank.tick(nxt)
        nxt += TICK_S
    return out


def delays_summary(delays: Sequence[float | None], ceiling_s: float) -> dict[str, Any]:
    """Median / p90 / max delay in hours, and the share detected within the ceiling."""
    got = np.array([d for d in delays if d is not None]) / 3600.0
    return {
        "incidents": len(delays),
        "detected": len(got),
        "within_ceiling": int((got <= ceiling_s / 3600.0).sum()),
        "median_h": round(float(np.median(got)), 2) if len(got) else None,
        "p90_h": round(float(np.percentile(got, 90)), 2) if len(got) else None,
        "max_h": round(float(got.max()), 2) if len(got) else None,
    }


def incident_delays(
    make_bank: Any,
    readings: list[Reading],
    times: np.ndarray,
    horizon_s: float,
    start: float,
) -> list[float | None]:
    """Delay to the first inactivity/not-up alarm after each incident time (state replayed
    from the real history; snapshots every day keep it cheap)."""
    snaps: list[tuple[float, int, list[dict[str, Any]], float]] = []
    bank = make_bank()
    ts = np.array([r.ts for r in readings])
    nxt, i = start, 0
    day_end = start
    while day_end <= times.max() + DAY:
        snaps.append((day_end, i, json.loads(json.dumps(bank.state())), nxt))
        day_end += DAY
        j = int(np.searchsorted(ts, day_end, side="left"))
        stream(bank, readings[i:j], nxt, day_end - TICK_S)
        nxt = day_end
        i = j
    out: list[float | None] = []
    for t in times:
        k = max(s for s in range(len(snaps)) if snaps[s][0] <= t)
        snap_t, i0, state, _ = snaps[k]
        bank = make_bank()
        bank.restore(json.loads(json.dumps(state)))
        j = int(np.searchsorted(ts, t, side="right"))
        dets = stream(bank, readings[i0:j], snap_t, t + horizon_s)
        hit = [d.ts for d in dets if d.active and str(d.kind) in INCIDENT_KINDS and d.ts >= t]
        out.append(min(hit) - t if hit else None)
    return out


def false_alarms(dets: list[Detection], days: float) -> dict[str, Any]:
    """Active alarms per home-wide kind, and per resident-day."""
    n = Counter(str(d.kind) for d in dets if d.active and str(d.kind) in HOME_KINDS)
    per_day = {k: round(n.get(k, 0) / days, 4) for k in HOME_KINDS}
    return {
        "days": round(days, 2),
        "alarms": {k: n.get(k, 0) for k in HOME_KINDS},
        "per_resident_day": per_day,
        "inactivity_and_not_up_per_day": round((n["inactivity"] + n["not_up"]) / days, 4),
    }


def run_kasteren(root: Path, args: argparse.Namespace, cfg: DetectorsConfig) -> dict[str, Any]:
    """False alarms over the 28 days, and injected incidents."""
    tz = ZoneInfo("Europe/Amsterdam")
    readings, away = kasteren(root, tz)
    ctx = HomeContext(
        timezone="Europe/Amsterdam",
        sleep=args.sleep,
        wake=args.wake,
        front_doors=frozenset({"front-door"}),
        rooms={dev: room for dev, room in KASTEREN_SENSORS.values()},
    )
    start, end = readings[0].ts, readings[-1].ts
    dets = stream(kasteren_bank(ctx, cfg), readings, start, end)
    res = {"source": str(root), **false_alarms(dets, (end - start) / DAY)}
    rng = np.random.default_rng(args.seed)
    cands = rng.uniform(start + 2 * DAY, end - DAY, args.incidents * 4)
    home = [t for t in cands if not any(a <= t < b for a, b in away)][: args.incidents]
    times = np.sort(np.asarray(home))
    delays = incident_delays(lambda: kasteren_bank(ctx, cfg), readings, times, 2 * DAY, start)
    hours = np.array([ctx.hour(float(t)) for t in times])
    day = (hours >= 8) & (hours < 20)
    ceiling = cfg.inactivity.ceiling_s
    res["incidents"] = {
        "all": delays_summary(delays, ceiling),
        "daytime_08_20": delays_summary(
            [d for d, k in zip(delays, day, strict=True) if k], ceiling
        ),
        "night_20_08": delays_summary(
            [d for d, k in zip(delays, day, strict=True) if not k], ceiling
        ),
    }
    return res


def simulate(home: HomeManifest, days: float, seed: int, episodes: Sequence[Any] = ()) -> Any:
    """device_sim's months (imported late: the simulator is a bench-only dependency)."""
    from device_sim.engine import simulate_readings

    return simulate_readings(home, start=START, days=days, seed=seed, episodes=episodes)


START = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def run_sim(args: argparse.Namespace, cfg: DetectorsConfig) -> dict[str, Any]:
    """Normal months per built-in home, then stop-moving and night-wandering incidents."""
    from device_sim.engine import Episode
    from firmware_profiles import load_library

    lib = load_library()
    out: dict[str, Any] = {}
    all_delays: list[float | None] = []
    day_delays: list[float | None] = []
    wander = [0, 0]
    total_days, total = 0.0, Counter[str]()
    for path in sorted(HOMES_DIR.glob("*.yaml")):
        home = load_home(path)
        sim = simulate(home, args.days, args.seed)
        dets = stream(build_bank(home, lib, cfg), sim.readings, START, START + args.days * DAY)
        fa = false_alarms(dets, args.days)
        total_days += args.days
        total.update({k: v for k, v in fa["alarms"].items()})
        rng = np.random.default_rng([args.seed, len(home.home_id)])
        eps, kinds = [], []
        for d in range(3, int(args.days) - 1, 3):
            if rng.uniform() < 0.7:
                at = START + d * DAY + rng.uniform(0, DAY)
                eps.append(Episode("stop_moving", at, args.incident_hours * 3600.0))
                kinds.append("stop")
            else:
                at = START + d * DAY + rng.uniform(1, 4) * 3600.0 - 8 * 3600.0
                eps.append(Episode("night_wandering", at))
                kinds.append("wander")
        sim2 = simulate(home, args.days, args.seed + 1, eps)
        ctx = HomeContext.from_manifest(home)
        dets2 = stream(build_bank(home, lib, cfg), sim2.readings, START, START + args.days * DAY)
        for truth in sim2.truth:
            if truth.event == "stop_moving":
                hit = [
                    d.ts
                    for d in dets2
                    if d.active
                    and str(d.kind) in INCIDENT_KINDS
                    and truth.ts <= d.ts <= truth.ts + truth.window_s
                ]
                delay = min(hit) - truth.ts if hit else None
                all_delays.append(delay)
                if 8 <= ctx.hour(truth.ts) < 20:
                    day_delays.append(delay)
            elif truth.event == "night_wandering":
                wander[0] += 1
                wander[1] += any(
                    d.active
                    and str(d.kind) == "night_wandering"
                    and truth.ts - 60 <= d.ts <= truth.ts + truth.window_s
                    for d in dets2
                )
        out[home.home_id] = fa
    ceiling = cfg.inactivity.ceiling_s
    return {
        "homes": out,
        "resident_days": total_days,
        "per_resident_day": {k: round(total.get(k, 0) / total_days, 4) for k in HOME_KINDS},
        "inactivity_and_not_up_per_day": round(
            (total.get("inactivity", 0) + total.get("not_up", 0)) / total_days, 4
        ),
        "stop_moving": {
            "all": delays_summary(all_delays, ceiling),
            "daytime_08_20": delays_summary(day_delays, ceiling),
        },
        "night_wandering_recall": round(wander[1] / wander[0], 4) if wander[0] else None,
        "night_wandering_episodes": wander[0],
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="Kasteren house A folder")
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--sleep", default="23:30", help="Kasteren resident's usual bedtime")
    ap.add_argument("--wake", default="08:30", help="Kasteren resident's usual wake time")
    ap.add_argument("--incidents", type=int, default=100, help="injected incidents (Kasteren)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=float, default=30.0, help="simulated days per home")
    ap.add_argument("--incident-hours", type=float, default=16.0, help="stop-moving length")
    ap.add_argument("--no-sim", action="store_true", help="skip the simulated months")
    args = ap.parse_args(argv)
    cfg = DetectorsConfig()
    res: dict[str, Any] = {"kasteren": run_kasteren(args.root, args, cfg)}
    if not args.no_sim:
        res["simulated"] = run_sim(args, cfg)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    k = res["kasteren"]
    print(f"Kasteren house A, {k['days']} days: alarms {k['alarms']}")
    print(f"  inactivity + not-up false alarms per day: {k['inactivity_and_not_up_per_day']}")
    for name, s in k["incidents"].items():
        print(f"  incidents {name}: {s}")
    if "simulated" in res:
        s = res["simulated"]
        print(f"simulated, {s['resident_days']} resident-days: per day {s['per_resident_day']}")
        for name, v in s["stop_moving"].items():
            print(f"  stop-moving {name}: {v}")
        print(f"  night wandering recall {s['night_wandering_recall']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
