"""``carewatch-profiles``: list, validate and try out device profiles."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from firmware_profiles.errors import DecodeError, ProfileError, ProfileNotFound
from firmware_profiles.library import BUILTIN_DIR, ProfileLibrary, load_library
from firmware_profiles.profile import DeviceProfile
from firmware_profiles.validate import validate_dir


def profile_summary(prof: DeviceProfile) -> dict[str, object]:
    """One profile as the ``list --json`` object."""
    return {
        "id": prof.id,
        "vendor": prof.vendor,
        "model": prof.model,
        "family": prof.family,
        "description": prof.description,
        "topic": prof.topic_pattern,
        "subscriptions": prof.subscriptions(),
        "encoding": prof.encoding,
        "power": prof.power,
        "kinds": sorted(k.value for k in prof.kinds),
        "zigbee2mqtt_models": list(prof.zigbee2mqtt_models),
        "sample_rate_hz": prof.sample_rate_hz,
        "heartbeat_interval_s": prof.heartbeat_interval_s,
    }


def markdown_table(profiles: Sequence[DeviceProfile]) -> str:
    """The device table for docs/profiles.md."""
    rows = [
        "| id | vendor | model | Zigbee2MQTT model | family | topic | encoding | readings |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in profiles:
        kinds = ", ".join(sorted(k.value for k in p.kinds))
        rate = f" @ {p.sample_rate_hz:g} Hz" if p.sample_rate_hz else ""
        z2m = ", ".join(f"`{m}`" for m in p.zigbee2mqtt_models) or "—"
        rows.append(
            f"| `{p.id}` | {p.vendor} | {p.model} | {z2m} | {p.family} | `{p.topic_pattern}` "
            f"| {p.encoding} | {kinds}{rate} |"
        )
    return "\n".join(rows)


def _library(args: argparse.Namespace) -> ProfileLibrary:
    return load_library(args.dir, extra_dirs=args.extra_dir)


def sources_table(profiles: Sequence[DeviceProfile]) -> str:
    """Per profile, which Zigbee2MQTT versions and ESPHome components its examples come
    from (docs/profiles.md)."""
    rows = [
        "| id | examples | Zigbee2MQTT | ESPHome component | source |",
        "|---|---|---|---|---|",
    ]
    for p in profiles:
        z2m = ", ".join(sorted({ex.z2m for ex in p.examples if ex.z2m})) or "—"
        esphome = ", ".join(
            f"`{c}`" for c in sorted({ex.esphome for ex in p.examples if ex.esphome})
        )
        if p.zigbee2mqtt_models:
            source = "zigbee-herdsman-converters: " + ", ".join(p.zigbee2mqtt_models)
        elif esphome:
            source = "ESPHome MQTT: `<node>/<component>/<object_id>/state`"
        elif p.topic_pattern.startswith("carewatch/ble/"):
            source = "carewatch-ble bridge (the device's Bluetooth data)"
        else:
            source = "carewatch reference format"
        rows.append(f"| `{p.id}` | {len(p.examples)} | {z2m} | {esphome or '—'} | {source} |")
    return "\n".join(rows)


def _cmd_list(args: argparse.Namespace) -> int:
    profiles = _library(args).all()
    if args.sources:
        print(sources_table(profiles))
    elif args.json:
        print(json.dumps([profile_summary(p) for p in profiles], indent=2))
    elif args.markdown:
        print(markdown_table(profiles))
    else:
        for p in profiles:
            print(f"{p.id:24} {p.family:13} {p.vendor} {p.model} — {p.topic_pattern}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    good, problems = validate_dir(args.dir, extra_dirs=args.extra_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    examples = sum(len(p.examples) for p in good)
    print(
        f"{len(good)} profiles valid, {examples} examples pass both ways; {len(problems)} problems"
    )
    return 1 if problems else 0


def _payload(args: argparse.Namespace) -> bytes:
    if args.payload_hex is not None:
        try:
            return bytes.fromhex(args.payload_hex)
        except ValueError as exc:
            raise SystemExit(f"error: --payload-hex is not hex: {exc}") from None
    return str(args.payload).encode("utf-8")


def _cmd_decode(args: argparse.Namespace) -> int:
    prof = _library(args).get(args.profile_id)
    payload = _payload(args)
    received_at = time.time() if args.received_at is None else args.received_at
    readings = prof.decode(args.topic, payload, received_at=received_at)
    if not readings:
        print(
            f"error: {prof.id}: topic {args.topic!r}: payload decodes to no reading",
            file=sys.stderr,
        )
        return 1
    for reading in readings:
        print(json.dumps(reading.to_json()))
    return 0


def _cmd_match(args: argparse.Namespace) -> int:
    matches = _library(args).match(args.topic, _payload(args))
    if not matches:
        print(f"error: no profile decodes this payload on {args.topic!r}", file=sys.stderr)
        return 1
    for prof in matches:
        print(json.dumps({"id": prof.id, "device_id": prof.device_id_from_topic(args.topic)}))
    return 0


def _add_payload_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--topic", required=True, help="MQTT topic the payload arrived on")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--payload", help="payload text (JSON devices)")
    group.add_argument("--payload-hex", help="payload bytes as hex (binary devices)")
    _add_dir_args(p)


def _add_dir_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", type=Path, help="load profiles from this directory instead")
    _add_extra_dir(p)


def _add_extra_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--extra-dir",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also load the profiles in DIR (repeatable), next to the built-in library",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``carewatch-profiles``."""
    parser = argparse.ArgumentParser(
        prog="carewatch-profiles", description="List, validate and try out device profiles."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list the device profiles")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="a JSON array of profile objects")
    fmt.add_argument("--markdown", action="store_true", help="a Markdown table (for the docs)")
    fmt.add_argument(
        "--sources",
        action="store_true",
        help="a Markdown table of where each profile's examples come from (Zigbee2MQTT "
        "versions, ESPHome components)",
    )
    _add_dir_args(p)
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("validate", help="check every profile and run its examples both ways")
    p.add_argument("dir", nargs="?", type=Path, default=BUILTIN_DIR, help="profile directory")
    _add_extra_dir(p)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("decode", help="decode one payload; one JSON reading per line")
    p.add_argument("profile_id", metavar="PROFILE_ID", help="profile id, e.g. aqara-rtcgq11lm")
    _add_payload_args(p)
    p.add_argument("--received-at", type=float, help="arrival time, epoch s (default: now)")
    p.set_defaults(func=_cmd_decode)

    p = sub.add_parser("match", help="which profiles decode a payload, best first")
    _add_payload_args(p)
    p.set_defaults(func=_cmd_match)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ProfileError, ProfileNotFound, DecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
