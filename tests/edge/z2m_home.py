"""A Zigbee2MQTT home and a pipeline driven by hand (no broker), for handler tests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from edge.alarms import AlarmManager
from edge.config import AlarmsConfig
from edge.detectors import build_bank
from edge.detectors.base import Detection
from edge.devicestatus import DeviceBoard
from edge.items import AlarmInput, RawMessage, Tick
from edge.outbox import Outbox
from edge.routing import Router
from edge.stages import Queues, Stages
from edge.telemetry import TelemetryAggregator
from firmware_profiles import load_library
from protocol import HomeManifest

HOME_YAML = """\
home_id: home-z1
gateway_id: gw-z1
coordinates: {lat: 31.23, lon: 121.47}
resident: {first_name: Mei}
devices:
  - {device_id: pir_bedroom, profile: aqara-rtcgq11lm, room: bedroom}
  - {device_id: bathroom_door, profile: aqara-mccgq11lm, room: bathroom}
  - {device_id: front_door, profile: aqara-mccgq11lm, room: entrance, front_door: true}
  - {device_id: radar_living, profile: tuya-zy-m100, room: living_room}
  - {device_id: sos_button, profile: aqara-wxkg11lm, room: bedroom, worn_by: resident}
"""
T0 = 1_732_435_200.0  # 2024-11-24 08:00 UTC: the resident is up (home zone UTC)
H = 3600.0


def z2m(topic: str, ts: float, **values: object) -> RawMessage:
    """A Zigbee2MQTT device message with ``last_seen`` (epoch ms), arriving at ``ts``."""
    body = json.dumps({**values, "last_seen": int(ts * 1000)}).encode()
    return RawMessage(f"zigbee2mqtt/{topic}", body, ts)


def raw(topic: str, payload: str | bytes, ts: float, *, retained: bool = False) -> RawMessage:
    """Any message, as received at ``ts``."""
    data = payload.encode() if isinstance(payload, str) else payload
    return RawMessage(topic, data, ts, retained=retained)


def make_stages(home: HomeManifest, data_dir: Path) -> Stages:
    """The decode and detect stages of a gateway for ``home``, driven by ``run``."""
    lib = load_library()
    router = Router(home, lib)
    beats = {d.device_id: router.profiles[d.profile].heartbeat_interval_s for d in home.devices}
    return Stages(
        queues=Queues(asyncio.Queue(), asyncio.Queue(), asyncio.Queue(), asyncio.Queue()),
        router=router,
        bank=build_bank(home, lib),
        alarms=AlarmManager(home, AlarmsConfig()),
        telemetry=TelemetryAggregator(home),
        outbox=Outbox(data_dir),
        board=DeviceBoard(home, beats),
        sim_clock=None,
        tick_s=60.0,
        on_commit=asyncio.Event(),
    )


def run(stages: Stages, items: list[RawMessage | Tick]) -> list[Detection]:
    """Feed messages and ticks in order; the detections they cause."""
    out: list[AlarmInput] = []
    for item in items:
        decoded = [item] if isinstance(item, Tick) else stages.decode_one(item)
        for d in decoded:
            out += stages.detect_one(d)
    return [d for d in out if isinstance(d, Detection)]


def ticks(start: float, end: float, every: float = 600.0) -> list[Tick]:
    """Timer ticks from ``start`` to ``end``."""
    n = int((end - start) // every) + 1
    return [Tick(start + i * every) for i in range(n)]
