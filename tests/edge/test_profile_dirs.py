"""The gateway takes profile directories beside the built-in library (profiles.extra_dirs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.app import Gateway
from edge.configfile import load_config
from firmware_profiles import ProfileError
from tests.edge.conftest import HOME_YAML
from tests.firmware_profiles.test_declared_kinds import HUMIDITY

HOME = HOME_YAML + "  - {device_id: bathroom_th, profile: acme-th1, room: bathroom}\n"


def _setup(tmp_path: Path, profile_text: str = HUMIDITY) -> Path:
    (tmp_path / "vendor-profiles").mkdir()
    (tmp_path / "vendor-profiles" / "acme-th1.yaml").write_text(profile_text)
    (tmp_path / "home.yaml").write_text(HOME)
    cfg = tmp_path / "gateway.yaml"
    cfg.write_text("home: home.yaml\ndata_dir: data\nprofiles:\n  extra_dirs: [vendor-profiles]\n")
    return cfg


def test_a_paired_device_of_an_extra_profile_directory_is_routed(tmp_path: Path) -> None:
    cfg = load_config(_setup(tmp_path))
    assert cfg.profiles.extra_dirs == [tmp_path / "vendor-profiles"]
    gw = Gateway(cfg)
    assert gw.router.route("zigbee2mqtt/pir_kitchen") is not None  # the built-ins too
    route = gw.router.route("zigbee2mqtt/bathroom_th")
    assert route is not None and route.profile.id == "acme-th1"
    [reading] = route.profile.decode("zigbee2mqtt/bathroom_th", b'{"humidity": 70}', received_at=1)
    assert str(reading.kind) == "humidity"


def test_a_bad_extra_profile_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    cfg = load_config(_setup(tmp_path, HUMIDITY.replace("id: acme-th1", "id: acme-other")))
    with pytest.raises(ProfileError) as info:
        Gateway(cfg)
    assert "acme-th1.yaml:1: id: 'acme-other' does not match the file name" in str(info.value)


def test_readings_of_a_declared_kind_become_telemetry(tmp_path: Path) -> None:
    from edge.telemetry import TelemetryAggregator
    from protocol import Reading, load_home
    from protocol.readings import DeclaredKind

    cfg = load_config(_setup(tmp_path))
    Gateway(cfg)  # loads the extra profiles, declaring their kinds
    agg = TelemetryAggregator(load_home(tmp_path / "home.yaml"), lateness_s=0)
    t0 = 1_732_320_000.0
    for i, h in enumerate([60.0, 70.0]):
        agg.add(Reading("bathroom_th", t0 + i, DeclaredKind("humidity"), h))
    agg.add(Reading("bathroom_th", t0 + 2, DeclaredKind("knock"), True))
    batch = agg.flush(t0 + 120)
    assert batch is not None
    points = {p.metric: p for p in batch.points}
    assert (points["humidity"].count, points["humidity"].mean) == (2, 65.0)
    assert points["knock"].count == 1
