"""The subcommands of ``carewatch-sim`` (argument parsing lives in cli.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from device_sim.datasets import list_trials, load_trial
from device_sim.encode import Encoder
from device_sim.engine import HomeSim, random_episodes
from device_sim.episodes import TruthEvent
from device_sim.fleet import fleet_homes
from device_sim.mqtt import BrokerConfig, Publisher
from device_sim.player import Player, PlayStats, Source
from device_sim.profiles import home_specs
from device_sim.replay import TrialSource
from device_sim.scenario import builtin_paths, find_scenario, load_scenario
from device_sim.timespec import parse_start
from device_sim.zigbee2mqtt import Zigbee2MQTTBridge
from protocol.home import HomeManifest, load_home
from protocol.yamlfile import FileError

HOMES_DIR = Path(__file__).resolve().parent / "homes"
FLEET_MAX_RATE = 2000.0


class UsageError(ValueError):
    """Bad input on the command line; the message says which argument and why."""


def default_datasets() -> Path:
    """``$CAREWATCH_DATASETS`` or ``../shared/datasets`` beside the repository."""
    env = os.environ.get("CAREWATCH_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"


def _publisher(args: argparse.Namespace, max_rate: float | None) -> Publisher:
    try:
        cfg = BrokerConfig.from_url(
            args.broker,
            username=args.username,
            password=args.password,
            tls=args.tls,
            ca_file=args.ca_file,
            insecure=args.insecure,
            client_id=args.client_id,
        )
    except ValueError as exc:
        raise UsageError(f"--broker: {exc}") from None
    return Publisher(cfg, max_rate=max_rate, reconnect_timeout_s=args.reconnect_timeout)


def write_truth(path: str | None, events: Iterable[TruthEvent]) -> None:
    """Ground truth as JSON lines (nothing when ``path`` is None)."""
    if path is None:
        return
    with open(path, "w", encoding="utf-8") as fh:
        for e in events:
            fh.write(json.dumps(e.to_json()) + "\n")


def _play(args: argparse.Namespace, player: Player, truth_fallback: list[TruthEvent]) -> int:
    player.publisher.connect()
    stats: PlayStats | None = None
    try:
        stats = player.run()
    finally:
        player.publisher.close()
        done = stats.truth if stats is not None else player.stats.truth or truth_fallback
        write_truth(args.truth, done)
    print(
        f"published {stats.messages} messages in {stats.wall_s:.1f} s "
        f"({stats.rate:,.0f} msg/s, x{stats.achieved_speed:,.0f} simulated speed, "
        f"{stats.reconnects} reconnects, {player.publisher.unconfirmed} unconfirmed)",
        file=sys.stderr,
    )
    return 0


def _player(
    args: argparse.Namespace,
    sources: list[Source],
    homes: list[HomeManifest],
    start: float,
    end: float,
    speed: float,
    max_rate: float | None,
    **extra: object,
) -> Player:
    return Player(
        sources=sources,
        encoder=Encoder(homes, qos=args.qos, z2m=args.z2m),
        publisher=_publisher(args, max_rate),
        start=start,
        end=end,
        speed=speed,
        home_of={d.device_id: h.home_id for h in homes for d in h.devices},
        publish_truth=args.publish_truth,
        progress=None if args.quiet else sys.stderr,
        bridge=Zigbee2MQTTBridge(homes, version=2 if args.z2m == "2.x" else 1),
        **extra,  # type: ignore[arg-type]
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Play one scenario, or several side by side on one simulated clock."""
    scenarios = [load_scenario(find_scenario(name)) for name in args.scenario]
    homes = [sc.home.home_id for sc in scenarios]
    twice = sorted({h for h in homes if homes.count(h) > 1})
    if twice:
        raise UsageError(f"scenario: home {', '.join(twice)} is played by two scenarios")
    first = scenarios[0]
    start = min(sc.start for sc in scenarios)
    end = max(sc.end for sc in scenarios)
    if args.duration is not None:
        end = min(end, start + args.duration)
    seed = first.seed if args.seed is None else args.seed
    datasets = Path(args.datasets) if args.datasets else default_datasets()
    sims: list[Source] = []
    faults = []
    for sc in scenarios:
        if sc.start >= end:
            raise UsageError(f"--duration: scenario {sc.name} would not start before the end")
        sims.append(
            HomeSim(
                sc.home,
                start=sc.start,
                end=min(sc.end, end),
                seed=seed,
                episodes=[e for e in sc.episodes if e.at < end],
                accel=sc.accel and not args.no_accel,
                datasets_dir=datasets,
            )
        )
        faults += [f for f in sc.faults if f.at < end]
    player = _player(
        args,
        sims,
        [sc.home for sc in scenarios],
        start,
        end,
        args.speed or first.speed,
        args.max_rate,
        faults=faults,
        seed=seed,
    )
    return _play(args, player, [e for s in sims for e in s.truth])


