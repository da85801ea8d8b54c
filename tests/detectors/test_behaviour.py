"""What each detector must do, beyond the contract: the cases the issue names."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from edge.detectors import REGISTRY, DetectorsConfig, build_bank
from edge.detectors.fall import FallDetector
from edge.detectors.sos import SosDetector
from edge.detectors.vitals import VitalsDetector
from protocol import Reading, ReadingKind
from tests.detectors.scenarios import CASES, SCENARIOS, T0, Data, Tick, run


def test_fall_is_raised_and_cancelled_by_the_resident() -> None:
    make, scenario = SCENARIOS["fall"]
    out = run(make, scenario(1))
    assert [(k, a) for k, _, a, _ in out] == [("fall", True), ("fall", False)]
    assert 16.3 < out[0][1] - T0 < 16.6  # the impact, not the decision time


def test_cancel_without_an_open_fall_does_nothing() -> None:
    det = FallDetector(device_id="band-1")
    assert det.feed(Reading("band-1", T0, ReadingKind.CANCEL, value=True)) == []


def test_sos_is_immediate_and_a_cancel_ends_it() -> None:
    det = SosDetector(device_id="btn")
    on = det.feed(Reading("btn", T0, ReadingKind.SOS, value=True))
    assert [(d.kind, d.active, d.ts) for d in on] == [("sos", True, T0)]
    off = det.feed(Reading("btn", T0 + 5, ReadingKind.CANCEL, value=True))
    assert [(d.kind, d.active) for d in off] == [("sos", False)]


def test_vitals_ignore_off_wrist_and_stale_readings() -> None:
    make, scenario = SCENARIOS["vitals"]
    out = run(make, scenario(1))
    highs = [ts - T0 for kind, ts, active, _ in out if kind == "heart_rate_high" and active]
    assert len(highs) == 1 and 20 * 60 < highs[0] < 30 * 60  # not the off-wrist 160 bpm
    det = VitalsDetector(device_id="b")
    det.tick(T0 + 3600)
    old = Reading("b", T0, ReadingKind.HEART_RATE, samples=np.full(60, 180.0), rate_hz=0.2)
    assert det.feed(old) == []


def test_vitals_need_a_sustained_excursion() -> None:
    det = VitalsDetector(device_id="b")
    t = T0 + np.arange(0, 60, 5.0)  # one minute high: shorter than hr_hold_s
    assert (
        det.feed(Reading("b", T0, ReadingKind.HEART_RATE, samples=np.full(12, 150.0), sample_ts=t))
        == []
    )


def test_inactivity_fires_when_the_resident_stops_moving_and_not_while_out() -> None:
    make, scenario = SCENARIOS["inactivity"]
    out = run(make, scenario(1))
    starts = [ts for kind, ts, active, _ in out if active]
    day0 = T0 - (T0 % 86400) + 86400 - 3600
    days = sorted({int((ts - day0) // 86400) for ts in starts})
    assert 9 in days  # stopped moving at 11:00 on the last day
    assert 4 not in days  # out from 13:00 to 17:00


def test_night_wandering_by_door_and_by_restless_walking() -> None:
    make, scenario = SCENARIOS["night_wandering"]
    out = run(make, scenario(1))
    assert [a for _, _, a, _ in out] == [True, False, True, False]


def test_config_is_documented_and_strict() -> None:
    def walk(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            assert field.title and field.description, f"{model.__name__}.{name}"
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann)

    walk(DetectorsConfig)
    with pytest.raises(ValidationError, match="sensitivity"):
        DetectorsConfig.model_validate({"fall_wrist": {"sensitivity": 3}})
    types = {
        f.annotation.model_fields["type"].default for f in DetectorsConfig.model_fields.values()
    }  # type: ignore[union-attr]
    assert types == set(REGISTRY)


def test_build_bank_by_family() -> None:
    from firmware_profiles import load_library
    from protocol import load_home
    from tests.conftest import REPO

    lib = load_library()
    for path in sorted((REPO / "device_sim" / "homes").glob("*.yaml")):
        home = load_home(path)
        bank = build_bank(home, lib)
        got = {(d.type, d.device_id) for d in bank.detectors}
        for dev in home.devices:
            prof = lib.get(dev.profile)
            assert ("device_health", dev.device_id) in got
            if prof.family in ("wearable", "fall_pendant") and ReadingKind.ACCEL in prof.kinds:
                assert ("fall", dev.device_id) in got
            if ReadingKind.SOS in prof.kinds:
                assert ("sos", dev.device_id) in got
        assert ("inactivity", None) in got
    off = DetectorsConfig.model_validate({"inactivity": {"enabled": False}})
    home = load_home(REPO / "device_sim" / "homes" / "flat_li.yaml")
    assert "inactivity" not in {d.type for d in build_bank(home, lib, off).detectors}


def test_a_pendant_wearer_who_lies_back_and_sits_up_leaves_a_hint_not_an_alarm() -> None:
    make, scenario = CASES["fall_waist_recovery"]
    out = run(make, scenario(1))
    assert [(k, a) for k, _, a, _ in out] == [
        ("fall_recovered", True),
        ("fall_recovered", False),
        ("fall", True),
    ]
    assert 12.7 < out[0][1] - T0 < 12.9  # the impact
    assert 16.5 < out[1][1] - T0 < 22  # decided once back up and the window is over
    assert 40.3 < out[2][1] - T0 < 40.5


def test_a_fall_that_ends_sitting_is_not_taken_for_a_recovery() -> None:
    from edge.detectors.fall import RecoveryRule
    from edge.detectors.fall.features import tilt_from

    rule = RecoveryRule(lying_deg=60.0, upright_deg=30.0, hold_s=0.5)
    up = np.array([0.0, -1.0, 0.0])
    leaning = np.tile([0.0, -0.7, 0.7], (400, 1))  # 45 deg: slumped, never lying
    back_up = np.vstack([np.tile([0.0, 0.0, 1.0], (100, 1)), np.tile(up, (100, 1))])
    assert rule.recovered_at(tilt_from(leaning, up), 50.0) is None
    assert rule.recovered_at(tilt_from(back_up, up), 50.0) == 100
    assert rule.recovered_at(tilt_from(back_up[:120], up), 50.0) is None  # not back long enough


def test_a_cancel_during_the_recovery_window_stops_the_fall_alarm() -> None:
    make, scenario = CASES["fall_waist_recovery"]
    items = scenario(1)
    fall_at = next(
        i for i, it in enumerate(items) if isinstance(it, Tick) and it.now > T0 + 42
    )  # the fall at 40.35 s is held until 48 s
    cancel = Data("pendant-1", ReadingKind.CANCEL, np.array([T0 + 42.5]), np.array([1.0]))
    out = run(make, [*items[:fall_at], cancel, *items[fall_at:]])
    assert [(k, a) for k, _, a, _ in out] == [("fall_recovered", True), ("fall_recovered", False)]


def test_a_partial_waist_config_keeps_the_waist_defaults() -> None:
    from edge.detectors.fall import waist_defaults

    cfg = DetectorsConfig.model_validate({"fall_waist": {"threshold": 0.5}}).fall_waist
    assert cfg.threshold == 0.5
    assert cfg.model_copy(update={"threshold": None}) == waist_defaults()
    with pytest.raises(ValidationError, match=r"fall_waist\.bogus"):
        DetectorsConfig.model_validate({"fall_waist": {"bogus": 1}})
