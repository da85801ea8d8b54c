"""New reading kinds and families as data: a profile directory beside the built-in library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firmware_profiles import ProfileError, load_library, load_profile
from firmware_profiles.cli import main
from protocol.readings import DeclaredKind, is_event_kind, is_state_kind, kind_info

HUMIDITY = """\
id: acme-th1
vendor: Acme
model: TH-1
family: environment
families: [environment]
kinds:
  humidity: {unit: "%", value: number}
  mould_alert: {unit: bool, value: bool}
  knock: {unit: bool, value: bool, event: true}
topic:
  pattern: "zigbee2mqtt/{device_id}"
encoding:
  format: json
heartbeat_interval_s: 3600
power: mains
fields:
  - kind: humidity
    path: humidity
  - kind: temperature
    path: temperature
  - kind: mould_alert
    path: mould
  - kind: knock
    path: knock
examples:
  - topic: zigbee2mqtt/bathroom_th
    payload: '{"humidity": 71.5, "temperature": 22.1, "mould": true, "knock": false}'
    received_at: 1732320000.0
    ts: 1732320000.0
    expect:
      - {kind: humidity, value: 71.5}
      - {kind: temperature, value: 22.1}
      - {kind: mould_alert, value: true}
      - {kind: knock, value: false}
"""


def _extra(tmp_path: Path, text: str = HUMIDITY, name: str = "acme-th1.yaml") -> Path:
    d = tmp_path / "profiles"
    d.mkdir(exist_ok=True)
    (d / name).write_text(text, encoding="utf-8")
    return d


def test_a_profile_declares_a_kind_and_a_family_without_python(tmp_path: Path) -> None:
    lib = load_library(extra_dirs=[_extra(tmp_path)])
    prof = lib.get("acme-th1")
    assert "aqara-mccgq11lm" in lib  # the built-in library is still there
    assert prof.family == "environment"
    got = prof.decode("zigbee2mqtt/b", b'{"humidity": 64, "mould": false}', received_at=5.0)
    assert [(str(r.kind), r.value, r.unit) for r in got] == [
        ("humidity", 64.0, "%"),
        ("mould_alert", False, "bool"),
    ]
    assert isinstance(got[0].kind, DeclaredKind) and got[0].kind.value == "humidity"
    info = kind_info("humidity")
    assert info is not None and info.value_class == "number" and not info.event
    assert is_state_kind(DeclaredKind("mould_alert")) and not is_event_kind(
        DeclaredKind("humidity")
    )
    assert is_event_kind(DeclaredKind("knock")) and not is_state_kind(DeclaredKind("knock"))


def test_carewatch_profiles_takes_extra_dirs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = _extra(tmp_path)
    assert main(["validate", "--extra-dir", str(extra)]) == 0
    capsys.readouterr()
    assert main(["list", "--json", "--extra-dir", str(extra)]) == 0
    ids = [p["id"] for p in json.loads(capsys.readouterr().out)]
    assert "acme-th1" in ids and "aqara-rtcgq11lm" in ids
    payload = '{"humidity": 80}'
    assert main(["decode", "acme-th1", "--extra-dir", str(extra), "--topic", "zigbee2mqtt/x",
                 "--payload", payload]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["kind"] == "humidity"


def test_a_kind_used_but_not_declared_is_named(tmp_path: Path) -> None:
    text = HUMIDITY.replace('  humidity: {unit: "%", value: number}\n', "")
    text = text.replace("id: acme-th1", "id: acme-th2")
    path = _extra(tmp_path, text, "acme-th2.yaml") / "acme-th2.yaml"
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    msg = str(info.value)
    assert "fields.0.kind" in msg
    assert "unknown reading kind 'humidity'" in msg or "declare it in kinds:" in msg


def test_a_kind_declared_differently_by_two_profiles_is_refused(tmp_path: Path) -> None:
    load_profile(_extra(tmp_path) / "acme-th1.yaml")
    text = HUMIDITY.replace("id: acme-th1", "id: acme-th3").replace(
        'humidity: {unit: "%", value: number}', "humidity: {unit: permille, value: number}"
    )
    path = _extra(tmp_path, text, "acme-th3.yaml") / "acme-th3.yaml"
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert ":7: kinds.humidity: kind 'humidity' is already declared differently" in str(info.value)


def test_a_builtin_kind_cannot_be_redeclared(tmp_path: Path) -> None:
    text = HUMIDITY.replace("id: acme-th1", "id: acme-th4").replace(
        "  knock:", "  motion: {unit: bool, value: bool}\n  knock:"
    )
    path = _extra(tmp_path, text, "acme-th4.yaml") / "acme-th4.yaml"
    with pytest.raises(ProfileError, match=r"kinds\.motion: kind 'motion' is built in"):
        load_profile(path)


def test_an_undeclared_family_is_refused(tmp_path: Path) -> None:
    text = HUMIDITY.replace("id: acme-th1", "id: acme-th5").replace("families: [environment]\n", "")
    path = _extra(tmp_path, text, "acme-th5.yaml") / "acme-th5.yaml"
    with pytest.raises(ProfileError, match="family 'environment' is not built in"):
        load_profile(path)


def test_extra_dirs_add_to_a_dir_given_instead_of_the_library(tmp_path: Path) -> None:
    from firmware_profiles.library import BUILTIN_DIR

    lib = load_library(BUILTIN_DIR, extra_dirs=[_extra(tmp_path)])
    assert "acme-th1" in lib and "aqara-mccgq11lm" in lib
