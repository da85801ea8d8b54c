"""Inactivity, not-up, night wandering and bathroom dwell: false alarms and detection delay.

Through the gateway's path (``Reading`` objects into the home's detectors, ``tick`` once
per simulated minute, default configuration, no sleep or wake time given):

* homes in the generic ambient-homes format (``--home DIR``, repeatable; see that
  folder's README): every firing is an "on" reading at its start and "off" at its end
  (contacts and appliances as contacts, PIRs as motion, pressure mats as occupancy, the
  front doors as the home's front doors). Every alarm on these healthy residents' records
  is false. Incidents: at ``--incidents`` seeded random times when the resident is at home
  (not inside an ``away.csv`` span), everything after is removed (a person who stops
  moving) and the delay to the first inactivity / not-up alarm is measured; the
  detectors' state up to that time comes from the real history (daily snapshots).
  Printed per home and pooled.
* ``--sim``: simulated months from ``device_sim`` for each built-in home (``--days``):
  false alarms per resident-day with normal life only, then injected ``stop_moving``
  incidents (the person does not move again for ``--incident-hours``) and night
  wandering episodes.

    python bench/inactivity_accuracy.py [--home DIR ...] [--json] [--sim]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge.detectors import Detection, DetectorBank, DetectorsConfig, build_bank  # noqa: E402
from edge.detectors.home import HomeContext  # noqa: E402
from edge.detectors.registry import REGISTRATIONS, HomeSite  # noqa: E402
from protocol import HomeManifest, Reading, ReadingKind, load_home  # noqa: E402

AMBIENT = REPO.parent / "shared" / "datasets" / "ambient-homes"
DEFAULT_HOMES = (AMBIENT / "kasteren-a",)
HOMES_DIR = REPO / "device_sim" / "homes"
TICK_S = 60.0
DAY = 86400.0
HOME_KINDS = ("inactivity", "not_up", "night_wandering", "bathroom_dwell")
MAINTENANCE_KINDS = ("sensor_silent",)
INCIDENT_KINDS = frozenset({"inactivity", "not_up"})
# sensors.csv kind -> the reading kind its firing becomes (contacts and appliances are
# contacts that open and close; a pressure mat is occupancy while pressed)
SENSOR_READINGS = {
    "motion": ReadingKind.MOTION,
    "contact": ReadingKind.DOOR_OPEN,
    "appliance": ReadingKind.DOOR_OPEN,
    "front_door": ReadingKind.DOOR_OPEN,
    "pressure": ReadingKind.OCCUPANCY,
}


class HomeFormatError(ValueError):
    """A home folder that is not in the ambient-homes format (names file and line)."""


@dataclass(frozen=True)
class AmbientHome:
    """One home of the ambient-homes format, as readings."""

    name: str
    ctx: HomeContext
    readings: list[Reading]
    away: list[tuple[float, float]]
    start: float
    end: float


def _rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV file whose header must hold ``columns``."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = set(columns) - set(reader.fieldnames or ())
            if missing:
                raise HomeFormatError(f"{path}: header lacks {sorted(missing)}")
            for row in reader:
                yield reader.line_num, row
    except (OSError, UnicodeDecodeError) as exc:
        raise HomeFormatError(f"{path}: {exc}") from exc


def _seconds(path: Path, line: int, row: dict[str, str], col: str) -> float:
    try:
        value = float(row[col])
    except (TypeError, ValueError):
        raise HomeFormatError(f"{path}:{line}: {col} {row[col]!r} is not Unix seconds") from None
    if not math.isfinite(value):
        raise HomeFormatError(f"{path}:{line}: {col} {row[col]!r} is not Unix seconds")
    return value


def load_ambient_home(folder: Path) -> AmbientHome:
    """Read ``home.json``, ``sensors.csv``, ``events.csv`` and ``away.csv`` of one home.

    Each firing becomes an "on" reading at its start and an "off" reading at its end; no
    sleep or wake time is given to the detectors (they learn them)."""
    try:
        meta = json.loads((folder / "home.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HomeFormatError(f"{folder / 'home.json'}: {exc}") from exc
    sensors: dict[str, tuple[str, ReadingKind]] = {}
    front = {str(d) for d in meta.get("front_doors", [])}
    path = folder / "sensors.csv"
    for line, row in _rows(path, ("sensor", "room", "kind")):
        if row["kind"] not in SENSOR_READINGS:
            raise HomeFormatError(f"{path}:{line}: unknown sensor kind {row['kind']!r}")
        sensors[row["sensor"]] = (row["room"], SENSOR_READINGS[row["kind"]])
        if row["kind"] == "front_door":
            front.add(row["sensor"])
    readings: list[Reading] = []
    path = folder / "events.csv"
    for line, row in _rows(path, ("start", "end", "sensor")):
        if row["sensor"] not in sensors:
            raise HomeFormatError(f"{path}:{line}: sensor {row['sensor']!r} not in sensors.csv")
        on, off = _seconds(path, line, row, "start"), _seconds(path, line, row, "end")
        kind = sensors[row["sensor"]][1]
        readings.append(Reading(row["sensor"], on, kind, value=True))
        readings.append(Reading(row["sensor"], max(on, off), kind, value=False))
    if not readings:
        raise HomeFormatError(f"{path}: no events")
    readings.sort(key=lambda r: r.ts)
    path = folder / "away.csv"
    away = [
        (_seconds(path, line, row, "start"), _seconds(path, line, row, "end"))
        for line, row in (_rows(path, ("start", "end")) if path.exists() else iter(()))
    ]
    ctx = HomeContext(
        timezone=str(meta.get("timezone", "UTC")),
        front_doors=frozenset(front),
        rooms={s: room for s, (room, _) in sensors.items()},
    )
    name = str(meta.get("name") or folder.name)
    return AmbientHome(name, ctx, readings, away, readings[0].ts, readings[-1].ts)


def home_bank(ctx: HomeContext, cfg: DetectorsConfig) -> DetectorBank:
    """The home-wide detectors as build_bank makes them (these homes have no profiles:
    their sensors count as the motion and door families)."""
    site = HomeSite(ctx, frozenset({"motion", "door"}), frozenset())
    return DetectorBank(
        [r.build(cfg, site) for r in REGISTRATIONS if r.scope == "home" and r.applies(cfg, site)]
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
    """Active alarms per home-wide kind, per resident-day; maintenance alarms apart."""
    n = Counter(str(d.kind) for d in dets if d.active)
    return {
        "resident_days": round(days, 2),
        "alarms": {k: n.get(k, 0) for k in HOME_KINDS},
        "false_alarms_per_resident_day": round(sum(n.get(k, 0) for k in HOME_KINDS) / days, 4),
        "false_alarms_by_kind": {k: round(n.get(k, 0) / days, 4) for k in HOME_KINDS},
        "maintenance_alarms": {k: n.get(k, 0) for k in MAINTENANCE_KINDS},
    }


def incident_times(home: AmbientHome, n: int, seed: int) -> np.ndarray:
    """``n`` seeded random times when the resident is at home, after two days of history and
    a day before the end of the data. At home: not in an ``away.csv`` span, and not between
    a front-door event and the next firing inside (unannotated outings; a resident who
    collapses in the doorway on coming back is not part of this measure)."""
    rng = np.random.default_rng([seed, *home.name.encode()])
    cands = rng.uniform(home.start + 2 * DAY, home.end - DAY, n * 4)
    door = np.array([r.ts for r in home.readings if r.device_id in home.ctx.front_doors])
    inside = np.array([r.ts for r in home.readings if r.device_id not in home.ctx.front_doors])

    def last(ts: np.ndarray, t: float) -> float:
        i = int(np.searchsorted(ts, t, side="right"))
        return float(ts[i - 1]) if i else -math.inf

    at_home = [
        t
        for t in cands
        if not any(a <= t < b for a, b in home.away) and last(door, t) < last(inside, t)
    ][:n]
    return np.sort(np.asarray(at_home))


def incidents(
    delays: Sequence[float | None], day: Sequence[bool], ceiling_s: float
) -> dict[str, Any]:
    """Delay summaries: all, daytime (08-20 h local, ``day``) and night-time."""
    return {
        "all": delays_summary(delays, ceiling_s),
        "daytime_08_20": delays_summary(
            [d for d, k in zip(delays, day, strict=True) if k], ceiling_s
        ),
        "night_20_08": delays_summary(
            [d for d, k in zip(delays, day, strict=True) if not k], ceiling_s
        ),
    }


def run_home(folder: Path, args: argparse.Namespace, cfg: DetectorsConfig) -> dict[str, Any]:
    """False alarms over the home's whole record, and injected stop-moving incidents."""
    home = load_ambient_home(folder)
    dets = stream(home_bank(home.ctx, cfg), home.readings, home.start, home.end)
    res: dict[str, Any] = {
        "name": home.name,
        "source": str(folder),
        **false_alarms(dets, (home.end - home.start) / DAY),
    }
    times = incident_times(home, args.incidents, args.seed)
    delays = incident_delays(
        lambda: home_bank(home.ctx, cfg), home.readings, times, 2 * DAY, home.start
    )
    day = [8 <= home.ctx.hour(float(t)) < 20 for t in times]
    res["incidents"] = incidents(delays, day, cfg.inactivity.ceiling_s)
    res["daytime_median_delay_h"] = res["incidents"]["daytime_08_20"]["median_h"]
    res["_delays"] = (delays, day)
    return res


