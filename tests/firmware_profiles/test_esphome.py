"""ESPHome radars: the shipped node YAML publishes what the profiles decode, and the radar fall
detector works on what they decode."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.detectors.radar_fall import RadarFallConfig, RadarFallDetector
from firmware_profiles import DecodeError, load_library
from protocol import AlarmKind, ReadingKind

REPO = Path(__file__).resolve().parents[2]
LIB = load_library()
NODES = {
    "mr60fda2.yaml": ("esphome-seeed-mr60fda2", "seeed_mr60fda2"),
    "mr60bha2.yaml": ("esphome-seeed-mr60bha2", "seeed_mr60bha2"),
    "ld2410.yaml": ("esphome-hlk-ld2410", "ld2410"),
}


class _EsphomeLoader(yaml.SafeLoader):
    """YAML with ESPHome's !secret tags."""


_EsphomeLoader.add_constructor("!secret", lambda loader, node: f"<secret {node.value}>")


def object_id(name: str) -> str:
    """ESPHome's object id of an entity name: str_sanitize(str_snake_case(name))."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name.lower().replace(" ", "_"))


def _entity_topics(node: dict[str, Any]) -> set[str]:
    """<component>/<object_id>/state of every named binary_sensor and sensor of a node."""
    topics = set()
    for component in ("binary_sensor", "sensor"):
        for entry in node.get(component, []):
            named = (
                [entry] if "name" in entry else [v for v in entry.values() if isinstance(v, dict)]
            )
            topics |= {f"{component}/{object_id(e['name'])}/state" for e in named}
    return topics


@pytest.mark.parametrize("file", sorted(NODES))
def test_the_shipped_node_publishes_every_topic_its_profile_decodes(file: str) -> None:
    profile_id, component = NODES[file]
    node = yaml.load((REPO / "deploy" / "esphome" / file).read_text(), Loader=_EsphomeLoader)
    prof = LIB.get(profile_id)
    assert component in node, f"{file} does not use ESPHome's {component} component"
    assert node["esphome"]["name"] == "${node}" and node["mqtt"]["username"] == "${node}"
    assert "topic_prefix" not in node["mqtt"], "the profile expects the default prefix, the node"
    assert {f.path for f in prof.spec.fields} == _entity_topics(node)
    assert prof.availability_topic_for("radar") == "radar/status"  # ESPHome's birth/will
    assert {ex.esphome for ex in prof.examples} <= {component, "wifi_signal"}


def test_object_ids_follow_esphome_from_its_documented_names() -> None:
    assert object_id("Falling Detected") == "falling_detected"
    assert object_id("Real-time respiratory rate") == "real-time_respiratory_rate"
    assert object_id("Distance to detection object") == "distance_to_detection_object"
    assert object_id("Moving Target") == "moving_target"


def test_plain_values_as_esphome_formats_them() -> None:
    bha2 = LIB.get("esphome-seeed-mr60bha2")
    t = "radar-bed/sensor/real-time_heart_rate/state"
    [r] = bha2.decode(t, b"72.50", received_at=9.0)
    assert (r.kind, r.value, r.ts) == (ReadingKind.HEART_RATE, 72.5, 9.0)
    assert bha2.decode(t, b"nan", received_at=9.0) == []  # ESPHome's "no value"
    with pytest.raises(DecodeError, match="expected a number, got 'high'"):
        bha2.decode(t, b"high", received_at=9.0)
    [(topic, payload)] = bha2.encode_messages("radar-bed", {"heart_rate": 61}, ts=0.0)
    assert (topic, payload) == (t, b"61.00")
    fda2 = LIB.get("esphome-seeed-mr60fda2")
    [(_, on)] = fda2.encode_messages("r", {"radar_fall": True}, ts=0.0)
    assert on == b"ON"
    assert fda2.device_id_from_topic("r/binary_sensor/unknown/state") is None
    assert fda2.subscriptions() == [
        "+/binary_sensor/falling_detected/state",
        "+/binary_sensor/person_information/state",
        "+/sensor/wifi_signal/state",
    ]


def test_ld2410_distances_in_cm_become_metres() -> None:
    prof = LIB.get("esphome-hlk-ld2410")
    [r] = prof.decode("radar-living/sensor/still_distance/state", b"235", received_at=1.0)
    assert str(r.kind) == "still_distance" and r.value == pytest.approx(2.35) and r.unit == "m"


def test_the_radar_fall_detector_confirms_an_esphome_mr60fda2_fall() -> None:
    prof = LIB.get("esphome-seeed-mr60fda2")
    det = RadarFallDetector(RadarFallConfig(confirm_s=30), device_id="radar-bedroom")
    t0 = 1_732_320_000.0
    messages = [
        (t0, "binary_sensor/person_information/state", b"ON"),
        (t0 + 10, "binary_sensor/falling_detected/state", b"ON"),
        (t0 + 25, "sensor/wifi_signal/state", b"-60"),
    ]
    out = []
    for ts, suffix, payload in messages:
        for reading in prof.decode(f"radar-bedroom/{suffix}", payload, received_at=ts):
            if reading.kind in det.kinds:
                out += det.feed(reading)
    assert out == []
    out += det.tick(t0 + 41)
    assert [(d.kind, d.ts) for d in out] == [(AlarmKind.RADAR_FALL, t0 + 10)]


def test_an_mr60fda2_fall_followed_by_the_person_leaving_is_dropped() -> None:
    prof = LIB.get("esphome-seeed-mr60fda2")
    det = RadarFallDetector(RadarFallConfig(confirm_s=30), device_id="radar-bedroom")
    t0 = 1_732_320_000.0
    for ts, suffix, payload in [
        (t0, "binary_sensor/falling_detected/state", b"ON"),
        (t0 + 12, "binary_sensor/person_information/state", b"OFF"),
    ]:
        for reading in prof.decode(f"radar-bedroom/{suffix}", payload, received_at=ts):
            det.feed(reading)
    assert det.tick(t0 + 60) == []
