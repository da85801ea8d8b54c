"""Load-time validation: each fault stops loading with the file, line and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_profiles import ProfileError, load_library, load_profile
from tests.firmware_profiles.profile_text import VALID, write


def _error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_the_base_profile_is_valid(tmp_path: Path) -> None:
    prof = load_profile(write(tmp_path))
    assert prof.id == "test-pir"
    assert prof.subscription() == "test/+/pir"


def test_unknown_top_level_field_is_named_with_its_line(tmp_path: Path) -> None:
    msg = _error(tmp_path, VALID.replace("family: motion\n", "family: motion\ncolour: red\n"))
    assert ":5: colour: Extra inputs are not permitted" in msg


def test_unknown_field_key_inside_a_mapping(tmp_path: Path) -> None:
    msg = _error(tmp_path, VALID.replace("    path: pir\n", "    path: pir\n    scael: 2\n"))
    assert ":17: fields.0.scael: Extra inputs are not permitted" in msg


def test_unknown_converter_is_named(tmp_path: Path) -> None:
    text = VALID.replace("    path: pir\n", "    path: pir\n    converter: divide_by_ten\n")
    msg = _error(tmp_path, text)
    assert ":17: fields.0.converter:" in msg
    assert "unknown converter 'divide_by_ten'" in msg


def test_unknown_unit_is_named(tmp_path: Path) -> None:
    msg = _error(tmp_path, VALID.replace("unit: mV", "unit: furlongs"))
    assert ":19: fields.1.unit:" in msg
    assert "unknown unit 'furlongs'" in msg


def test_unit_of_the_wrong_quantity_is_named(tmp_path: Path) -> None:
    msg = _error(tmp_path, VALID.replace("unit: mV", "unit: mg"))
    assert ":17: fields.1:" in msg
    assert "field voltage (path 'mv')" in msg and "'mg' cannot be converted to 'V'" in msg


def test_unknown_kind_is_named(tmp_path: Path) -> None:
    msg = _error(tmp_path, VALID.replace("kind: motion\n    path", "kind: movement\n    path"))
    assert ":15: fields.0.kind:" in msg


def test_converter_yielding_the_wrong_class(tmp_path: Path) -> None:
    text = VALID.replace("    path: pir\n", "    path: pir\n    converter: number\n")
    msg = _error(tmp_path, text)
    assert "converter 'number' yields number, but motion holds bool" in msg


def test_cross_checks_name_their_field(tmp_path: Path) -> None:
    text = VALID.replace("    path: pir\n", "    path: pir\n    bit: 3\n").replace(
        "expect:\n", "expect:\n      - {kind: spo2, value: 97}\n"
    )
    msg = _error(tmp_path, text)
    assert ":17: fields.0.bit: bit applies to binary layouts only" in msg
    assert "examples.0.expect.0.kind: no field makes spo2" in msg


def test_duplicate_kind_and_missing_sample_rate(tmp_path: Path) -> None:
    text = VALID.replace(
        "examples:",
        "  - kind: motion\n    path: pir2\n"
        "  - kind: accel\n    path: acc\n    embed: hex\nexamples:",
    )
    msg = _error(tmp_path, text)
    assert "fields.2.kind: motion is already fields.0" in msg
    assert "sample_rate_hz: a profile with accel needs sample_rate_hz" in msg


def test_binary_field_outside_the_layout(tmp_path: Path) -> None:
    text = VALID.replace(
        "  format: json\n",
        "  format: binary\n  layout:\n    - {name: ts, type: u64}\n    - {name: pir, type: u8}\n",
    )
    msg = _error(tmp_path, text)
    assert "fields.1.path: 'mv' is not in the layout" in msg
    assert "examples.0: a binary device's example needs payload_hex" in msg


def test_bad_topic_pattern(tmp_path: Path) -> None:
    msg = _error(tmp_path, VALID.replace('"test/{device_id}/pir"', '"test/+/pir"'))
    assert ":6: topic.pattern:" in msg and "exactly one {device_id}" in msg


def test_not_yaml(tmp_path: Path) -> None:
    msg = _error(tmp_path, VALID.replace("vendor: Test", "vendor: [Test"))
    assert "not valid YAML" in msg


def test_duplicate_id_is_refused_naming_both_files(tmp_path: Path) -> None:
    write(
        tmp_path, VALID.replace("id: test-pir", "id: aqara-mccgq11lm"), name="aqara-mccgq11lm.yaml"
    )
    with pytest.raises(ProfileError) as info:
        load_library(extra_dirs=[tmp_path])
    msg = str(info.value)
    assert f"{tmp_path / 'aqara-mccgq11lm.yaml'}:1: id: duplicate profile id" in msg
    assert "already defined in" in msg and "firmware_profiles/devices/aqara-mccgq11lm.yaml" in msg


def test_an_id_that_is_not_the_file_name_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, name="my-pir.yaml")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert f"{path}:1: id: 'test-pir' does not match the file name 'my-pir.yaml'" in str(info.value)


def _with_models(text: str, pid: str, models: str) -> str:
    return text.replace("id: test-pir\n", f"id: {pid}\n").replace(
        "family: motion\n", f"family: motion\nrecognise:\n  zigbee2mqtt_models: {models}\n"
    )


def test_two_profiles_claiming_one_zigbee2mqtt_model_are_refused(tmp_path: Path) -> None:
    write(tmp_path, _with_models(VALID, "pir-a", "[RTCGQ11LM]"), name="pir-a.yaml")
    write(tmp_path, _with_models(VALID, "pir-b", "[SNZB-03, RTCGQ11LM]"), name="pir-b.yaml")
    with pytest.raises(ProfileError) as info:
        load_library(tmp_path)
    msg = str(info.value)
    assert "pir-b.yaml:6: recognise.zigbee2mqtt_models:" in msg
    assert "model 'RTCGQ11LM' is already served by profile 'pir-a'" in msg


def test_a_zigbee2mqtt_model_listed_twice_in_one_profile(tmp_path: Path) -> None:
    msg = _error(tmp_path, _with_models(VALID, "test-pir", "[SNZB-03, SNZB-03]"))
    assert "recognise.zigbee2mqtt_models.1: model 'SNZB-03' is listed twice" in msg


def test_profiles_are_found_by_their_zigbee2mqtt_model(tmp_path: Path) -> None:
    write(tmp_path, _with_models(VALID, "test-pir", "[SNZB-03, RTCGQ11LM]"))
    lib = load_library(tmp_path)
    found = lib.for_zigbee2mqtt_model("RTCGQ11LM")
    assert found is not None and found.id == "test-pir"
    assert lib.for_zigbee2mqtt_model("rtcgq11lm") is None  # exact, as Zigbee2MQTT spells it


def test_load_library_from_a_directory(tmp_path: Path) -> None:
    write(tmp_path)
    lib = load_library(tmp_path)
    assert [p.id for p in lib] == ["test-pir"]
    assert lib is not load_library()


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not a directory"):
        load_library(tmp_path / "nope")
    with pytest.raises(ProfileError, match=r"no profile files \(\*.yaml\)"):
        load_library(tmp_path)