def pooled(homes: list[dict[str, Any]], ceiling_s: float) -> dict[str, Any]:
    """Every home's alarms and incidents together."""
    days = sum(h["resident_days"] for h in homes)
    n = Counter[str]()
    for h in homes:
        n.update(h["alarms"])
    delays = [d for h in homes for d in h["_delays"][0]]
    day = [k for h in homes for k in h["_delays"][1]]
    inc = incidents(delays, day, ceiling_s)
    return {
        "homes": len(homes),
        "resident_days": round(days, 2),
        "alarms": {k: n.get(k, 0) for k in HOME_KINDS},
        "false_alarms_per_resident_day": round(sum(n.get(k, 0) for k in HOME_KINDS) / days, 4),
        "false_alarms_by_kind": {k: round(n.get(k, 0) / days, 4) for k in HOME_KINDS},
        "incidents": inc,
        "daytime_median_delay_h": inc["daytime_08_20"]["median_h"],
    }


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
        "night_wandering": {
            "episodes": wander[0],
            "detected": wander[1],
            "recall": round(wander[1] / wander[0], 4) if wander[0] else None,
        },
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--home",
        type=Path,
        action="append",
        help="a home folder in the ambient-homes format (repeatable; default: kasteren-a)",
    )
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--incidents", type=int, default=100, help="injected incidents per home")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sim", action="store_true", help="also the simulated months")
    ap.add_argument("--days", type=float, default=30.0, help="simulated days per home")
    ap.add_argument("--incident-hours", type=float, default=16.0, help="stop-moving length")
    args = ap.parse_args(argv)
    cfg = DetectorsConfig()
    try:
        homes = [run_home(folder, args, cfg) for folder in args.home or DEFAULT_HOMES]
    except HomeFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    res: dict[str, Any] = {"pooled": pooled(homes, cfg.inactivity.ceiling_s)}
    res["homes"] = [{k: v for k, v in h.items() if k != "_delays"} for h in homes]
    if args.sim:
        res["simulated"] = run_sim(args, cfg)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    for h in [*res["homes"], {"name": "pooled", **res["pooled"]}]:
        print(f"{h['name']}: {h['resident_days']} resident-days, alarms {h['alarms']}")
        print(f"  false alarms per resident-day: {h['false_alarms_per_resident_day']}")
        print(f"    by kind: {h['false_alarms_by_kind']}")
        for name, s in h["incidents"].items():
            print(f"  incidents {name}: {s}")
    if "simulated" in res:
        s = res["simulated"]
        print(f"simulated, {s['resident_days']} resident-days: per day {s['per_resident_day']}")
        for name, v in s["stop_moving"].items():
            print(f"  stop-moving {name}: {v}")
        wander = s["night_wandering"]
        print(f"  night wandering: {wander['detected']} of {wander['episodes']} episodes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
