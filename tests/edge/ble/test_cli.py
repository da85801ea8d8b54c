"""``carewatch-ble``: help, check, config errors, the shipped example, unit and reference."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from edge.ble.cli import main
from edge.ble.config import BleBridgeConfig, BleDevice, load_ble_config
from edge.configdoc import reference_markdown

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "config" / "ble.example.toml"


@pytest.mark.parametrize("argv", [[], ["run"], ["check"], ["scan"]])
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    assert "usage: carewatch-ble" in capsys.readouterr().out


def test_check_the_shipped_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "A0:9E:1A:12:34:56  li-chest" in out
    assert "-> carewatch/ble/li-chest/telemetry  [heart_rate, battery, accel@50Hz]" in out
    assert "-> carewatch/ble/li-arm/telemetry  [heart_rate, battery, accel@52Hz]" in out


def write(tmp_path: Path, devices: str) -> Path:
    path = tmp_path / "ble.toml"
    path.write_text('[broker]\nurl = "mqtt://127.0.0.1:1883"\n\n' + devices)
    return path


def test_a_bad_address_names_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, '[[devices]]\naddress = "A0:9E:1A"\ndevice_id = "b"\nprofile = "polar-h10"\n'
    )
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}" in err and "5: devices.0.address" in err


def test_repeated_addresses_and_ids_are_refused(tmp_path: Path) -> None:
    one = 'address = "a0:9e:1a:12:34:56"\ndevice_id = "b1"\nprofile = "polar-h10"\n'
    two = 'address = "A0:9E:1A:12:34:56"\ndevice_id = "b2"\nprofile = "polar-h10"\n'
    path = write(tmp_path, f"[[devices]]\n{one}\n[[devices]]\n{two}")
    with pytest.raises(Exception, match="address repeats: A0:9E:1A:12:34:56"):
        load_ble_config(path)


def test_a_profile_that_is_not_a_ble_one_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        '[[devices]]\naddress = "A0:9E:1A:12:34:56"\ndevice_id = "pir"\n'
        'profile = "aqara-rtcgq11lm"\n',
    )
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "device 'pir' (A0:9E:1A:12:34:56): profile 'aqara-rtcgq11lm'" in err
    assert "not a carewatch-ble topic" in err


def test_broker_flag_overrides_and_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(EXAMPLE), "--broker", "http://x"]) == 2
    assert "broker.url must look like mqtt://" in capsys.readouterr().err


def test_console_script_and_edge_extra_declared() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["scripts"]["carewatch-ble"] == "edge.ble.cli:main"
    assert any(d.startswith("bleak>=") for d in meta["optional-dependencies"]["edge"])


def test_systemd_unit_runs_the_bridge_with_bluetooth_access() -> None:
    unit = (REPO / "deploy" / "carewatch-ble.service").read_text()
    assert (
        "ExecStart=/opt/carewatch/venv/bin/carewatch-ble run --config /etc/carewatch/ble.toml"
        in unit
    )
    assert "SupplementaryGroups=bluetooth" in unit and "After=bluetooth.service" in unit
    assert "AF_UNIX" in unit  # the system bus, where BlueZ is


def test_docs_config_reference_is_generated_from_the_model() -> None:
    doc = (REPO / "docs" / "ble.md").read_text()
    assert reference_markdown(BleBridgeConfig) in doc
    assert reference_markdown(BleDevice, "devices[].") in doc
