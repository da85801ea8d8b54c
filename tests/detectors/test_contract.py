"""The contract every registered detector passes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge.detectors import REGISTRY, DetectorInputError
from protocol import Reading, ReadingKind
from tests.detectors.scenarios import CASES, SCENARIOS, T0, run

TYPES = sorted(REGISTRY)
NAMES = sorted(CASES)  # every type, and further configurations of some
# Detectors that accept kinds only as signs of life check the values of these kinds only.
_VALUE_CHECKED = {
    "device_health": frozenset({ReadingKind.BATTERY, ReadingKind.TAMPER, ReadingKind.WORN}),
}


def test_every_registered_type_has_a_scenario() -> None:
    assert sorted(SCENARIOS) == TYPES


@pytest.mark.parametrize("name", NAMES)
def test_scenario_is_not_trivial(name: str) -> None:
    make, scenario = CASES[name]
    out = run(make, scenario(1))
    assert any(active for _, _, active, _ in out), f"{name} raised nothing on its scenario"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mode", ["random", "single"])
def test_same_output_however_chunked(name: str, mode: str) -> None:
    make, scenario = CASES[name]
    items = scenario(1)
    assert run(make, items, mode=mode, seed=7) == run(make, items, mode="whole")


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_for_a_seed(name: str) -> None:
    make, scenario = CASES[name]
    first = run(make, scenario(5), mode="random", seed=11)
    assert first == run(make, scenario(5), mode="random", seed=11)


@pytest.mark.parametrize("name", NAMES)
def test_state_saved_and_restored_as_json(name: str) -> None:
    make, scenario = CASES[name]
    items = scenario(2)
    whole = run(make, items)
    for cut in (len(items) // 3, len(items) // 2, 2 * len(items) // 3):
        assert run(make, items, save_at=cut) == whole, f"resumed at item {cut}"


@pytest.mark.parametrize("name", NAMES)
def test_nan_samples_are_missing_samples(name: str) -> None:
    make, scenario = CASES[name]
    items = scenario(3)
    assert run(make, items, mode="random", seed=4, nans=True) == run(make, items)


def _malformed(kind: ReadingKind) -> list[tuple[str, Reading]]:
    empty_shape = (0, 3) if kind == ReadingKind.ACCEL else (0,)
    bad_shape = (5, 4) if kind == ReadingKind.ACCEL else (5, 2)
    cases = [
        ("empty block", Reading("dev-x", T0, kind, samples=np.zeros(empty_shape), rate_hz=50.0)),
        ("wrong shape", Reading("dev-x", T0, kind, samples=np.zeros(bad_shape), rate_hz=50.0)),
        (
            "times mismatch",
            Reading(
                "dev-x",
                T0,
                kind,
                samples=np.zeros((5, 3) if kind == ReadingKind.ACCEL else (5,)),
                sample_ts=T0 + np.arange(4.0),
            ),
        ),
    ]
    if kind not in (ReadingKind.ACCEL, ReadingKind.TARGET_STATE):
        cases.append(("text value", Reading("dev-x", T0, kind, value="high")))
    if kind == ReadingKind.TARGET_STATE:
        cases.append(("unknown state", Reading("dev-x", T0, kind, value="dancing")))
    return cases


@pytest.mark.parametrize("name", NAMES)
def test_malformed_input_is_rejected_with_a_clear_error(name: str) -> None:
    make, _ = CASES[name]
    det = make()
    kinds = sorted(det.kinds)
    for kind in kinds:
        for what, reading in _malformed(kind):
            if what in ("text value", "unknown state") and kind not in _VALUE_CHECKED.get(
                name, det.kinds
            ):
                continue  # the value of this kind is not used by this detector
            with pytest.raises(DetectorInputError) as err:
                make().feed(reading)
            msg = str(err.value)
            assert "dev-x" in msg and det.type in msg, f"{kind} {what}: {msg}"


@pytest.mark.parametrize("name", NAMES)
def test_state_is_strict_json_from_the_start(name: str) -> None:
    make, _ = CASES[name]
    det = make()
    text = json.dumps(det.state(), allow_nan=False)
    again = make()
    again.restore(json.loads(text))
    assert again.state() == det.state()
