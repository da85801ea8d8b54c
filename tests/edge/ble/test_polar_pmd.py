"""Polar PMD accelerometer frames and control point messages, built from the published
layout (tests/edge/ble/pmd_frames.py), decoded by edge.ble.polar_pmd."""

from __future__ import annotations

import numpy as np
import pytest

from edge.ble import polar_pmd as pmd
from edge.ble.errors import FrameError
from tests.edge.ble import pmd_frames as f

NS = 599_616_023_171_427_290  # an H10 timestamp after a reset: 2019-01-01 plus a little


def test_raw_int16_frame_is_mg() -> None:
    frame = pmd.decode_acc_frame(f.raw_acc([[0, 0, 1000], [-12, 981, -4]], sensor_ns=NS))
    np.testing.assert_allclose(frame.samples_g, [[0, 0, 1.0], [-0.012, 0.981, -0.004]])
    assert frame.sensor_ns == NS and not frame.compressed and frame.frame_type == 1
    assert frame.last_sample_s == pytest.approx(f.EPOCH_2000 + NS / 1e9)


@pytest.mark.parametrize(
    ("frame_type", "values"), [(0, [[-128, 127, 5]]), (2, [[-8_000_000, 3, 7_999_999]])]
)
def test_raw_int8_and_int24_frames(frame_type: int, values: list[list[int]]) -> None:
    frame = pmd.decode_acc_frame(f.raw_acc(values, frame_type=frame_type))
    np.testing.assert_allclose(frame.samples_g, np.array(values) / 1000.0)


def test_delta_frame_accumulates_blocks_of_different_widths() -> None:
    ref = [10, -20, 4096]
    small = [[1, -1, 0], [-2, 3, -4], [7, -8, 1]]  # fits 4-bit deltas
    wide = [[300, -511, 2], [-1, 0, 255]]  # needs 10 bits
    data = f.delta_acc(ref, [(4, small), (10, wide)], sensor_ns=NS)
    frame = pmd.decode_acc_frame(data, factor=0.244140625)
    expected = np.cumsum(np.array([ref, *small, *wide]), axis=0) * 0.244140625 / 1000.0
    np.testing.assert_allclose(frame.samples_g, expected)
    assert frame.compressed and frame.samples_g.shape == (6, 3)


def test_delta_frame_of_one_bit_and_odd_bit_counts() -> None:
    # 3 samples x 3 channels x 3 bits = 27 bits: the last byte is partly padding
    deltas = [[-4, 3, 0], [1, -1, 2], [-3, -2, 3]]
    data = f.delta_acc([0, 0, 0], [(3, deltas), (1, [[-1, 0, -1]])])
    frame = pmd.decode_acc_frame(data, factor=1000.0)  # factor 1000 with type 1: counts in g
    expected = np.cumsum(np.array([[0, 0, 0], *deltas, [-1, 0, -1]]), axis=0)
    np.testing.assert_allclose(frame.samples_g, expected)


def test_compressed_type0_factor_gives_g() -> None:
    data = f.delta_acc([100, -200, 4000], [(6, [[1, 2, -3]])], frame_type=0)
    frame = pmd.decode_acc_frame(data, factor=0.00025)
    np.testing.assert_allclose(frame.samples_g, [[0.025, -0.05, 1.0], [0.02525, -0.0495, 0.99925]])


