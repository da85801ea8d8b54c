"""``carewatch-gateway``: run, check, devices, pair, test-alarm, outbox, burn-in, mode."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edge import __version__
from edge.config import GatewayConfig
from edge.configfile import ConfigError, load_config
from edge.modefile import MODE_FILE, read_mode, write_mode
from edge.outbox import DB_NAME, Outbox
from edge.routing import UnknownProfileError
from edge.sessionguard import DuplicateClientError

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

# Flags that override a config field: (flag, dotted field, help).
OVERRIDES: list[tuple[str, str, str]] = [
    ("--home", "home", "home manifest (the paired devices)"),
    ("--broker", "broker.url", "broker URL, mqtt://host:port"),
    ("--cloud", "cloud.url", "cloud base URL, https://host"),
    ("--data-dir", "data_dir", "directory for the outbox, quarantine and detector state"),
    ("--clock", "clock.source", "timer clock: wall, or sim (the simulator's clock topic)"),
    ("--log-level", "log_level", "DEBUG, INFO, WARNING or ERROR"),
]


class UsageError(ValueError):
    """Bad command-line input; the message says which flag and why."""


def _add_config(p: argparse.ArgumentParser, *, overrides: bool = True) -> None:
    p.add_argument("--config", "-c", type=Path, help="gateway config file (.toml or .yaml)")
    if overrides:
        for flag, _, text in OVERRIDES:
            p.add_argument(flag, help=f"{text} (overrides the config)")


def resolve_config(args: argparse.Namespace) -> GatewayConfig:
    """The config file (if any) with command-line flags applied over it."""
    cfg = load_config(args.config) if args.config else GatewayConfig()
    data: dict[str, Any] = cfg.model_dump()
    given = []
    for flag, dotted, _ in OVERRIDES:
        value = getattr(args, flag[2:].replace("-", "_"), None)
        if value is None:
            continue
        given.append(flag)
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    if not given:
        return cfg
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        flags = {dotted: flag for flag, dotted, _ in OVERRIDES}
        problems = [
            f"{flags.get('.'.join(map(str, e['loc'])), '.'.join(map(str, e['loc'])))}: {e['msg']}"
            for e in exc.errors()
        ]
        raise UsageError("; ".join(problems)) from exc


def data_dir_of(args: argparse.Namespace) -> Path:
    """``--data-dir``, else the config's data_dir."""
    if getattr(args, "data_dir", None):
        return Path(args.data_dir)
    if args.config:
        return load_config(args.config).data_dir
    raise UsageError("give --data-dir DIR or --config FILE")


def setup_logging(level: str) -> None:
    """key=value log lines on stderr."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    if level != "DEBUG":
        # One line per HTTP request drowns the gateway's own events (and wears the SD card).
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


# -- run ---------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    """Run the gateway until SIGTERM/SIGINT."""
    from edge.app import Gateway, run_until_signalled

    cfg = resolve_config(args)
    if cfg.home is None:
        raise UsageError("no home: give --config FILE (with `home`) or --home MANIFEST")
    setup_logging(cfg.log_level)
    gateway = Gateway(cfg, config_file=args.config)
    asyncio.run(run_until_signalled(gateway))
    return EXIT_OK


# -- outbox and mode ---------------------------------------------------------------------


def cmd_outbox(args: argparse.Namespace) -> int:
    """Show pending, delivered and failed alarms and the quarantine."""
    data_dir = data_dir_of(args)
    if not (data_dir / DB_NAME).exists():
        raise UsageError(f"--data-dir {data_dir}: no outbox ({DB_NAME}) there")
    outbox = Outbox(data_dir)
    try:
        if args.retry_failed:
            print(f"{outbox.retry_failed()} failed envelopes set back to pending")
        report = outbox.report(limit=args.limit)
    finally:
        outbox.db.close()
    if args.json:
        print(json.dumps(report, indent=2))
        return EXIT_OK
    print(f"outbox {report['path']}")
    print("  " + "  ".join(f"{k}={v}" for k, v in sorted(report["counts"].items())))
    if report["counts"]["failed"]:
        print(
            f"  {report['counts']['failed']} refused by the cloud for good and kept here"
            " (the cloud raises delivery_failed); --retry-failed sends them again"
        )
    print(f"alarms (newest first, {len(report['alarms'])}):")
    for a in report["alarms"]:
        print(
            f"  {a['alarm_id']}  {a['kind']:<16} {a['current_severity']:<8} {a['state']:<9}"
            f" attempts={a['attempts']} open={a['open']} device={a['device_id']}"
            + (f" mended={a['mended']}" if a["mended"] else "")
            + (f" error={a['last_error']}" if a["last_error"] else "")
        )
    print(f"updates ({len(report['updates'])}):")
    for u in report["updates"]:
        print(
            f"  {u['alarm_id']}  {u['action']:<7} {u['severity'] or '-':<8} {u['state']}"
            + (f" error={u['last_error']}" if u["state"] == "failed" and u["last_error"] else "")
        )
    print(f"quarantine (newest first, {len(report['quarantine'])}):")
    for q in report["quarantine"]:
        print(f"  {q['topic']}  device={q['device_id']}  {q['reason']}")
    return EXIT_OK


def cmd_burn_in(args: argparse.Namespace) -> int:
    """Report on a new installation from the gateway's state, outbox and quarantine."""
    from edge.burnin import BurnInError, report, text
    from edge.configfile import library_for, load_home_for

    cfg = resolve_config(args)
    if cfg.home is None:
        raise UsageError("no home: give --config FILE (with `home`) or --home MANIFEST")
    try:
        rep = report(load_home_for(cfg), library_for(cfg), cfg.data_dir)
    except BurnInError as exc:
        raise UsageError(str(exc)) from exc
    print(json.dumps(rep, indent=2) if args.json else text(rep))
    return EXIT_OK if rep["ok"] else EXIT_FAIL


