"""The installer's commands: check, devices, test-alarm (pair: edge.cli_pair)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from typing import Any

import aiomqtt

from edge.brokerauth import GATEWAY_USER
from edge.cli import EXIT_FAIL, EXIT_OK, UsageError, resolve_config
from edge.config import GatewayConfig
from edge.configfile import credential, library_for, load_home_for
from edge.devicestatus import DeviceBoard
from edge.ingest import make_client, payload_bytes
from edge.outbox import Outbox
from edge.routing import Router
from edge.timesync import TimeSync
from edge.uplink import UplinkError, parse_ack, post_json
from edge.uplink import make_client as make_http
from protocol import Alarm, AlarmKind, ClockState, GatewayHeartbeat, HomeManifest, Severity
from protocol.api import ALARMS_PATH, HEARTBEAT_PATH, CredentialError, parse_credential
from protocol.envelopes import utcnow


def _line(ok: bool, what: str, detail: str) -> bool:
    print(f"{'OK  ' if ok else 'FAIL'} {what}: {detail}")
    return ok


# -- check -------------------------------------------------------------------------------


LOGIN_REFUSED = frozenset({4, 5, 134, 135})  # CONNACK: bad user name or password, not authorized


def login_refused(cfg: GatewayConfig, exc: aiomqtt.MqttError) -> str | None:
    """What to tell the installer when the broker refused the gateway's login, else None."""
    rc = getattr(exc, "rc", None)
    if getattr(rc, "value", rc) not in LOGIN_REFUSED:
        return None
    user = cfg.broker.username
    who = f"user {user!r}" if user else "a client without a user name (broker.username unset)"
    return (
        f"{cfg.broker.url} refused the login of {who}: {exc}. `carewatch-gateway broker-auth` "
        f"creates the user {GATEWAY_USER!r}: set broker.username = {GATEWAY_USER!r} and "
        "broker.password to its line in the passwd file it wrote, hashed into the broker's "
        "password_file with mosquitto_passwd -U"
    )


async def _check_broker(cfg: GatewayConfig) -> tuple[bool, str]:
    try:
        async with make_client(cfg.broker, identifier=None, persistent=False) as client:
            await client.subscribe("carewatch/check", qos=0)
    except aiomqtt.MqttError as exc:
        return False, login_refused(cfg, exc) or f"{cfg.broker.url}: {exc}"
    who = f"user {cfg.broker.username!r}" if cfg.broker.username else "anonymous login"
    return True, f"{cfg.broker.url} accepted the gateway's {who}"


async def _check_cloud(
    cfg: GatewayConfig, cred: str | None, home: HomeManifest, sync: TimeSync
) -> tuple[bool, str]:
    gateway_id = home.gateway_id
    if cfg.cloud.url is None:
        return False, "no cloud url (cloud.url or --cloud)"
    if not cred:
        return False, "no credential (CAREWATCH_GATEWAY_CREDENTIAL, cloud.credential[_file])"
    try:
        cred_gateway, _ = parse_credential(cred)
    except CredentialError as exc:
        return False, str(exc)
    if cred_gateway != gateway_id:
        return False, f"credential is for gateway {cred_gateway!r}, the home says {gateway_id!r}"
    beat = GatewayHeartbeat(
        gateway_id=gateway_id,
        home_id=home.home_id,
        ts=utcnow(),
        version="check",
        uptime_s=0,
        broker_connected=False,
        outbox_pending=0,
        quarantine_count=0,
    )
    async with make_http(
        cfg.cloud.url, cred, timeout_s=cfg.cloud.timeout_s, on_date=sync.note_cloud_date
    ) as client:
        try:
            await post_json(client, HEARTBEAT_PATH, beat.model_dump_json().encode())
        except UplinkError as exc:
            return False, str(exc)
    return True, f"{cfg.cloud.url} took a heartbeat with the gateway's credential"


def cmd_check(args: argparse.Namespace) -> int:
    """Validate config, home and profiles; reach the broker and the cloud."""
    cfg = resolve_config(args)
    ok = _line(True, "config", str(args.config or "(flags only)"))
    home = load_home_for(cfg)
    ok &= _line(True, "home", f"{cfg.home}: home {home.home_id}, {len(home.devices)} devices")

    try:
        Router(home, library_for(cfg))
        ok &= _line(True, "profiles", "every paired device has a known profile")
    except ValueError as exc:
        ok &= _line(False, "profiles", str(exc))
    try:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        probe = cfg.data_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
        ok &= _line(True, "data dir", f"{cfg.data_dir} is writable")
    except OSError as exc:
        ok &= _line(False, "data dir", f"{cfg.data_dir}: {exc}")
    good, detail = asyncio.run(_check_broker(cfg))
    ok &= _line(good, "broker", detail)
    sync = TimeSync()
    good, detail = asyncio.run(_check_cloud(cfg, credential(cfg), home, sync))
    ok &= _line(good, "cloud", detail)
    sync.refresh()
    ok &= _line(*_clock_line(sync.state()))
    return EXIT_OK if ok else EXIT_FAIL


def _clock_line(state: ClockState) -> tuple[bool, str, str]:
    """The gateway's clock: not known to be wrong passes; known wrong fails (no RTC)."""
    offset = "" if state.offset_s is None else f", {state.offset_s:+.0f}s from the cloud"
    if state.synchronized is None:
        return True, "clock", f"synchronisation unknown (no timedatectl, chrony or cloud){offset}"
    word = "synchronised" if state.synchronized else "NOT synchronised"
    return state.synchronized, "clock", f"{word} ({state.source}){offset}"


