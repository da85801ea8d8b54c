"""Zigbee2MQTT as it really publishes: every last_seen format, extra keys, 1.x and 2.x names,
and every action value of every button model."""

from __future__ import annotations

import json

import pytest

from firmware_profiles import DecodeError, PartialDecodeError, load_library
from protocol import ReadingKind

LIB = load_library()
ZIGBEE = [p for p in LIB if p.subscriptions() == ["zigbee2mqtt/+"]]

# The action values the converters publish (zigbee-herdsman-converters, src/devices and
# src/lib/lumi.ts): WXKG11LM exposes single, double, triple, quadruple, hold, release (its
# legacy click converter said 'many' past four clicks); TS0215A_sos: emergency;
# TS0215A_remote: disarm, arm_day_zones, arm_night_zones, arm_all_zones, exit_delay, emergency.
ACTIONS = {
    "WXKG11LM": {"single", "double", "triple", "quadruple", "hold", "release", "many"},
    "TS0215A_sos": {"emergency"},
    "TS0215A_remote": {
        "disarm",
        "arm_day_zones",
        "arm_night_zones",
        "arm_all_zones",
        "exit_delay",
        "emergency",
    },
}
NOT_SOS = {"release", "disarm", "arm_day_zones", "arm_night_zones", "arm_all_zones", "exit_delay"}


@pytest.mark.parametrize(
    ("last_seen", "ts"),
    [
        (1732320123456, 1732320123.456),  # epoch
        ("2024-11-23T00:02:03.456Z", 1732320123.456),  # ISO_8601
        ("2024-11-23T08:02:03.456+08:00", 1732320123.456),  # ISO_8601_local
        ("2024-11-22T19:02:03.456-05:00", 1732320123.456),
    ],
)
def test_last_seen_in_every_zigbee2mqtt_format(last_seen: object, ts: float) -> None:
    payload = json.dumps({"contact": False, "last_seen": last_seen}).encode()
    [reading] = LIB.get("aqara-mccgq11lm").decode("zigbee2mqtt/d", payload, received_at=1.0)
    assert reading.ts == pytest.approx(ts)


def test_a_bad_last_seen_keeps_the_sos_at_arrival_time() -> None:
    payload = b'{"action": "single", "last_seen": "yesterday", "battery": 90}'
    with pytest.raises(PartialDecodeError) as info:
        LIB.get("aqara-wxkg11lm").decode("zigbee2mqtt/b", payload, received_at=7.0)
    assert "timestamp 'last_seen'" in str(info.value)
    kinds = {(r.kind, r.value, r.ts) for r in info.value.readings}
    assert (ReadingKind.SOS, True, 7.0) in kinds and (ReadingKind.BATTERY, 90.0, 7.0) in kinds


def test_a_bad_value_costs_only_its_own_field() -> None:
    payload = b'{"action": "single", "battery": "low", "voltage": 3000}'
    with pytest.raises(PartialDecodeError) as info:
        LIB.get("aqara-wxkg11lm").decode("zigbee2mqtt/b", payload, received_at=7.0)
    assert "field 'battery' (battery): expected a number, got 'low'" in str(info.value)
    assert [r.kind for r in info.value.readings] == [ReadingKind.SOS, ReadingKind.VOLTAGE]


def test_nothing_decodable_is_a_plain_decode_error() -> None:
    with pytest.raises(DecodeError) as info:
        LIB.get("aqara-wxkg11lm").decode("zigbee2mqtt/b", b'{"battery": "low"}', received_at=1.0)
    assert not isinstance(info.value, PartialDecodeError)


@pytest.mark.parametrize("prof", ZIGBEE, ids=lambda p: p.id)
def test_unknown_extra_keys_never_make_a_message_undecodable(prof: object) -> None:
    from firmware_profiles import DeviceProfile

    assert isinstance(prof, DeviceProfile)
    for example in prof.examples:
        obj = json.loads(example.payload_bytes())
        obj.update({"z2m_new_key": {"nested": [1, 2]}, "elapsed": 1234, "action_group": 7})
        got = prof.decode(example.topic, json.dumps(obj).encode(), received_at=example.received_at)
        assert [r.kind for r in got] == [e.kind for e in example.expect]


@pytest.mark.parametrize("prof", ZIGBEE, ids=lambda p: p.id)
def test_every_zigbee_profile_ships_1x_and_2x_examples(prof: object) -> None:
    from firmware_profiles import DeviceProfile

    assert isinstance(prof, DeviceProfile)
    assert {ex.z2m for ex in prof.examples} == {"1.x", "2.x"}


@pytest.mark.parametrize("prof_id", ["philips-sml001", "tuya-zy-m100"])
def test_illuminance_decodes_from_1x_and_2x_names(prof_id: str) -> None:
    prof = LIB.get(prof_id)
    one = prof.decode(
        "zigbee2mqtt/x", b'{"illuminance": 16022, "illuminance_lux": 40}', received_at=1
    )
    two = prof.decode("zigbee2mqtt/x", b'{"illuminance": 40}', received_at=1)
    assert [(r.kind, r.value) for r in one] == [(ReadingKind.ILLUMINANCE, 40.0)]
    assert [(r.kind, r.value) for r in two] == [(ReadingKind.ILLUMINANCE, 40.0)]
    _, payload = prof.encode("x", {"illuminance": 40}, ts=1.0, z2m="2.x")
    assert "illuminance_lux" not in json.loads(payload) and json.loads(payload)["illuminance"] == 40


@pytest.mark.parametrize("model", sorted(ACTIONS))
def test_every_action_of_every_button_model_is_mapped(model: str) -> None:
    prof = LIB.for_zigbee2mqtt_model(model)
    assert prof is not None and prof.family == "button"
    declared: set[object] = set()
    for f in prof.spec.fields:
        if f.path == "action":
            declared |= {*(f.lookup or {}), *f.ignore}
    assert ACTIONS[model] <= declared, f"unmapped: {ACTIONS[model] - declared}"
    for action in ACTIONS[model]:
        payload = json.dumps({"action": action}).encode()
        try:
            got = prof.decode("zigbee2mqtt/b", payload, received_at=1.0)
        except DecodeError:
            got = []
        sos = [r for r in got if r.kind == ReadingKind.SOS]
        assert bool(sos) == (action not in NOT_SOS), action


@pytest.mark.parametrize("prof_id", ["aqara-wxkg11lm", "tuya-ts0215a"])
def test_an_action_the_converter_adds_later_is_still_an_sos(prof_id: str) -> None:
    got = LIB.get(prof_id).decode("zigbee2mqtt/b", b'{"action": "long_press"}', received_at=1.0)
    assert [(r.kind, r.value) for r in got] == [(ReadingKind.SOS, True)]


def test_repeated_presses_of_the_mini_switch_are_sos_never_cancel() -> None:
    prof = LIB.get("aqara-wxkg11lm")
    assert ReadingKind.CANCEL not in prof.kinds
    for action in ("double", "triple", "quadruple", "many", "hold"):
        payload = json.dumps({"action": action}).encode()
        [r] = prof.decode("zigbee2mqtt/b", payload, received_at=1.0)
        assert (r.kind, r.value) == (ReadingKind.SOS, True)


def test_ikea_e1525_heartbeat_follows_zigbee2mqtt_passive_availability() -> None:
    prof = LIB.get("ikea-e1525")
    assert prof.power == "battery"
    assert prof.heartbeat_interval_s >= 25 * 3600
