"""Every shipped profile's captured examples, both ways, plus what the library must cover."""

from __future__ import annotations

import pytest

from firmware_profiles import DeviceProfile, load_library
from firmware_profiles.examples import check_example
from firmware_profiles.schema import Example

LIB = load_library()
CASES = [
    pytest.param(prof, i, ex, id=f"{prof.id}-{i}")
    for prof in LIB
    for i, ex in enumerate(prof.examples)
]


@pytest.mark.parametrize(("prof", "index", "example"), CASES)
def test_example_decodes_and_round_trips(prof: DeviceProfile, index: int, example: Example) -> None:
    assert check_example(prof, example) == []


@pytest.mark.parametrize(("prof", "index", "example"), CASES)
def test_example_payload_is_matched_to_its_own_profile_first(
    prof: DeviceProfile, index: int, example: Example
) -> None:
    matches = LIB.match(example.topic, example.payload_bytes())
    if not example.matches:  # the payload alone does not tell this model from others
        assert prof not in matches or len(matches) > 1
        return
    assert matches and matches[0].id == prof.id


def test_a_wrong_expectation_is_reported() -> None:
    prof = LIB.get("aqara-mccgq11lm")
    good = prof.examples[0]
    flipped = [
        e.model_copy(update={"value": not e.value}) if e.kind == "door_open" else e
        for e in good.expect
    ]
    bad = good.model_copy(update={"expect": flipped})
    problems = check_example(prof, bad)
    assert any("door_open: value True, expected False" in p for p in problems)


def test_library_covers_the_families_and_named_models() -> None:
    families = {p.family for p in LIB}
    assert families == {"motion", "radar", "wearable", "fall_pendant", "door", "button"}
    assert len(LIB) >= 10
    assert len({p.vendor for p in LIB}) >= 5
    for required in ("aqara-rtcgq11lm", "aqara-mccgq11lm", "aqara-wxkg11lm"):
        assert required in LIB
    z2m = {p.family for p in LIB if p.subscriptions() == ["zigbee2mqtt/+"]}
    assert {"motion", "button", "door"} <= z2m
    assert (
        sum(1 for p in LIB if p.family == "motion" and p.subscriptions() == ["zigbee2mqtt/+"]) >= 2
    )
    encodings = {(p.family, p.encoding.split(" ")[0]) for p in LIB}
    assert {("wearable", "binary"), ("wearable", "json"), ("radar", "plain")} <= encodings


def test_every_zigbee2mqtt_profile_names_the_models_it_serves() -> None:
    for prof in LIB:
        if prof.subscriptions()[0].startswith("zigbee2mqtt/"):
            assert prof.zigbee2mqtt_models, f"{prof.id} names no zigbee2mqtt_models"
            assert LIB.for_zigbee2mqtt_model(prof.zigbee2mqtt_models[0]) is prof


def test_accelerometer_rates_fit_their_family() -> None:
    for prof in LIB:
        # A heart rate band is a wearable without an accelerometer; the fall detector
        # resamples to its own rate (Polar Verity Sense streams 52 Hz).
        if prof.family == "wearable" and "accel" in prof.kinds:
            assert prof.sample_rate_hz is not None and 25 <= prof.sample_rate_hz <= 52
        if prof.family == "fall_pendant":
            assert prof.sample_rate_hz is not None and prof.sample_rate_hz <= 200
        if "accel" in prof.kinds:
            assert prof.sample_rate_hz is not None


def test_builtin_library_is_loaded_once() -> None:
    assert load_library() is load_library()
