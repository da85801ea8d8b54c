"""``carewatch-sim``: run scenarios, fleets and dataset replays into an MQTT broker."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from device_sim import commands
from device_sim.datasets import DATASETS
from device_sim.mqtt import BrokerError
from device_sim.profiles import use_extra_dirs
from device_sim.timespec import parse_duration
from protocol.yamlfile import FileError


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _broker_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("broker")
    g.add_argument(
        "--broker",
        default="mqtt://127.0.0.1:1883",
        help="mqtt://host:port or mqtts://host:port (default %(default)s)",
    )
    g.add_argument("--username", help="broker user name")
    g.add_argument("--password", help="broker password")
    g.add_argument("--tls", action="store_true", help="use TLS even for an mqtt:// URL")
    g.add_argument("--ca-file", help="CA certificate bundle for TLS")
    g.add_argument("--insecure", action="store_true", help="TLS without host name checks")
    g.add_argument("--client-id", default="", help="MQTT client id (default: random)")
    g.add_argument(
        "--qos",
        type=int,
        choices=(0, 1, 2),
        help="QoS for every message (default: Zigbee2MQTT devices 0, SOS buttons and doors 1 "
        "as the install guide sets them; others 1 for SOS/door/fall flags, else 0)",
    )
    g.add_argument("--max-rate", type=_positive, help="at most this many messages per second")
    g.add_argument(
        "--z2m",
        choices=("1.x", "2.x"),
        default="1.x",
        help="Zigbee2MQTT major version whose payloads to play (default %(default)s; 2.x: "
        "illuminance in lux, no illuminance_lux, bridge state and availability as JSON)",
    )
    g.add_argument(
        "--reconnect-timeout",
        type=_positive,
        default=60.0,
        help="give up after the broker is unreachable this long, s (default 60)",
    )


def _play_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--speed", type=_positive, help="simulated seconds per wall second")
    p.add_argument("--seed", type=int, help="random seed (same seed, same run)")
    p.add_argument("--truth", help="write ground truth here as JSON lines")
    p.add_argument(
        "--publish-truth",
        action="store_true",
        help="also publish truth events on carewatch/sim/truth",
    )
    p.add_argument("--quiet", action="store_true", help="no progress display")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for docs and tests)."""
    parser = argparse.ArgumentParser(
        prog="carewatch-sim",
        description="Simulate homes (residents and their sensors) and publish over MQTT.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--extra-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="also load the device profiles in DIR (repeatable), next to the built-in library",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="play a scenario into a broker",
        description="Play one or more scenarios (built-in names or YAML paths).",
    )
    run.add_argument(
        "scenario",
        nargs="+",
        help="built-in scenario name or scenario YAML path; several play side by side "
        "on one clock (speed and seed from the first)",
    )
    run.add_argument("--duration", type=_duration, help="play only this much (e.g. 10m)")
    run.add_argument("--no-accel", action="store_true", help="no accelerometer bursts")
    run.add_argument("--datasets", help="datasets directory for episodes that replay trials")
    _play_args(run)
    _broker_args(run)

    sc = sub.add_parser(
        "scenarios", help="list the built-in scenarios", description="List the built-in scenarios."
    )
    sc.add_argument("--json", action="store_true", help="print a JSON array of objects")

    val = sub.add_parser(
        "validate",
        help="check scenario or home manifest files",
        description="Check scenario and home manifest files; exit 1 if any fails.",
    )
    val.add_argument("files", nargs="+", help="scenario or manifest YAML files")

    fl = sub.add_parser(
        "fleet",
        help="simulate many homes from one process",
        description="Simulate N homes cloned from template manifests.",
    )
    fl.add_argument("--homes", type=_count, required=True, help="number of homes")
    fl.add_argument(
        "--template",
        action="append",
        default=[],
        help="home manifest to clone (repeatable; default: the built-in homes)",
    )
    fl.add_argument("--start", help="ISO local start (default: today 08:00 in the home's zone)")
    fl.add_argument("--duration", type=_duration, default=3600.0, help="default 1h")
    fl.add_argument(
        "--incidents-per-day",
        type=float,
        default=0.2,
        help="random incidents per home per day (default 0.2)",
    )
    fl.add_argument("--no-accel", action="store_true", help="no accelerometer bursts")
    _play_args(fl)
    _broker_args(fl)

    rp = sub.add_parser(
        "replay",
        help="publish a recorded accelerometer trial",
        description="Replay a WEDA-FALL (wrist) or SisFall (waist) trial as the "
        "stream of a home's wristband or pendant.",
    )
    rp.add_argument("dataset", choices=DATASETS, help="which dataset")
    rp.add_argument("trial", nargs="?", help="trial, e.g. F01/U01_R01 or F01_SA01_R01")
    rp.add_argument("--list", action="store_true", help="list the dataset's trials and exit")
    rp.add_argument("--home", help="home manifest (default: a built-in home with such a device)")
    rp.add_argument("--device", help="device id (default: the home's first accelerometer)")
    rp.add_argument("--start", help="ISO local start of the trial (default: now)")
    rp.add_argument("--datasets", help="datasets directory (default ../shared/datasets)")
    _play_args(rp)
    _broker_args(rp)

    rd = sub.add_parser(
        "readings",
        help="print simulated readings (no broker)",
        description="Simulate a home and print its readings as JSON lines.",
    )
    rd.add_argument("home", help="home manifest YAML")
    rd.add_argument("--start", help="ISO local start (default: today 00:00)")
    rd.add_argument("--days", type=_positive, default=1.0, help="simulated days (default 1)")
    rd.add_argument("--seed", type=int, default=0, help="random seed")
    rd.add_argument("--accel", action="store_true", help="include accelerometer blocks")
    rd.add_argument("--truth", help="write ground truth here as JSON lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    use_extra_dirs(args.extra_dir)
    handler = getattr(commands, f"cmd_{args.command}")
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _terminate)  # stop like Ctrl-C: flush, write the truth
    try:
        return int(handler(args))
    except FileError as exc:  # a bad scenario, manifest or profile file
        print(f"carewatch-sim: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # UsageError, DatasetError, ProfileLookupError, bad episodes
        print(f"carewatch-sim: error: {exc}", file=sys.stderr)
        return 2
    except BrokerError as exc:
        print(f"carewatch-sim: broker error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("carewatch-sim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
