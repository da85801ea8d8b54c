"""``carewatch-gateway pair``: add a new device to the home, with the right profile.

Zigbee2MQTT devices are named by Zigbee2MQTT's own device list (retained
``<base>/bridge/devices``): the profile is the one declaring the device's
``definition.model`` in ``recognise.zigbee2mqtt_models``, never a guess from a payload.
``--zigbee`` opens joining first (``<base>/bridge/request/permit_join``) and waits for the
new device's successful interview (``<base>/bridge/event``). Other devices are proposed
from their first message. The device is written into the config's device list atomically,
so a running gateway watching the file never reads half of it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import yaml

from edge import zigbee2mqtt
from edge.cli import EXIT_OK, UsageError, resolve_config
from edge.config import GatewayConfig
from edge.configfile import library_for, load_config, load_home_for
from edge.ingest import make_client, payload_bytes
from firmware_profiles import ProfileLibrary, ProfileNotFound


@dataclass(frozen=True, slots=True)
class Heard:
    """A new device: its id, the profiles proposed for it, and what it is if known."""

    device_id: str
    proposals: list[str]
    what: str  # "Zigbee2MQTT model X by Y", or the topic it was heard on


def _z2m_proposal(lib: ProfileLibrary, dev: zigbee2mqtt.BridgeDevice) -> Heard:
    if dev.model is None:
        raise UsageError(
            f"Zigbee2MQTT does not support device {dev.friendly_name!r} ({dev.ieee_address}) "
            "or has not finished its interview: no model to choose a profile by"
        )
    prof = lib.for_zigbee2mqtt_model(dev.model)
    if prof is None:
        raise UsageError(
            f"no profile for Zigbee2MQTT model {dev.model!r} ({dev.vendor}) of device "
            f"{dev.friendly_name!r}; add one, or pass --profile ID"
        )
    return Heard(dev.friendly_name, [prof.id], f"Zigbee2MQTT model {dev.model} by {dev.vendor}")


@contextlib.asynccontextmanager
async def _client(cfg: GatewayConfig) -> AsyncIterator[aiomqtt.Client]:
    try:
        async with make_client(cfg.broker, identifier=None, persistent=False) as client:
            yield client
    except aiomqtt.MqttError as exc:
        raise UsageError(f"broker {cfg.broker.url}: {exc}") from exc


async def _next(client: aiomqtt.Client, deadline: float) -> aiomqtt.Message | None:
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    try:
        return await asyncio.wait_for(anext(client.messages), timeout=left)
    except TimeoutError:
        return None


async def listen_for_new(cfg: GatewayConfig, lib: ProfileLibrary, listen_s: float) -> Heard:
    """The first device heard that is not paired, and the profiles proposed for it."""
    paired = {d.device_id for d in load_home_for(cfg).devices}
    prefix = cfg.broker.topic_prefix
    bases = {p.zigbee2mqtt_base for p in lib} - {None}
    lists = {f"{base}/{zigbee2mqtt.DEVICES}": str(base) for base in bases}
    known: dict[str, dict[str, zigbee2mqtt.BridgeDevice]] = {}
    deadline = time.monotonic() + listen_s
    async with _client(cfg) as client:
        for topic in sorted(lists):  # first: the retained lists arrive before device messages
            await client.subscribe(prefix + topic)
        for topic_filter in sorted({f for p in lib for f in p.subscriptions()}):
            await client.subscribe(prefix + topic_filter)
        while (msg := await _next(client, deadline)) is not None:
            topic = msg.topic.value.removeprefix(prefix)
            if topic in lists:
                known[lists[topic]] = zigbee2mqtt.parse_devices(payload_bytes(msg.payload))
                continue
            heard = _heard(lib, known, paired, topic, payload_bytes(msg.payload))
            if heard is not None:
                return heard
    raise UsageError(f"no message from an unpaired device within {listen_s:.0f}s")


def _heard(
    lib: ProfileLibrary,
    known: dict[str, dict[str, zigbee2mqtt.BridgeDevice]],
    paired: set[str],
    topic: str,
    payload: bytes,
) -> Heard | None:
    for prof in lib:
        device_id = prof.device_id_from_topic(topic)
        if device_id is None or device_id in paired:
            continue
        base = prof.zigbee2mqtt_base
        if base is None:
            proposals = [p.id for p in lib.match(topic, payload) if p.zigbee2mqtt_base is None]
            return Heard(device_id, proposals, f"topic {topic}")
        dev = known.get(base, {}).get(device_id)
        if dev is None:
            raise UsageError(
                f"heard {device_id!r} on {topic}, but {base}/{zigbee2mqtt.DEVICES} does not "
                "list it: is Zigbee2MQTT running on this broker?"
            )
        return _z2m_proposal(lib, dev)
    return None


async def join_zigbee(cfg: GatewayConfig, lib: ProfileLibrary, base: str, join_s: float) -> Heard:
    """Open Zigbee2MQTT's joining, wait for a new device's successful interview, close it."""
    paired = {d.device_id for d in load_home_for(cfg).devices}
    prefix = f"{cfg.broker.topic_prefix}{base}/"
    deadline = time.monotonic() + join_s
    async with _client(cfg) as client:
        await client.subscribe(prefix + zigbee2mqtt.EVENT)
        await client.subscribe(prefix + zigbee2mqtt.PERMIT_JOIN_RESPONSE)
        seconds = min(zigbee2mqtt.MAX_JOIN_S, max(1, int(join_s)))
        await client.publish(
            prefix + zigbee2mqtt.PERMIT_JOIN, zigbee2mqtt.permit_join_payload(seconds), qos=1
        )
        print(f"joining open on {base} for {seconds}s: put the device in pairing mode now")
        try:
            while (msg := await _next(client, deadline)) is not None:
                payload = payload_bytes(msg.payload)
                if msg.topic.value.endswith(zigbee2mqtt.PERMIT_JOIN_RESPONSE):
                    _check_response(payload)
                    continue
                dev = zigbee2mqtt.parse_interview(payload)
                if dev is not None and dev.friendly_name not in paired:
                    print(f"interviewed {dev.friendly_name} ({dev.ieee_address}): {dev.label()}")
                    return _z2m_proposal(lib, dev)
        finally:
            await client.publish(
                prefix + zigbee2mqtt.PERMIT_JOIN, zigbee2mqtt.permit_join_payload(0), qos=1
            )
    raise UsageError(f"no device joined and finished its interview within {join_s:.0f}s")


def _check_response(payload: bytes) -> None:
    try:
        answer = json.loads(payload)
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("status") == "error":
        raise UsageError(f"Zigbee2MQTT refused to open joining: {answer.get('error')}")


def add_device(config_path: Path, device: dict[str, str]) -> None:
    """Append a paired device to the config file, atomically; a file that would not load
    (unknown room, duplicate id) is left as it was and the error raised."""
    original = config_path.read_text(encoding="utf-8")
    if config_path.suffix == ".toml":
        entry = "".join(f"{k} = {json.dumps(v)}\n" for k, v in device.items())
        text = original.rstrip("\n") + "\n\n[[devices]]\n" + entry
    else:
        data = yaml.safe_load(original) or {}
        data.setdefault("devices", []).append(device)
        text = yaml.safe_dump(data, sort_keys=False)
    tmp = config_path.with_name(f".{config_path.stem}.pairing{config_path.suffix}")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        load_home_for(load_config(tmp))  # same directory: relative paths resolve alike
        tmp.replace(config_path)
    finally:
        tmp.unlink(missing_ok=True)


def _choose(heard: Heard, args: argparse.Namespace) -> str:
    if args.profile:
        return str(args.profile)
    if heard.proposals and args.yes:
        return heard.proposals[0]
    if not heard.proposals or not sys.stdin.isatty():
        raise UsageError("no profile chosen: pass --profile ID or --yes")
    answer = input(f"profile [{heard.proposals[0]}]: ").strip()
    return answer or heard.proposals[0]


def cmd_pair(args: argparse.Namespace) -> int:
    """Pair the next new device (with --zigbee: open Zigbee2MQTT's joining first)."""
    cfg = resolve_config(args)
    lib = library_for(cfg)
    if args.profile and args.profile not in lib:
        raise UsageError(str(ProfileNotFound(args.profile, [])))
    try:
        if args.zigbee:
            heard = asyncio.run(join_zigbee(cfg, lib, args.zigbee_base, args.timeout))
        else:
            print(f"listening on {cfg.broker.url} for a new device ({args.timeout:.0f}s)...")
            heard = asyncio.run(listen_for_new(cfg, lib, args.timeout))
    except zigbee2mqtt.BridgeMessageError as exc:
        raise UsageError(f"Zigbee2MQTT sent a message of an unknown shape: {exc}") from exc
    print(f"heard device {heard.device_id!r} ({heard.what}); proposed: {heard.proposals}")
    profile = _choose(heard, args)
    room = args.room or (input("room: ").strip() if sys.stdin.isatty() else "")
    if not room:
        raise UsageError("no room given: pass --room ROOM")
    add_device(args.config, {"device_id": heard.device_id, "profile": profile, "room": room})
    print(f"paired {heard.device_id} as {profile} in {room}; added to {args.config}")
    return EXIT_OK
