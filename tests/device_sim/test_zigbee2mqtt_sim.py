"""The simulator plays Zigbee2MQTT: cached state on every message, QoS 0 unless set, the
bridge's retained state and device list, availability after Zigbee2MQTT's timeouts."""

from __future__ import annotations

import json

from device_sim.encode import Encoder
from device_sim.streams import DeviceReport
from device_sim.zigbee2mqtt import Zigbee2MQTTBridge, interview_event
from edge import zigbee2mqtt
from firmware_profiles import load_library
from protocol.home import HomeManifest
from tests.device_sim.conftest import home_with

T0 = 1_732_435_200.0


def _home() -> HomeManifest:
    return home_with(
        [
            {"device_id": "door", "profile": "aqara-mccgq11lm", "room": "entrance"},
            {"device_id": "pir", "profile": "aqara-rtcgq11lm", "room": "kitchen"},
            {"device_id": "sos", "profile": "aqara-wxkg11lm", "room": "bedroom"},
            {"device_id": "radar", "profile": "tuya-zy-m100", "room": "bedroom"},
        ]
    )


def test_every_message_carries_the_cached_state_but_never_the_action() -> None:
    enc = Encoder([_home()])
    enc.encode(DeviceReport(T0, "door", {"door_open": False, "battery": 100}))
    check_in = json.loads(enc.encode(DeviceReport(T0 + 3600, "door", {"voltage": 3.0})).payload)
    assert check_in["contact"] is True and check_in["battery"] == 100  # republished
    enc.encode(DeviceReport(T0, "sos", {"sos": True, "battery": 90}))
    later = json.loads(enc.encode(DeviceReport(T0 + 3600, "sos", {"voltage": 3.0})).payload)
    assert "action" not in later and later["battery"] == 90


def test_qos_0_by_default_1_for_sos_buttons_and_doors() -> None:
    enc = Encoder([_home()])
    assert enc.encode(DeviceReport(T0, "pir", {"motion": True})).qos == 0
    assert enc.encode(DeviceReport(T0, "door", {"door_open": True})).qos == 1
    assert enc.encode(DeviceReport(T0, "sos", {"sos": True})).qos == 1
    assert Encoder([_home()], qos=0).encode(DeviceReport(T0, "sos", {"sos": True})).qos == 0


def test_bridge_startup_is_retained_and_reads_as_zigbee2mqtt() -> None:
    for version, state in ((2, b'{"state": "online"}'), (1, b"online")):
        msgs = {m.topic: m for m in Zigbee2MQTTBridge([_home()], version=version).startup(T0)}
        assert all(m.retain and m.qos == 0 for m in msgs.values())
        assert msgs["zigbee2mqtt/bridge/state"].payload == state
        assert msgs["zigbee2mqtt/door/availability"].payload == state
    devices = zigbee2mqtt.parse_devices(msgs["zigbee2mqtt/bridge/devices"].payload)
    lib = load_library()
    for name, dev in devices.items():
        prof = lib.for_zigbee2mqtt_model(str(dev.model))
        assert prof is not None and prof.id == _home().device(name).profile  # type: ignore[union-attr]
    assert devices["radar"].power_source == "Mains (single phase)"


def test_availability_offline_after_zigbee2mqtts_timeout_and_back_with_the_next_message() -> None:
    bridge = Zigbee2MQTTBridge([_home()])
    bridge.startup(T0)
    enc = Encoder([_home()])
    bridge.heard(enc.encode(DeviceReport(T0 + 10, "radar", {"presence": True})))
    assert bridge.due(T0 + 600) == []
    [off] = bridge.due(T0 + 620)  # mains: 10 minutes; the battery devices have 25 h
    assert off.topic == "zigbee2mqtt/radar/availability" and off.ts == T0 + 610
    assert json.loads(off.payload) == {"state": "offline"} and bridge.due(T0 + 3600) == []
    [on] = bridge.heard(enc.encode(DeviceReport(T0 + 4000, "radar", {"presence": True})))
    assert json.loads(on.payload) == {"state": "online"}
    due = bridge.due(T0 + 25 * 3600 + 1)  # the radar again, then the battery ones at 25 h
    assert [m.device_id for m in due] == ["radar", "door", "pir", "sos"]


def test_the_interview_event_is_what_the_gateway_reads() -> None:
    prof = load_library().get("aqara-wxkg11lm")
    dev = zigbee2mqtt.parse_interview(interview_event("sos_2", prof))
    assert dev is not None and dev.friendly_name == "sos_2" and dev.model == "WXKG11LM"