def test_a_long_random_frame_matches_the_specification() -> None:
    rng = np.random.default_rng(7)
    ref = rng.integers(-2000, 2000, 3).tolist()
    blocks = []
    for width in (5, 9, 16, 2):
        lim = 1 << (width - 1)
        blocks.append((width, rng.integers(-lim, lim, (int(rng.integers(1, 60)), 3)).tolist()))
    data = f.delta_acc(ref, blocks)
    rows = [ref] + [r for _, deltas in blocks for r in deltas]
    frame = pmd.decode_acc_frame(data, factor=1.0)
    np.testing.assert_allclose(frame.samples_g, np.cumsum(rows, axis=0) / 1000.0)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (f.header(NS, 1, compressed=False)[:9], "10-byte header"),
        (f.header(NS, 1, compressed=False, measurement=0) + b"\x00" * 6, "not ACC"),
        (f.header(NS, 5, compressed=False) + b"\x00" * 6, "frame type 5"),
        (f.header(NS, 3, compressed=True) + b"\x00" * 6, "compressed frame type 3"),
        (f.raw_acc([[1, 2, 3]]) + b"\x00", "not a whole number of 6-byte"),
        (f.header(NS, 1, compressed=False), "0 content bytes"),
        (f.header(NS, 1, compressed=True) + b"\x00" * 4, "reference sample"),
        (f.delta_acc([0, 0, 0], [(4, [[1, 1, 1]] * 4)])[:-1], "need 6 bytes, 5 left"),
        (f.delta_acc([0, 0, 0], []) + b"\x04", "truncated header"),
        (f.delta_acc([0, 0, 0], []) + b"\x28\x01" + b"\x00" * 15, "width 40"),
    ],
    ids=[
        "short",
        "ecg",
        "raw-type",
        "delta-type",
        "raw-partial",
        "raw-empty",
        "no-ref",
        "delta-short",
        "block-header",
        "too-wide",
    ],
)
def test_bad_frames_are_named(data: bytes, words: str) -> None:
    with pytest.raises(FrameError, match="PMD ACC frame") as info:
        pmd.decode_acc_frame(data)
    assert words in str(info.value)


def test_features_bit_mask() -> None:
    # H10: ECG (0) and ACC (2); Verity Sense adds PPG (1), PPI (3), gyro (5), magnetometer (6)
    assert pmd.parse_features(bytes([0x0F, 0b0000_0101, 0])) == {0, 2}
    assert pmd.parse_features(bytes([0x0F, 0b0110_1110])) == {1, 2, 3, 5, 6}
    with pytest.raises(FrameError):
        pmd.parse_features(bytes([0xF0, 0x01]))


def test_settings_offered_and_factor() -> None:
    params = f.settings({0: [25, 50, 100, 200], 1: [16], 2: [2, 4, 8]})
    assert pmd.parse_settings(params) == {
        pmd.Setting.SAMPLE_RATE: [25, 50, 100, 200],
        pmd.Setting.RESOLUTION: [16],
        pmd.Setting.RANGE: [2, 4, 8],
    }
    got = pmd.parse_settings(f.settings({5: [0.000244140625], 4: [3]}))
    assert got == {pmd.Setting.FACTOR: [0.000244140625], pmd.Setting.CHANNELS: [3]}
    with pytest.raises(FrameError, match="SAMPLE_RATE: 2 values"):
        pmd.parse_settings(f.settings({0: [25, 50]})[:-1])
    with pytest.raises(FrameError, match="unknown setting type 9"):
        pmd.parse_settings(bytes([9, 1, 0]))


def test_commands_on_the_wire() -> None:
    assert pmd.settings_request(2) == bytes([0x01, 0x02])
    assert pmd.stop_request(2) == bytes([0x03, 0x02])
    chosen = {pmd.Setting.RANGE: 8, pmd.Setting.SAMPLE_RATE: 50, pmd.Setting.RESOLUTION: 16}
    assert pmd.start_request(2, chosen) == bytes(
        [0x02, 0x02, 0x00, 0x01, 0x32, 0x00, 0x01, 0x01, 0x10, 0x00, 0x02, 0x01, 0x08, 0x00]
    )


def test_choose_settings() -> None:
    offered = pmd.parse_settings(f.settings({0: [25, 50, 100, 200], 1: [16], 2: [2, 4, 8]}))
    assert pmd.choose_settings(offered, rate_hz=50, range_g=16) == {
        pmd.Setting.SAMPLE_RATE: 50,
        pmd.Setting.RESOLUTION: 16,
        pmd.Setting.RANGE: 8,
    }
    with pytest.raises(ValueError, match=r"52 Hz not offered \(offers 25, 50, 100, 200 Hz\)"):
        pmd.choose_settings(offered, rate_hz=52, range_g=8)


def test_control_responses() -> None:
    ok = pmd.parse_control_response(f.response(2, 2, params=f.settings({5: [0.5]}), more=1))
    assert (ok.ok, ok.op, ok.measurement, ok.more) == (True, 2, 2, True)
    assert pmd.parse_settings(ok.params) == {pmd.Setting.FACTOR: [0.5]}
    refused = pmd.parse_control_response(f.response(2, 2, status=13))
    assert not refused.ok and refused.status_text == "device in charger" and not refused.more
    with pytest.raises(FrameError, match="control point response"):
        pmd.parse_control_response(bytes([0x01, 0x02]))
