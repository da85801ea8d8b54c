"""A worn device's alarm names the room where the resident is, not where it was paired."""

from __future__ import annotations

from pathlib import Path

import yaml

from edge.items import AlarmInput
from protocol import Alarm, HomeManifest
from tests.edge.z2m_home import HOME_YAML, T0, make_stages, z2m


def alarms(tmp_path: Path, messages: list[object]) -> list[Alarm]:
    home = HomeManifest.model_validate(yaml.safe_load(HOME_YAML))
    stages = make_stages(home, tmp_path)
    out: list[AlarmInput] = []
    for msg in messages:
        for item in stages.decode_one(msg):  # type: ignore[arg-type]
            out += stages.detect_one(item)
    return [a for x in out for a in stages.alarms.handle(x) if isinstance(a, Alarm)]


def test_the_band_s_sos_names_the_room_of_the_latest_motion_or_presence(tmp_path: Path) -> None:
    [alarm] = alarms(
        tmp_path,
        [
            z2m("pir_bedroom", T0, occupancy=True),
            z2m("radar_living", T0 + 0.5, presence=True),  # same second: still the newest
            z2m("bathroom_door", T0 + 60, contact=False),  # a door says less than presence
            z2m("sos_button", T0 + 90, action="single"),  # paired in the bedroom
        ],
    )
    assert alarm.room == "living_room"
    assert alarm.details["registered_room"] == "bedroom"
    assert alarm.details["room_seen_at"] == T0 + 0.5


def test_without_any_motion_yet_the_paired_room_stands(tmp_path: Path) -> None:
    [alarm] = alarms(tmp_path, [z2m("sos_button", T0, action="single")])
    assert alarm.room == "bedroom" and "registered_room" not in alarm.details
