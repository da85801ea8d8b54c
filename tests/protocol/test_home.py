"""Home manifests: strict, with errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import ManifestError, load_home

GOOD = """\
home_id: home-1
gateway_id: gw-1
coordinates: {lat: 31.23, lon: 121.47}
resident: {first_name: Mei}
devices:
  - {device_id: pir-1, profile: aqara-rtcgq11lm, room: bedroom}
"""


def test_loads_a_good_manifest(tmp_path: Path) -> None:
    p = tmp_path / "home.yaml"
    p.write_text(GOOD)
    home = load_home(p)
    assert home.device("pir-1") is not None and home.resident.first_name == "Mei"


def test_bad_field_names_file_line_and_field(tmp_path: Path) -> None:
    p = tmp_path / "home.yaml"
    p.write_text(GOOD.replace("room: bedroom", "room: bedroom, colour: red"))
    with pytest.raises(ManifestError) as exc:
        load_home(p)
    msg = str(exc.value)
    assert f"{p}:6: devices.0.colour" in msg


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "home.yaml"
    p.write_text("home_id: [unclosed\n")
    with pytest.raises(ManifestError, match="not valid YAML"):
        load_home(p)
    with pytest.raises(ManifestError, match="file not found"):
        load_home(tmp_path / "missing.yaml")
