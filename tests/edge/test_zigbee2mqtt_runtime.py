"""Zigbee2MQTT at run time, in handler tests (injected messages, frozen time): cached-state
check-ins are not events, availability and bridge state, the device list."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from edge.detectors.base import Detection
from edge.items import RawMessage, Tick
from edge.stages import Stages
from protocol import AlarmKind, HomeManifest, ReadingKind
from tests.edge.z2m_home import HOME_YAML, T0, H, make_stages, raw, run, ticks, z2m

# Zigbee2MQTT 1.x publishes plain states (its legacy payload), 2.x a JSON object.
BOTH_VERSIONS = pytest.mark.parametrize(
    ("offline", "online"),
    [("offline", "online"), ('{"state":"offline"}', '{"state":"online"}')],
    ids=["1.x-plain", "2.x-json"],
)


def home(*, drop: tuple[str, ...] = ()) -> HomeManifest:
    data = yaml.safe_load(HOME_YAML)
    data["devices"] = [d for d in data["devices"] if d["device_id"] not in drop]
    return HomeManifest.model_validate(data)


@pytest.fixture
def stages(tmp_path: Path) -> Stages:
    return make_stages(home(), tmp_path)


def of(dets: list[Detection], kind: AlarmKind) -> list[Detection]:
    return [d for d in dets if d.kind == kind]


def pir_check_in(ts: float, occupancy: bool = False) -> RawMessage:
    return z2m("pir_bedroom", ts, occupancy=occupancy, battery=100, illuminance=31, voltage=3005)


def door_check_in(name: str, ts: float, contact: bool) -> RawMessage:
    return z2m(name, ts, contact=contact, battery=100, voltage=3055, linkquality=99)


@pytest.mark.parametrize(
    ("door", "contact"),
    [("bathroom_door", True), ("front_door", False)],
    ids=["inner-door-closed-check-ins", "front-door-left-ajar"],
)
def test_cached_check_ins_do_not_prevent_the_six_hour_inactivity_alarm(
    stages: Stages, door: str, contact: bool
) -> None:
    """The issue's reproduction: Zigbee2MQTT republishes the unchanged cached ``contact``
    with every (about hourly) check-in; that is the door alive, not someone moving."""
    items: list[RawMessage | Tick] = [
        door_check_in(door, T0 - 10 * 60, contact),  # first value: the door closed / opened
        pir_check_in(T0, occupancy=True),  # the resident's last movement
        pir_check_in(T0 + 90, occupancy=False),  # the PIR's occupancy timeout
    ]
    for hour in range(1, 8):
        items += [door_check_in(door, T0 + hour * H, contact), pir_check_in(T0 + hour * H + 5)]
    timeline = sorted([*items, *ticks(T0, T0 + 8 * H)], key=_when)
    [alarm] = of(run(stages, timeline), AlarmKind.INACTIVITY)
    assert alarm.active and alarm.ts == pytest.approx(T0 + 6 * H)
    assert alarm.details["last_activity"] == pytest.approx(T0)
    assert stages.changes.repeats == 7  # every door check-in repeated its cached contact


def _when(item: RawMessage | Tick) -> float:
    return item.now if isinstance(item, Tick) else item.received_at


def test_a_repeat_is_a_heartbeat_a_change_an_event_and_a_press_always_an_event(
    stages: Stages,
) -> None:
    first = stages.decode_one(door_check_in("bathroom_door", T0, True))
    assert [r.kind for r in first[0]] == [  # type: ignore[union-attr]
        ReadingKind.DOOR_OPEN,  # the first value after install counts as a change
        ReadingKind.BATTERY,
        ReadingKind.VOLTAGE,
        ReadingKind.LINK_QUALITY,
    ]
    again = stages.decode_one(z2m("bathroom_door", T0 + H, contact=True))
    assert [r.kind for r in again[0]] == [ReadingKind.HEARTBEAT]  # type: ignore[union-attr]
    opened = stages.decode_one(z2m("bathroom_door", T0 + 2 * H, contact=False))
    [reading] = opened[0]  # type: ignore[misc]
    assert reading.kind == ReadingKind.DOOR_OPEN and reading.value is True
    presses = [stages.decode_one(z2m("sos_button", T0 + i, action="single")) for i in range(3)]
    assert all(p[0][0].kind == ReadingKind.SOS for p in presses)  # type: ignore[union-attr]
    fired = [stages.decode_one(z2m("pir_bedroom", T0 + i * 70, occupancy=True)) for i in range(3)]
    assert all(f[0][0].kind == ReadingKind.MOTION for f in fired), "each PIR detection counts"  # type: ignore[union-attr]


def test_last_values_survive_a_restart(tmp_path: Path) -> None:
    before = make_stages(home(), tmp_path / "a")
    before.decode_one(door_check_in("bathroom_door", T0, False))
    after = make_stages(home(), tmp_path / "b")
    after.changes.restore(before.changes.state())
    [readings] = after.decode_one(door_check_in("bathroom_door", T0 + H, False))
    assert ReadingKind.DOOR_OPEN not in {r.kind for r in readings}  # type: ignore[union-attr]
    assert after.changes.repeats == 1


def test_a_repeat_still_proves_the_device_alive(stages: Stages) -> None:
    stages.decode_one(z2m("radar_living", T0, presence=True))
    timeline = []
    for i in range(1, 13):  # an unchanged presence every 5 minutes for an hour
        timeline += [z2m("radar_living", T0 + i * 300, presence=True), Tick(T0 + i * 300 + 1)]
    assert not of(run(stages, timeline), AlarmKind.DEVICE_OFFLINE)
    late = run(stages, [Tick(T0 + 3600 + 11 * 60)])  # then 11 min of silence: mains, Z2M 10 min
    assert [d.active for d in of(late, AlarmKind.DEVICE_OFFLINE)] == [True]


@BOTH_VERSIONS
def test_availability_marks_a_device_offline_at_once_and_back(
    stages: Stages, offline: str, online: str
) -> None:
    topic = "zigbee2mqtt/pir_bedroom/availability"
    out = run(
        stages, [pir_check_in(T0), raw(topic, offline, T0 + 60), raw(topic, offline, T0 + 90)]
    )
    [down] = of(out, AlarmKind.DEVICE_OFFLINE)
    assert down.active and down.ts == T0 + 60 and down.device_id == "pir_bedroom"
    [up] = of(run(stages, [raw(topic, online, T0 + 120)]), AlarmKind.DEVICE_OFFLINE)
    assert not up.active and up.device_id == "pir_bedroom"


def test_a_bad_availability_payload_is_quarantined(stages: Stages) -> None:
    assert run(stages, [raw("zigbee2mqtt/pir_bedroom/availability", "sleepy", T0)]) == []
    assert stages.counters.quarantined == 1


@BOTH_VERSIONS
def test_bridge_offline_is_one_zigbee_alarm_and_holds_device_offline(
    stages: Stages, offline: str, online: str
) -> None:
    first = [
        pir_check_in(T0),
        door_check_in("bathroom_door", T0, True),
        door_check_in("front_door", T0, True),
        z2m("radar_living", T0, presence=False),
        z2m("sos_button", T0, battery=90),
        raw("zigbee2mqtt/bridge/state", online, T0 + 1, retained=True),
        raw("zigbee2mqtt/bridge/state", offline, T0 + 60),
        raw("zigbee2mqtt/bridge/state", offline, T0 + 61, retained=True),  # a replay
    ]
    out = run(stages, first + ticks(T0 + 120, T0 + 30 * H))  # longer than every timeout
    [zigbee] = of(out, AlarmKind.ZIGBEE_OFFLINE)
    assert zigbee.active and zigbee.ts == T0 + 60 and zigbee.device_id is None
    assert not of(out, AlarmKind.DEVICE_OFFLINE), "held while the bridge is offline"
    back = T0 + 30 * H + 30
    out = run(stages, [raw("zigbee2mqtt/bridge/state", online, back)])
    assert [d.active for d in of(out, AlarmKind.ZIGBEE_OFFLINE)] == [False]
    later = run(stages, ticks(back + 60, back + 12 * 60, 60))
    offline_now = of(later, AlarmKind.DEVICE_OFFLINE)
    assert [d.device_id for d in offline_now] == ["radar_living"]  # mains: 10 min from return
    assert offline_now[0].ts == pytest.approx(back + 600 + 60)


def test_bridge_devices_tells_each_friendly_names_model(
    stages: Stages, caplog: pytest.LogCaptureFixture
) -> None:
    devices = [
        {"friendly_name": "Coordinator", "ieee_address": "0x00124b0000000000",
         "type": "Coordinator", "definition": None},
        {"friendly_name": "pir_bedroom", "ieee_address": "0x00158d0001a2b3c4",
         "type": "EndDevice", "power_source": "Battery",
         "definition": {"model": "RTCGQ11LM", "vendor": "Aqara", "description": "x"}},
        {"friendly_name": "bathroom_door", "ieee_address": "0x00158d0001a2b3c5",
         "type": "EndDevice", "definition": {"model": "SJCGQ11LM", "vendor": "Aqara"}},
    ]  # fmt: skip
    with caplog.at_level(logging.WARNING):
        run(stages, [raw("zigbee2mqtt/bridge/devices", json.dumps(devices), T0, retained=True)])
    assert stages.board.devices["pir_bedroom"].model == "Aqara RTCGQ11LM"
    assert stages.board.devices["pir_bedroom"].ieee_address == "0x00158d0001a2b3c4"
    text = caplog.text
    assert "bathroom_door is Aqara SJCGQ11LM, but its profile aqara-mccgq11lm" in text
    assert "zigbee2mqtt has no device front_door" in text
    assert stages.counters.quarantined == 0


@pytest.mark.parametrize("payload", ['{"devices": []}', '[{"friendly_name": 3}]', "not json"])
def test_a_bad_device_list_is_quarantined_naming_the_problem(stages: Stages, payload: str) -> None:
    run(stages, [raw("zigbee2mqtt/bridge/devices", payload, T0)])
    assert stages.counters.quarantined == 1
