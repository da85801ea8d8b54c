"""carewatch-gateway burn-in: a new installation's report from the gateway's own data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.app import STATE_FILE
from edge.cli import main
from edge.items import Quarantined, RawMessage
from tests.edge.z2m_home import HOME_YAML, T0, make_stages, z2m

H = 3600.0
HEARD = [
    z2m("pir_bedroom", T0, occupancy=True, battery=90),
    z2m("bathroom_door", T0 + 60, contact=False, battery=80),
    z2m("front_door", T0 + 120, contact=False, battery=70),
    z2m("radar_living", T0 + 180, presence=True),
    z2m("sos_button", T0 + 240, battery=60),
]


def installed(tmp_path: Path, messages: list[RawMessage]) -> list[str]:
    """A gateway's data dir after ``messages``; the burn-in command line for it."""
    import yaml

    from protocol import HomeManifest

    (tmp_path / "home.yaml").write_text(HOME_YAML)
    data = tmp_path / "data"
    data.mkdir()
    stages = make_stages(HomeManifest.model_validate(yaml.safe_load(HOME_YAML)), data)
    for msg in messages:
        for item in stages.decode_one(msg):
            stages.detect_one(item)
    stages.outbox.write([Quarantined(T0, "zigbee2mqtt/sos_button", "sos_button", "bad", b"{")])
    state = {"detectors": stages.bank.state(), "last_values": stages.changes.state()}
    (data / STATE_FILE).write_text(json.dumps(state))
    stages.outbox.db.close()
    return ["burn-in", "--home", str(tmp_path / "home.yaml"), "--data-dir", str(data)]


def test_a_sound_installation_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    later = [
        z2m("pir_bedroom", T0 + 20 * H, occupancy=True, battery=90),
        z2m("bathroom_door", T0 + 20 * H, contact=True, battery=80),
        z2m("front_door", T0 + 20 * H, contact=True, battery=70),
        z2m("radar_living", T0 + 20 * H, presence=False),
        z2m("sos_button", T0 + 20 * H, battery=60),
    ]
    args = installed(tmp_path, HEARD + later)
    assert main([*args, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["ok"] and all(r["all_fired"] for r in rep["rooms"] if r["sensors"])
    [button] = [d for d in rep["devices"] if d["device_id"] == "sos_button"]
    assert button["quarantined"] == 1 and button["activity_sensor"] is False
    assert button["battery"] == 60


def test_unheard_silent_and_flat_devices_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    msgs = [
        z2m("radar_living", T0, presence=True),  # mains: heartbeat every 10 min
        z2m("bathroom_door", T0 + 60, battery=80),  # heard, never opened
        z2m("front_door", T0 + 20 * H, contact=False, battery=70),
        z2m("sos_button", T0 + 20 * H, battery=5),
    ]  # the bedroom PIR never heard; the radar silent for 20 h
    args = installed(tmp_path, msgs)
    assert main([*args, "--json"]) == 1
    rep = json.loads(capsys.readouterr().out)
    problems = {d["device_id"]: d["problems"] for d in rep["devices"]}
    assert problems["pir_bedroom"] == ["never heard", "never fired"]
    assert "never fired" in problems["bathroom_door"]
    assert [p[:13] for p in problems["radar_living"]] == ["silent 20.0 h"]
    assert problems["sos_button"] == ["battery 5 %"]
    rooms = {r["room"]: r for r in rep["rooms"]}
    assert rooms["bathroom"]["not_fired"] == ["bathroom_door"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "PROBLEMS" in out and "pir_bedroom" in out and "never heard" in out


def test_a_data_dir_without_state_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "home.yaml").write_text(HOME_YAML)
    assert (
        main(["burn-in", "--home", str(tmp_path / "home.yaml"), "--data-dir", str(tmp_path)]) == 2
    )
    assert STATE_FILE in capsys.readouterr().err