def cmd_scenarios(args: argparse.Namespace) -> int:
    """List the built-in scenarios."""
    rows = [load_scenario(p).summary() for p in builtin_paths()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['name']:<22} {r['duration_s'] / 60:7.0f} min  {r['description']}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario and manifest files; print each problem."""
    failed = 0
    for name in args.files:
        try:
            data = yaml.safe_load(Path(name).read_text(encoding="utf-8"))
            if isinstance(data, dict) and "devices" in data:
                home = load_home(name)
                home_specs(home)
            else:
                load_scenario(name)
            print(f"ok {name}")
        except (FileError, ValueError, OSError, yaml.YAMLError) as exc:
            failed += 1
            print(f"{exc}" if isinstance(exc, FileError) else f"{name}: {exc}", file=sys.stderr)
    return 1 if failed else 0


def _start(text: str | None, tz: str, default_hour: int) -> float:
    if text is None:
        now = datetime.now(ZoneInfo(tz))
        return now.replace(hour=default_hour, minute=0, second=0, microsecond=0).timestamp()
    try:
        return parse_start(text, tz)
    except ValueError:
        raise UsageError(f"--start: {text!r} is not an ISO datetime") from None


def cmd_fleet(args: argparse.Namespace) -> int:
    """Simulate many homes at once."""
    paths = args.template or [str(p) for p in sorted(HOMES_DIR.glob("*.yaml"))]
    templates = [load_home(p) for p in paths]
    homes = fleet_homes(templates, args.homes, args.seed or 0)
    start = _start(args.start, homes[0].timezone, 8)
    end = start + args.duration
    days = args.duration / 86400.0
    sims: list[Source] = []
    for i, home in enumerate(homes):
        eps = random_episodes(
            home, start=start, days=days, seed=(args.seed or 0) + i, per_day=args.incidents_per_day
        )
        sims.append(
            HomeSim(
                home,
                start=start,
                end=end,
                seed=(args.seed or 0) + i,
                episodes=eps,
                accel=not args.no_accel,
            )
        )
        if not args.quiet and (i + 1) % 100 == 0:
            print(f"\rbuilding homes {i + 1}/{len(homes)}", end="", file=sys.stderr, flush=True)
    if not args.quiet:
        print(f"\rbuilt {len(homes)} homes", file=sys.stderr)
    player = _player(
        args,
        sims,
        homes,
        start,
        end,
        args.speed or 60.0,
        args.max_rate or FLEET_MAX_RATE,
        seed=args.seed or 0,
    )
    return _play(args, player, [])


def _replay_target(args: argparse.Namespace) -> tuple[HomeManifest, str, float]:
    default = "flat_li.yaml" if args.dataset == "weda-fall" else "house_wang.yaml"
    home = load_home(args.home or HOMES_DIR / default)
    specs = home_specs(home)
    accel = [d for d in home.devices if "accel" in specs[d.device_id].kinds]
    device = args.device or (accel[0].device_id if accel else None)
    if device is None or device not in specs:
        raise UsageError(f"--device: {device!r} is not a device of home {home.home_id}")
    if "accel" not in specs[device].kinds:
        raise UsageError(f"--device: {device} has no accelerometer in its profile")
    return home, device, float(specs[device].sample_rate_hz or 50.0)


def cmd_replay(args: argparse.Namespace) -> int:
    """Publish a recorded trial as one device's accelerometer stream."""
    root = Path(args.datasets) if args.datasets else default_datasets()
    if args.list:
        for name in list_trials(root, args.dataset):
            print(name)
        return 0
    if not args.trial:
        raise UsageError("replay: give a TRIAL (see --list)")
    home, device, rate = _replay_target(args)
    trial = load_trial(root, args.dataset, args.trial, rate)
    start = _start(args.start, home.timezone, 0) if args.start else time.time()
    src = TrialSource(trial, home_id=home.home_id, device_id=device, start=start)
    player = _player(
        args,
        [src],
        [home],
        start,
        src.end + 1.0,
        args.speed or 1.0,
        args.max_rate,
        seed=args.seed or 0,
    )
    return _play(args, player, src.truth)


def cmd_readings(args: argparse.Namespace) -> int:
    """Print a home's simulated readings as JSON lines."""
    home = load_home(args.home)
    start = _start(args.start, home.timezone, 0)
    sim = HomeSim(
        home, start=start, end=start + args.days * 86400.0, seed=args.seed, accel=args.accel
    )
    out = sys.stdout
    for reading in sim.readings(sim.start, sim.end):
        out.write(json.dumps(reading.to_json()) + "\n")
    write_truth(args.truth, sim.truth)
    return 0
