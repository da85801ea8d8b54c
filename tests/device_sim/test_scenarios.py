"""Scenario files and the CLI's handling of bad input: errors name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from device_sim.cli import main
from device_sim.scenario import builtin_paths, load_scenario
from protocol.yamlfile import FileError

HOMES = Path(__file__).resolve().parents[2] / "device_sim" / "homes"

GOOD = f"""\
name: t1
description: test
home: {HOMES / "flat_li.yaml"}
start: "2025-11-24T10:00:00"
duration: 30m
episodes:
  - kind: fall
    at: +10m
    duration: 5m
  - kind: sos
    at: "10:20"
    device: li-sos-button
faults:
  - {{kind: duplicate, rate: 0.1}}
"""

REQUIRED = {
    "normal_day",
    "fall_no_movement",
    "long_inactivity",
    "night_wandering",
    "tachycardia",
    "low_spo2",
    "sos",
    "device_offline",
    "battery_dying",
}


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "scenario.yaml"
    p.write_text(text)
    return p


def test_good_scenario_resolves_times_in_home_zone(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path, GOOD))
    assert sc.end - sc.start == 1800
    assert [e.at - sc.start for e in sc.episodes] == [600.0, 1200.0]
    assert sc.faults[0].kind == "duplicate" and sc.home.home_id == "home-li"


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("kind: fall", "kind: faint", ":7: episodes.0.kind"),
        ("duration: 5m", "duration: 5 parsecs", ":9: episodes.0.duration"),
        ("at: +10m", "at: +2h", ":8: episodes.0.at"),
        ("device: li-sos-button", "device: nobody", ":12: episodes.1.device"),
        ("duration: 30m", "duration: 30m\ncolour: red", ":6: colour"),
        ('start: "2025-11-24T10:00:00"', "start: yesterday", ":4: start"),
        (f"home: {HOMES / 'flat_li.yaml'}", "home: missing.yaml", ":3: home"),
        ("rate: 0.1", "rate: 7", ":14: faults.0.rate"),
    ],
)
def test_bad_scenario_names_file_line_field(tmp_path: Path, old: str, new: str, where: str) -> None:
    p = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(FileError) as exc:
        load_scenario(p)
    assert f"{p}{where}" in str(exc.value)


def test_every_builtin_scenario_loads_and_required_ones_exist() -> None:
    names = {load_scenario(p).name for p in builtin_paths()}
    assert names >= REQUIRED
    fall = load_scenario(next(p for p in builtin_paths() if p.stem == "fall_no_movement"))
    assert fall.end - fall.start <= 3600


def test_scenarios_json_lists_objects_with_home_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= REQUIRED
    for r in rows:
        assert r["description"] and Path(r["home"]).is_file()


def test_cli_bad_scenario_exits_nonzero_naming_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = _write(tmp_path, GOOD.replace("kind: fall", "kind: faint"))
    assert main(["run", str(p), "--broker", "mqtt://127.0.0.1:1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{p}:7: episodes.0.kind" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "no_such_scenario"], "no such scenario"),
        (["run", "sos", "--speed", "-3"], "must be greater than 0"),
        (["run", "sos", "--duration", "soon"], "is not a duration"),
        (["run", "sos", "--broker", "http://x", "--quiet"], "--broker"),
        (["fleet", "--homes", "0"], "must be at least 1"),
    ],
)
def test_cli_bad_arguments(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses the argument itself
        code = int(exc.code or 0)
    assert code != 0
    assert needle in capsys.readouterr().err


def test_validate_reports_each_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path, GOOD.replace("at: +10m", "at: whenever"))
    assert main(["validate", str(HOMES / "flat_li.yaml"), str(bad)]) == 1
    out = capsys.readouterr()
    assert "ok " in out.out and f"{bad}:8: episodes.0.at" in out.err


def test_config_examples_validate_and_homes_match_the_builtins() -> None:
    config = HOMES.parents[1] / "config"
    for p in sorted((config / "homes").glob("*.yaml")):
        assert p.read_text() == (HOMES / p.name).read_text(), f"{p} differs from the built-in"
    assert main(["validate", *map(str, sorted((config / "scenarios").glob("*.yaml")))]) == 0
