"""carewatch-sim --extra-dir: a home pairing a device of a profile directory beside the library."""

from __future__ import annotations

from pathlib import Path

import pytest

from device_sim.cli import main
from device_sim.profiles import use_extra_dirs
from tests.edge.test_profile_dirs import HOME
from tests.firmware_profiles.test_declared_kinds import HUMIDITY


def test_validate_finds_the_profile_only_with_extra_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "acme-th1.yaml").write_text(HUMIDITY)
    home = tmp_path / "home.yaml"
    home.write_text(HOME)
    try:
        assert main(["validate", str(home)]) == 1
        assert "profile 'acme-th1' is not in the device library" in capsys.readouterr().err
        assert main(["--extra-dir", str(tmp_path / "p"), "validate", str(home)]) == 0
        assert f"ok {home}" in capsys.readouterr().out
    finally:
        use_extra_dirs([])
