"""Helpers for the simulator tests: a recording MQTT subscriber and the built-in homes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from device_sim.profiles import profile
from protocol.home import HomeManifest, load_home
from protocol.readings import Reading
from protocol.topics import CLOCK_TOPIC

HOMES = Path(__file__).resolve().parents[2] / "device_sim" / "homes"


class Recorder:
    """Subscribes to everything on a broker (again after each reconnect) and keeps it all."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.retained: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.ready.wait(10), "recorder could not subscribe"

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe("#", qos=1)
        self.ready.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            (self.retained if msg.retain else self.messages).append((msg.topic, bytes(msg.payload)))

    def clocks(self, *, retained: bool = False) -> list[float]:
        """Simulated times from the clock topic in arrival order (live, or retained ones)."""
        with self.lock:
            got = self.retained if retained else self.messages
            return [json.loads(p)["ts"] for t, p in got if t == CLOCK_TOPIC and p]

    def wait_clock(self, ts: float, timeout_s: float = 10.0, *, retained: bool = False) -> None:
        """Wait (bounded) until the clock reached ``ts``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(c >= ts for c in self.clocks(retained=retained)):
                return
            time.sleep(0.05)

    def all_messages(self) -> list[tuple[str, bytes]]:
        """Everything received, the clock included, in order."""
        with self.lock:
            return list(self.messages)

    def device_messages(self) -> list[tuple[str, bytes]]:
        """Everything but the simulator's own topics."""
        with self.lock:
            return [(t, p) for t, p in self.messages if not t.startswith("carewatch/sim/")]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def decode_all(
    homes: list[HomeManifest], messages: list[tuple[str, bytes]]
) -> tuple[list[Reading], list[tuple[str, bytes, str]]]:
    """Decode every message with its device's profile (Zigbee2MQTT's availability and bridge
    messages with the gateway's readers); returns readings and failures.

    A payload without its own time (an ESPHome value) arrives at the simulated time of the
    last clock message before it, as the gateway reads it.
    """
    from edge import zigbee2mqtt
    from firmware_profiles.availability import availability_state

    profiles = {dev.device_id: profile(dev.profile) for home in homes for dev in home.devices}
    by_availability = {
        topic: p
        for dev, p in profiles.items()
        if (topic := p.availability_topic_for(dev)) is not None
    }
    bridge = {
        "zigbee2mqtt/bridge/state": availability_state,
        "zigbee2mqtt/bridge/devices": zigbee2mqtt.parse_devices,
    }
    readings: list[Reading] = []
    failed: list[tuple[str, bytes, str]] = []
    now = 0.0
    for topic, payload in messages:
        if topic == CLOCK_TOPIC:
            now = float(json.loads(payload)["ts"]) if payload else now
            continue
        if topic.startswith("carewatch/sim/"):
            continue
        avail = by_availability.get(topic)
        check = bridge.get(topic) or (avail.decode_availability if avail else None)
        if check is not None:
            try:
                check(payload)
            except ValueError as exc:
                failed.append((topic, payload, str(exc)))
            continue
        own = (p for dev, p in profiles.items() if p.device_id_from_topic(topic) == dev)
        prof = next(own, None)
        if prof is None:
            failed.append((topic, payload, "no device on this topic"))
            continue
        try:
            readings += prof.decode(topic, payload, received_at=now)
        except ValueError as exc:
            failed.append((topic, payload, str(exc)))
    return readings, failed


@pytest.fixture
def recorder_factory() -> Iterator[type[Recorder]]:
    """Recorders opened in a test, closed after it."""
    opened: list[Recorder] = []

    class _Rec(Recorder):
        def __init__(self, port: int) -> None:
            super().__init__(port)
            opened.append(self)

    yield _Rec
    for r in opened:
        r.close()


@pytest.fixture(scope="session")
def li_home() -> HomeManifest:
    """The ground-floor flat with PIRs, door, wristband and button."""
    return load_home(HOMES / "flat_li.yaml")


@pytest.fixture(scope="session")
def wang_home() -> HomeManifest:
    """The house with radars, pendant and pull-cord."""
    return load_home(HOMES / "house_wang.yaml")


def home_with(devices: list[dict[str, str]]) -> HomeManifest:
    """A minimal home holding ``devices`` (manifest device entries)."""
    return HomeManifest.model_validate(
        {
            "home_id": "h1",
            "gateway_id": "g1",
            "coordinates": {"lat": 31.2, "lon": 121.4},
            "resident": {"first_name": "Mei"},
            "devices": devices,
        }
    )


def clear_retained(port: int, prefix: str = "zigbee2mqtt") -> int:
    """Remove the retained messages under ``prefix/#`` (what a played Zigbee2MQTT left on the
    shared broker); returns how many were removed."""
    seen: set[str] = set()
    marker = f"{prefix}/carewatch-test-marker"
    done = threading.Event()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == marker:
            done.set()  # the broker sends retained messages on subscribe, before this one
        elif msg.retain and msg.payload:
            seen.add(msg.topic)

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.subscribe(f"{prefix}/#", qos=1)
        client.publish(marker, b"x", qos=1)
        assert done.wait(10), "the marker never came back"
        for topic in sorted(seen):
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    finally:
        client.loop_stop()
        client.disconnect()
    return len(seen)


@pytest.fixture(autouse=True)
def _no_retained_zigbee2mqtt_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """A played Zigbee2MQTT's retained state and availability stay on the shared broker; clear
    them after each simulator test so the next suite starts from an empty broker."""
    yield
    if "mosquitto" in request.fixturenames:
        clear_retained(request.getfixturevalue("mosquitto").port)
