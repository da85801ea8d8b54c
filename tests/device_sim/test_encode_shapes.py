"""The simulator plays what the real bridges publish: Zigbee2MQTT 2.x names, ESPHome topics."""

from __future__ import annotations

import json

from device_sim.cli import build_parser
from device_sim.encode import Encoder
from device_sim.streams import DeviceReport
from tests.device_sim.test_encoder_state import _home


def test_zigbee2mqtt_2x_payloads_carry_2x_names() -> None:
    rep = DeviceReport(1732320000.0, "band", {"motion": True, "illuminance": 40.0})
    one = json.loads(Encoder([_home("philips-sml001")]).encode(rep).payload)
    two = json.loads(Encoder([_home("philips-sml001")], z2m="2.x").encode(rep).payload)
    assert one["illuminance_lux"] == 40 and "illuminance" not in one
    assert two["illuminance"] == 40 and "illuminance_lux" not in two
    assert build_parser().parse_args(["run", "sos", "--z2m", "2.x"]).z2m == "2.x"


def test_an_esphome_report_is_one_message_per_entity() -> None:
    enc = Encoder([_home("esphome-seeed-mr60bha2")])
    rep = DeviceReport(1732320000.0, "band", {"presence": True, "heart_rate": 61.0})
    msgs = enc.encode_all(rep)
    assert [(m.topic, m.payload) for m in msgs] == [
        ("band/binary_sensor/person_information/state", b"ON"),
        ("band/sensor/real-time_heart_rate/state", b"61.00"),
    ]