# -- devices -----------------------------------------------------------------------------


def _table(board: DeviceBoard, now: float) -> list[dict[str, Any]]:
    return [
        {
            "device_id": d.device_id,
            "profile": d.profile,
            "room": d.room,
            "last_seen_s": None if d.last_seen is None else round(now - d.last_seen, 1),
            "messages": d.messages,
            "battery": d.battery,
            "link_quality": d.link_quality,
            "values": dict(d.values),
        }
        for d in board.devices.values()
    ]


def _print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'device':<20} {'room':<12} {'seen':>7} {'msgs':>5} {'batt':>5} {'link':>5}  values")
    for r in rows:
        seen = "never" if r["last_seen_s"] is None else f"{r['last_seen_s']:.0f}s"
        batt = "-" if r["battery"] is None else f"{r['battery']:.0f}"
        link = "-" if r["link_quality"] is None else f"{r['link_quality']:.0f}"
        values = " ".join(f"{k}={v}" for k, v in sorted(r["values"].items()))
        print(
            f"{r['device_id']:<20} {r['room']:<12} {seen:>7} {r['messages']:>5} {batt:>5}"
            f" {link:>5}  {values[:60]}"
        )


async def _watch(cfg: GatewayConfig, duration: float | None, live: bool) -> DeviceBoard:
    from firmware_profiles import DecodeError, PartialDecodeError

    home = load_home_for(cfg)
    router = Router(home, library_for(cfg))
    board = DeviceBoard(home, {})
    deadline = None if duration is None else time.monotonic() + duration
    last_draw = 0.0
    async with make_client(cfg.broker, identifier=None, persistent=False) as client:
        for topic_filter in router.subscriptions:
            await client.subscribe(topic_filter)
        while deadline is None or time.monotonic() < deadline:
            left = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            try:
                msg = await asyncio.wait_for(anext(client.messages), timeout=max(left, 0.01))
            except TimeoutError:
                msg = None
            if msg is not None:
                route = router.route(msg.topic.value)
                if route is not None and not route.availability:
                    try:
                        readings = route.profile.decode(
                            msg.topic.value, payload_bytes(msg.payload), received_at=time.time()
                        )
                    except PartialDecodeError as exc:
                        print(f"partly decodes: {exc}", file=sys.stderr)
                        readings = exc.readings
                    except DecodeError as exc:
                        print(f"does not decode: {exc}", file=sys.stderr)
                        continue
                    board.update(route.device.device_id, readings, time.time())
            if live and time.monotonic() - last_draw >= 1.0:
                last_draw = time.monotonic()
                print("\033[2J\033[H", end="")
                _print_table(_table(board, time.time()))
    return board


def cmd_devices(args: argparse.Namespace) -> int:
    """Watch the paired devices respond (until Ctrl-C or --duration)."""
    cfg = resolve_config(args)
    live = not args.json and sys.stdout.isatty()
    try:
        board = asyncio.run(_watch(cfg, args.duration, live))
    except aiomqtt.MqttError as exc:
        print(f"broker {cfg.broker.url}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    rows = _table(board, time.time())
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not live:
        _print_table(rows)
    return EXIT_OK


# -- test-alarm --------------------------------------------------------------------------


async def _send_test(cfg: GatewayConfig, alarm: Alarm, cred: str | None) -> str:
    if cfg.cloud.url is None:
        raise UsageError("no cloud url: set cloud.url or --cloud")
    body = b'{"alarms":[' + alarm.model_dump_json().encode() + b"]}"
    async with make_http(cfg.cloud.url, cred, timeout_s=cfg.cloud.timeout_s) as client:
        resp = await post_json(client, ALARMS_PATH, body)
    ack = parse_ack(resp, ALARMS_PATH)
    if alarm.alarm_id in ack.delivered():
        return "accepted" if alarm.alarm_id in ack.accepted else "duplicate"
    reasons = [r.error for r in ack.rejected if r.id == alarm.alarm_id]
    raise UplinkError(
        f"cloud rejected the test alarm: {reasons}", status=resp.status_code, retry=False
    )


def cmd_test_alarm(args: argparse.Namespace) -> int:
    """Commit a test alarm to the outbox, send it, report whether the cloud took it."""
    cfg = resolve_config(args)
    home = load_home_for(cfg)
    alarm = Alarm(
        alarm_id=f"test-{uuid.uuid4()}",
        gateway_id=home.gateway_id,
        home_id=home.home_id,
        kind=AlarmKind.TEST,
        severity=Severity.INFO,
        raised_at=utcnow(),
        detector="commissioning",
        message="commissioning test alarm",
    )
    outbox = Outbox(cfg.data_dir)
    try:
        outbox.write([alarm])
        outcome = asyncio.run(
            asyncio.wait_for(_send_test(cfg, alarm, credential(cfg)), args.timeout)
        )
        outbox.mark_delivered("alarms", [alarm.alarm_id])
    except (UplinkError, TimeoutError) as exc:
        outbox.mark_failed("alarms", {alarm.alarm_id: str(exc) or "no answer in time"})
        print(f"FAIL test alarm {alarm.alarm_id}: {exc or 'no answer in time'}")
        return EXIT_FAIL
    finally:
        outbox.db.close()
    print(f"OK   test alarm {alarm.alarm_id}: cloud {outcome} it")
    return EXIT_OK