def cmd_mode(args: argparse.Namespace) -> int:
    """Mark the resident away/home and devices in or out of maintenance."""
    data_dir = data_dir_of(args)
    current = read_mode(data_dir / MODE_FILE) if (data_dir / MODE_FILE).exists() else None
    away, maintenance = current if current is not None else (False, set())
    if args.away is not None:
        away = args.away == "on"
    maintenance = (maintenance | set(args.maintenance or [])) - set(args.done or [])
    data_dir.mkdir(parents=True, exist_ok=True)
    path = write_mode(data_dir, away=away, maintenance=maintenance)
    print(json.dumps({"file": str(path), "away": away, "maintenance": sorted(maintenance)}))
    return EXIT_OK


def cmd_broker_auth(args: argparse.Namespace) -> int:
    """Write the Mosquitto ACL and per-device logins for the paired devices."""
    from edge.brokerauth import broker_auth, write_auth
    from edge.configfile import library_for, load_home_for

    cfg = resolve_config(args)
    auth = broker_auth(load_home_for(cfg), library_for(cfg))
    acl, passwd = write_auth(auth, args.out)
    print(f"wrote {acl} and {passwd} ({len(auth.users)} logins: {', '.join(auth.users)})")
    print(f"hash the passwords for mosquitto with: mosquitto_passwd -U <copy of {passwd}>")
    return EXIT_OK


# -- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from edge.cli_field import cmd_check, cmd_devices, cmd_test_alarm
    from edge.cli_pair import cmd_pair

    parser = argparse.ArgumentParser(
        prog="carewatch-gateway", description="The carewatch home gateway."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], text: str) -> Any:
        p = sub.add_parser(name, help=text, description=text)
        p.set_defaults(func=func)
        return p

    _add_config(add("run", cmd_run, "Run the gateway (flags override the config file)."))
    _add_config(add("check", cmd_check, "Validate the config, reach the broker and the cloud."))
    p = add("devices", cmd_devices, "Live table of the paired devices: last seen, battery, signal.")
    _add_config(p)
    p.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    p.add_argument("--json", action="store_true", help="print one JSON table at the end")
    p = add(
        "pair",
        cmd_pair,
        "Add a new device to the config: a Zigbee2MQTT device by its model in bridge/devices "
        "(--zigbee: open joining and wait for its interview), others by their first message.",
    )
    p.add_argument("--config", "-c", type=Path, required=True, help="gateway config to add it to")
    p.add_argument("--broker", help="broker URL (overrides the config)")
    p.add_argument("--room", help="room of the new device (asked if not given)")
    p.add_argument("--profile", help="use this profile instead of the proposal")
    p.add_argument("--zigbee", action="store_true", help="open Zigbee2MQTT's joining first")
    p.add_argument(
        "--zigbee-base", default="zigbee2mqtt", help="Zigbee2MQTT base topic (zigbee2mqtt)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds to listen or keep joining open (120)",
    )
    p.add_argument("--yes", "-y", action="store_true", help="accept the best proposal")
    p = add("test-alarm", cmd_test_alarm, "Send a commissioning test alarm to the cloud.")
    _add_config(p)
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for the cloud")
    p = add("outbox", cmd_outbox, "Pending and delivered alarms, updates, and the quarantine.")
    p.add_argument("--config", "-c", type=Path, help="gateway config (for its data_dir)")
    p.add_argument("--data-dir", type=Path, help="gateway data directory")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--limit", type=int, default=200, help="rows per table (200)")
    p.add_argument("--retry-failed", action="store_true", help="set failed envelopes to pending")
    p = add(
        "burn-in",
        cmd_burn_in,
        "After a new installation's first 24 hours: every device heard, every room's sensors "
        "fired, heartbeats and batteries plausible (exit 1 if not).",
    )
    _add_config(p)
    p.add_argument("--json", action="store_true", help="JSON output")
    p = add("mode", cmd_mode, "Resident away/home, devices in or out of maintenance.")
    p.add_argument("--config", "-c", type=Path, help="gateway config (for its data_dir)")
    p.add_argument("--data-dir", type=Path, help="gateway data directory")
    p.add_argument("--away", choices=["on", "off"], help="resident away (on) or home (off)")
    p.add_argument("--maintenance", nargs="+", metavar="DEVICE", help="devices into maintenance")
    p.add_argument("--done", nargs="+", metavar="DEVICE", help="devices out of maintenance")
    p = add("broker-auth", cmd_broker_auth, "Write Mosquitto ACL and one login per device.")
    _add_config(p)
    p.add_argument("--out", type=Path, required=True, help="directory for carewatch.acl, passwd")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``carewatch-gateway``; returns the exit status."""
    from firmware_profiles import ProfileError

    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (ConfigError, ProfileError) as exc:
        print(f"carewatch-gateway {args.command}: bad file:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except DuplicateClientError as exc:
        print(f"carewatch-gateway {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except (UsageError, UnknownProfileError) as exc:
        print(f"carewatch-gateway {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, sqlite3.Error) as exc:
        print(f"carewatch-gateway {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return EXIT_FAIL
    return code
