"""``carewatch-profiles``: list, validate, decode, match; once through the installed entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from firmware_profiles.cli import main
from firmware_profiles.library import BUILTIN_DIR
from tests.firmware_profiles.profile_text import VALID, write
from tests.firmware_profiles.test_decode import FIXTURE_DIR


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 10
    assert {"id", "vendor", "model", "family"} <= set(rows[0])
    assert any(r["id"] == "aqara-rtcgq11lm" and r["family"] == "motion" for r in rows)


def test_list_markdown_and_plain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--markdown"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| id | vendor |") and "| `aqara-wxkg11lm` | Aqara |" in table
    assert main(["list"]) == 0
    assert "guardio-gp100" in capsys.readouterr().out


def test_validate_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert "0 problems" in capsys.readouterr().out


def test_validate_reports_bad_files_and_failing_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, VALID.replace("unit: mV", "unit: volts"), name="bad.yaml")
    wrong = VALID.replace("value: 2.9", "value: 3.9").replace("id: test-pir", "id: wrong")
    write(tmp_path, wrong, name="wrong.yaml")
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'bad.yaml'}:19: fields.1.unit: Value error, unknown unit 'volts'" in err
    assert f"{tmp_path / 'wrong.yaml'}:21: examples.0: decode: voltage: value 2.9" in err


def test_validate_refuses_duplicate_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(BUILTIN_DIR / "aqara-mccgq11lm.yaml", tmp_path / "aqara-mccgq11lm.yaml")
    assert main(["validate", "--extra-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'aqara-mccgq11lm.yaml'}:2: id: duplicate profile id" in err


def test_decode_prints_one_json_reading_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "decode",
        "domus-dp1",
        "--extra-dir",
        str(FIXTURE_DIR),
        "--topic",
        "carewatch/domus/pir-7/pir",
    ]
    assert main([*argv, "--payload-hex", "d02ed3d7bc010b86bd"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["kind"] for r in lines] == ["motion", "tamper", "battery", "voltage", "link_quality"]
    assert all(r["device_id"] == "pir-7" and r["ts"] == 1732320060.0 for r in lines)


def test_decode_failure_names_what_failed(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["decode", "aqara-mccgq11lm", "--topic", "zigbee2mqtt/door", "--payload"]
    assert main([*argv, '{"contact": "open"}']) == 1
    err = capsys.readouterr().err
    assert "aqara-mccgq11lm: topic 'zigbee2mqtt/door': field 'contact' (door_open)" in err
    assert main([*argv, '{"linkquality": null}', "--received-at", "5"]) == 1
    assert "payload decodes to no reading" in capsys.readouterr().err


def test_decode_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "aqara-mccgq11", "--topic", "t/x", "--payload", "{}"]) == 1
    assert "did you mean aqara-mccgq11lm" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--payload-hex is not hex"):
        main(
            [
                "decode",
                "domus-dp1",
                "--extra-dir",
                str(FIXTURE_DIR),
                "--topic",
                "t",
                "--payload-hex",
                "xyz",
            ]
        )
    with pytest.raises(SystemExit) as info:
        main(["decode", "domus-dp1", "--extra-dir", str(FIXTURE_DIR), "--topic", "t"])
    assert info.value.code == 2


def test_match(capsys: pytest.CaptureFixture[str]) -> None:
    payload = '{"occupancy": true, "illuminance_above_threshold": false, "battery": 80}'
    assert main(["match", "--topic", "zigbee2mqtt/stairs", "--payload", payload]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first == {"id": "ikea-e1525", "device_id": "stairs"}


@pytest.mark.parametrize("command", ["list", "validate", "decode", "match"])
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage: carewatch-profiles" in capsys.readouterr().out


def test_installed_entry_point() -> None:
    exe = shutil.which("carewatch-profiles")
    assert exe is not None, "carewatch-profiles is not installed (pip install -e .)"
    cmd = [exe]
    out = subprocess.run(
        [*cmd, "list", "--json"], capture_output=True, text=True, timeout=60, check=True
    )
    assert {r["family"] for r in json.loads(out.stdout)} >= {"motion", "radar", "button"}
    bad = subprocess.run(
        [
            *cmd,
            "decode",
            "domus-dp1",
            "--extra-dir",
            str(FIXTURE_DIR),
            "--topic",
            "carewatch/domus/x/pir",
            "--payload-hex",
            "00",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "payload: 1 bytes, expected 9 bytes" in bad.stderr


def test_docs_sources_table_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--sources"]) == 0
    table = capsys.readouterr().out.strip()
    doc = (Path(__file__).resolve().parents[2] / "docs" / "profiles.md").read_text("utf-8")
    assert table in doc, "docs/profiles.md is stale: paste `carewatch-profiles list --sources`"
    assert "| `philips-sml001` | 3 | 1.x, 2.x | — |" in table
    assert "| `esphome-hlk-ld2410` | 6 | — | `ld2410` |" in table


def test_docs_table_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--markdown"]) == 0
    table = capsys.readouterr().out.strip()
    doc = (Path(__file__).resolve().parents[2] / "docs" / "profiles.md").read_text("utf-8")
    assert table in doc, "docs/profiles.md is stale: paste `carewatch-profiles list --markdown`"
