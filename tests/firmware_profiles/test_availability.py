"""Availability topics: the schema field, the payload reader and the derived timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_profiles import DecodeError, ProfileError, load_library, load_profile
from firmware_profiles.availability import availability_state
from tests.firmware_profiles.profile_text import VALID, write

ESPHOME_STATUS = 'availability:\n  topic: "{device_id}/status"\n'


@pytest.mark.parametrize(
    ("payload", "online"),
    [
        (b"online", True),  # Zigbee2MQTT 1.x legacy payload, ESPHome <node>/status
        (b"offline", False),
        (b'{"state":"online"}', True),  # Zigbee2MQTT 2.x
        (b'{"state":"offline"}', False),
        (b" online\n", True),
    ],
)
def test_plain_and_json_states_are_read(payload: bytes, online: bool) -> None:
    assert availability_state(payload) is online


@pytest.mark.parametrize(
    ("payload", "named"),
    [(b"gone", "'gone'"), (b'{"status":"online"}', "no 'state'"), (b"{oops", "not valid JSON")],
)
def test_anything_else_is_refused_naming_it(payload: bytes, named: str) -> None:
    with pytest.raises(DecodeError, match=named):
        availability_state(payload)


def test_a_profile_with_an_esphome_status_topic(tmp_path: Path) -> None:
    prof = load_profile(write(tmp_path, VALID.replace("encoding:", ESPHOME_STATUS + "encoding:")))
    assert prof.availability_subscription() == "+/status"
    assert prof.availability_topic_for("radar1") == "radar1/status"
    assert prof.device_id_from_availability_topic("radar1/status") == "radar1"
    assert prof.device_id_from_availability_topic("test/radar1/pir") is None
    assert prof.decode_availability(b"offline") is False
    assert prof.offline_timeout_s is None  # heartbeat rule unless the profile says zigbee2mqtt
    with pytest.raises(DecodeError, match="test-pir"):
        prof.decode_availability(b"maybe")


def test_custom_payloads(tmp_path: Path) -> None:
    text = VALID.replace("encoding:", ESPHOME_STATUS + "  online: up\n  offline: down\nencoding:")
    prof = load_profile(write(tmp_path, text))
    assert prof.decode_availability(b"up") is True
    assert prof.decode_availability(b"down") is False


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ('availability:\n  topic: "a/b"\n', "availability.topic"),
        ('availability:\n  topic: "test/{device_id}/pir"\n', "data topic"),
        ('availability:\n  topic: "x/{device_id}"\n  online: a\n  offline: a\n', "both 'a'"),
        ('availability:\n  topic: "x/{device_id}"\n  timeouts: weekly\n', "timeouts"),
    ],
)
def test_bad_availability_is_named(tmp_path: Path, extra: str, named: str) -> None:
    with pytest.raises(ProfileError, match=named):
        load_profile(write(tmp_path, VALID.replace("encoding:", extra + "encoding:")))


def test_zigbee2mqtt_profiles_follow_its_availability_defaults() -> None:
    lib = load_library()
    zigbee = [p for p in lib if p.topic_pattern == "zigbee2mqtt/{device_id}"]
    assert zigbee
    for prof in zigbee:
        assert prof.availability_subscription() == "zigbee2mqtt/+/availability"
        expected = 600.0 if prof.power == "mains" else 25 * 3600.0
        assert prof.offline_timeout_s == expected, prof.id
