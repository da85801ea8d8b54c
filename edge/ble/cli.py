"""``carewatch-ble``: run the BLE-to-MQTT bridge, check its config, scan for bands."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from edge import __version__
from edge.ble.config import BleBridgeConfig, load_ble_config
from edge.cli import setup_logging
from edge.configfile import ConfigError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

HEART_RATE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"


def _load(args: argparse.Namespace) -> BleBridgeConfig:
    cfg = load_ble_config(args.config)
    if getattr(args, "broker", None):
        data = cfg.model_dump()
        data["broker"]["url"] = args.broker
        cfg = BleBridgeConfig.model_validate(data)
    if getattr(args, "log_level", None):
        cfg = cfg.model_copy(update={"log_level": args.log_level})
    return cfg


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bridge until SIGTERM/SIGINT."""
    from edge.app import run_until_signalled
    from edge.ble.bridge import BleBridge

    cfg = _load(args)
    setup_logging(cfg.log_level)
    bridge = BleBridge(cfg)
    asyncio.run(run_until_signalled(bridge))
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the config and each band's profile; print what would be published where."""
    from edge.ble.bridge import plan_devices
    from firmware_profiles import load_library

    cfg = _load(args)
    for plan in plan_devices(cfg, load_library()):
        streams = [
            s for s, on in (("heart_rate", plan.heart_rate), ("battery", plan.battery)) if on
        ]
        if plan.accel_rate_hz is not None:
            streams.append(f"accel@{plan.accel_rate_hz:g}Hz")
        print(
            f"{plan.device.address}  {plan.device.device_id:<16} {plan.device.profile:<20} "
            f"-> {cfg.broker.topic_prefix}{plan.topic}  [{', '.join(streams)}]"
        )
    return EXIT_OK


async def _scan(seconds: float) -> list[dict[str, object]]:
    from bleak import BleakScanner

    found = await BleakScanner.discover(timeout=seconds, return_adv=True)
    rows = []
    for device, adv in found.values():
        uuids = [u.lower() for u in adv.service_uuids]
        rows.append(
            {
                "address": device.address,
                "name": adv.local_name or device.name or "",
                "rssi": adv.rssi,
                "heart_rate_service": HEART_RATE_UUID in uuids,
                "polar": (adv.local_name or "").startswith("Polar"),
            }
        )
    return sorted(rows, key=lambda r: (not r["heart_rate_service"], -int(str(r["rssi"]))))


def cmd_scan(args: argparse.Namespace) -> int:
    """List the BLE devices advertising nearby, heart rate bands first."""
    rows = asyncio.run(_scan(args.timeout))
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for r in rows:
        tag = "HR" if r["heart_rate_service"] else "  "
        print(f"{r['address']}  {tag}  rssi={r['rssi']:>4}  {r['name']}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="carewatch-ble",
        description="BLE wearables (Bluetooth Heart Rate service bands, Polar H10 / Verity "
        "Sense accelerometer) to the home's MQTT broker, as carewatch profiles decode them.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, func, text in (
        ("run", cmd_run, "Run the bridge (reconnects to bands and broker on its own)."),
        ("check", cmd_check, "Validate the config and profiles; show each band's topic."),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.set_defaults(func=func)
        p.add_argument(
            "--config",
            "-c",
            type=Path,
            required=True,
            help="bridge config (.toml or .yaml), e.g. /etc/carewatch/ble.toml",
        )
        p.add_argument("--broker", help="broker URL mqtt://host:port (overrides the config)")
        p.add_argument(
            "--log-level",
            choices=["DEBUG", "INFO", "WARNING", "ERROR"],
            help="log level (overrides the config)",
        )
    p = sub.add_parser(
        "scan",
        help="List BLE devices nearby (to find a band's address).",
        description="List BLE devices nearby, heart rate bands first.",
    )
    p.set_defaults(func=cmd_scan)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to listen (10)")
    p.add_argument("--json", action="store_true", help="JSON output")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``carewatch-ble``; returns the exit status."""
    from pydantic import ValidationError

    from edge.ble.bridge import BridgeError
    from firmware_profiles import ProfileError

    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (ConfigError, ProfileError) as exc:
        print(f"carewatch-ble {args.command}: bad file:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except (BridgeError, ValidationError) as exc:
        print(f"carewatch-ble {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"carewatch-ble {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return EXIT_FAIL
    return code
