"""Decoding and encoding: errors that name what failed, timestamps, binary accel blocks."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from firmware_profiles import (
    DecodeError,
    DeviceProfile,
    EncodeError,
    ProfileNotFound,
    load_library,
    load_profile,
)
from protocol import ReadingKind
from tests.firmware_profiles.profile_text import VALID, write

LIB = load_library()
# Fictitious devices that test codec features no shipped profile uses (big-endian frames).
FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures"
FIXTURES = load_library(extra_dirs=[FIXTURE_DIR])


def test_topic_outside_the_pattern() -> None:
    prof = LIB.get("aqara-rtcgq11lm")
    with pytest.raises(DecodeError, match=r"aqara-rtcgq11lm: topic 'zigbee2mqtt/bridge/state'"):
        prof.decode("zigbee2mqtt/bridge/state", b"{}", received_at=0.0)
    assert prof.device_id_from_topic("zigbee2mqtt/bridge/state") is None
    assert prof.device_id_from_topic("zigbee2mqtt/hall") == "hall"
    assert prof.topic_for("hall") == "zigbee2mqtt/hall"


def test_not_json_names_profile_topic_and_payload() -> None:
    prof = LIB.get("philips-sml001")
    with pytest.raises(
        DecodeError, match=r"philips-sml001: topic 'zigbee2mqtt/h': payload: not JSON"
    ):
        prof.decode("zigbee2mqtt/h", b"occupancy=1", received_at=0.0)
    with pytest.raises(DecodeError, match="not a JSON object"):
        prof.decode("zigbee2mqtt/h", b"[1, 2]", received_at=0.0)


def test_wrong_value_type_names_the_field() -> None:
    prof = LIB.get("aqara-rtcgq11lm")
    with pytest.raises(DecodeError, match=r"field 'battery' \(battery\): expected a number"):
        prof.decode("zigbee2mqtt/h", b'{"occupancy": true, "battery": "full"}', received_at=0.0)


def _radar(tmp_path: Path) -> DeviceProfile:
    text = VALID.replace(
        "examples:",
        "  - kind: target_state\n    path: motion\n    lookup: {0: none, 1: static, 2: moving}\n"
        "examples:",
    )
    return load_profile(write(tmp_path, text))


def test_lookup_miss_names_the_field_and_table(tmp_path: Path) -> None:
    payload = b'{"ts": 1732320000000, "pir": true, "motion": 7}'
    with pytest.raises(DecodeError, match=r"field 'motion' \(target_state\): 7 is not one of"):
        _radar(tmp_path).decode("test/r1/pir", payload, received_at=0.0)


def test_missing_required_timestamp() -> None:
    prof = LIB.get("vitawear-vw-j25")
    with pytest.raises(DecodeError, match=r"timestamp 'ts': missing"):
        prof.decode("carewatch/vitawear/b/telemetry", b'{"hr": 60}', received_at=0.0)


def test_last_seen_sets_event_time_else_arrival_time() -> None:
    prof = LIB.get("aqara-mccgq11lm")
    with_ts = prof.decode(
        "zigbee2mqtt/door", b'{"contact": true, "last_seen": 1732320000250}', received_at=5.0
    )
    without = prof.decode("zigbee2mqtt/door", b'{"contact": true}', received_at=5.0)
    assert with_ts[0].ts == pytest.approx(1732320000.25)
    assert without[0].ts == 5.0
    assert with_ts[0].kind is ReadingKind.DOOR_OPEN and with_ts[0].value is False


def test_z2m_nulls_and_unmapped_actions_yield_no_reading() -> None:
    prof = LIB.get("aqara-wxkg11lm")
    readings = prof.decode(
        "zigbee2mqtt/b",
        b'{"action": "release", "battery": null, "linkquality": 40}',
        received_at=1.0,
    )
    assert [(r.kind, r.value) for r in readings] == [(ReadingKind.LINK_QUALITY, 40.0)]


def test_binary_wrong_length_and_magic() -> None:
    prof = FIXTURES.get("domus-dp1")
    with pytest.raises(DecodeError, match=r"domus-dp1: .*payload: 8 bytes, expected 9 bytes"):
        prof.decode("carewatch/domus/p/pir", bytes(8), received_at=0.0)
    with pytest.raises(DecodeError, match=r"field 'magic': expected 0xd0, got 0x0"):
        prof.decode("carewatch/domus/p/pir", bytes(9), received_at=0.0)


def test_bad_base64_and_hex_name_the_field() -> None:
    band = LIB.get("vitawear-vw-j25")
    with pytest.raises(DecodeError, match=r"field 'acc' \(accel\): not valid base64"):
        band.decode("carewatch/vitawear/b/telemetry", b'{"ts": 1, "acc": "!!"}', received_at=0.0)
    with pytest.raises(DecodeError, match=r"field 'acc' \(accel\): 4 bytes is not a whole number"):
        band.decode(
            "carewatch/vitawear/b/telemetry", b'{"ts": 1, "acc": "AAAAAA=="}', received_at=0
        )
    pendant = LIB.get("guardio-gp100")
    with pytest.raises(DecodeError, match=r"envelope 'data': not valid hex"):
        pendant.decode("carewatch/guardio/p/frame", b'{"data": "zz"}', received_at=0.0)


def _vw_b50_frame(ts_ms: int, counts: np.ndarray) -> bytes:
    header = struct.pack("<BBQBBBB", 0xB5, 1, ts_ms, 0x02, 70, 96, 80)
    return header + counts.astype("<i2").tobytes()


def test_binary_accel_block_decodes_to_g_rows() -> None:
    prof = LIB.get("vitawear-vw-b50")
    rng = np.random.default_rng(7)
    counts = rng.integers(-32768, 32767, size=(500, 3), endpoint=True)
    readings = prof.decode(
        "carewatch/vitawear/b1/bin", _vw_b50_frame(1732320000500, counts), received_at=0.0
    )
    accel = next(r for r in readings if r.kind is ReadingKind.ACCEL)
    assert accel.samples is not None
    assert accel.samples.dtype == np.float64 and accel.samples.shape == (500, 3)
    assert np.array_equal(accel.samples, counts / 2048.0)
    assert accel.ts == pytest.approx(1732320000.5)
    assert accel.rate_hz == 50
    assert accel.times()[-1] == pytest.approx(1732320000.5 + 499 / 50)


def test_big_endian_and_header_only_frames() -> None:
    prof = LIB.get("vitawear-vw-b50")
    readings = prof.decode(
        "carewatch/vitawear/b1/bin", _vw_b50_frame(1, np.zeros((0, 3))), received_at=0.0
    )
    assert ReadingKind.ACCEL not in {r.kind for r in readings}
    pir = FIXTURES.get("domus-dp1")
    frame = struct.pack(">BIBHb", 0xD0, 100, 3, 3000, -50)
    values = {r.kind: r.value for r in pir.decode("carewatch/domus/p/pir", frame, received_at=0)}
    assert values[ReadingKind.MOTION] is True and values[ReadingKind.TAMPER] is True
    assert values[ReadingKind.VOLTAGE] == pytest.approx(3.0)
    assert values[ReadingKind.BATTERY] == pytest.approx(pir.battery_percent(3.0)) == 80.0


def test_accel_encode_round_trip_and_saturation() -> None:
    prof = LIB.get("vitawear-vw-j25")
    accel = np.array([[0.0, 0.0, 1.0], [0.5, -0.25, 9.5], [-20.0, 0.0, 0.0]])
    topic, payload = prof.encode("band-1", {"accel": accel, "worn": True}, ts=1732320000.04)
    body = json.loads(payload)
    assert topic == "carewatch/vitawear/band-1/telemetry"
    assert body["ts"] == 1732320000040 and body["worn"] is True
    assert len(base64.b64decode(body["acc"])) == 3 * 6
    (worn, block) = prof.decode(topic, payload, received_at=0.0)
    assert worn.value is True and block.samples is not None
    expected = accel.copy()
    expected[1, 2] = 32767 / 4096  # ±8 g full scale: the sensor saturates
    expected[2, 0] = -8.0
    assert np.array_equal(block.samples, expected)


def test_encode_errors_name_profile_and_kind() -> None:
    prof = LIB.get("aqara-wxkg11lm")
    with pytest.raises(EncodeError, match=r"aqara-wxkg11lm: cannot encode \['accel'\]"):
        prof.encode("b", {"accel": np.zeros((1, 3))}, ts=0.0)
    with pytest.raises(EncodeError, match="cancel and sos both write field 'action'"):
        LIB.get("tuya-ts0215a").encode("b", {"sos": True, "cancel": True}, ts=0.0)
    with pytest.raises(EncodeError, match=r"battery \(field 'battery'\): expected a finite number"):
        prof.encode("b", {"battery": "full"}, ts=0.0)
    with pytest.raises(EncodeError, match="device id 'a/b' cannot be one MQTT topic level"):
        prof.encode("a/b", {"sos": True}, ts=0.0)
    band = LIB.get("vitawear-vw-b50")
    with pytest.raises(EncodeError, match=r"field 'hr' \(u8\) cannot hold 300"):
        band.encode("b", {"heart_rate": 300}, ts=0.0)


def test_encode_writes_last_seen_so_simulated_time_survives() -> None:
    prof = LIB.get("aqara-rtcgq11lm")
    topic, payload = prof.encode("hall", {"motion": True, "illuminance": 12}, ts=2000000000.125)
    assert json.loads(payload) == {"last_seen": 2000000000125, "occupancy": True, "illuminance": 12}
    (motion, lux) = prof.decode(topic, payload, received_at=1.0)
    assert motion.ts == pytest.approx(2000000000.125) and lux.value == 12.0


def test_battery_curve_interpolates_and_clamps() -> None:
    prof = FIXTURES.get("guardio-gc1")
    assert prof.battery_percent(2.6) == 30.0
    assert prof.battery_percent(2.75) == pytest.approx(55.0)
    assert prof.battery_percent(1.0) == 0.0 and prof.battery_percent(5.0) == 100.0
    with pytest.raises(ValueError, match="tuya-zy-m100: mains powered"):
        LIB.get("tuya-zy-m100").battery_percent(3.0)


def test_match_chooses_by_payload_among_shared_subscriptions() -> None:
    door = b'{"contact": false, "battery": 90, "voltage": 3000, "linkquality": 10}'
    # Both contacts send these keys; the Aqara's device_temperature, the SONOFF's
    # battery_low tell them apart.
    assert {p.id for p in LIB.match("zigbee2mqtt/front", door)} == {
        "aqara-mccgq11lm",
        "sonoff-snzb-04",
    }
    aqara = b'{"contact": false, "battery": 90, "device_temperature": 21, "voltage": 3000}'
    assert LIB.match("zigbee2mqtt/front", aqara)[0].id == "aqara-mccgq11lm"
    sonoff = b'{"contact": false, "battery": 90, "battery_low": false, "voltage": 3000}'
    assert LIB.match("zigbee2mqtt/front", sonoff)[0].id == "sonoff-snzb-04"
    assert LIB.match("zigbee2mqtt/front", b'{"state": "ON"}') == []
    assert LIB.match("elsewhere/front", door) == []


def test_profile_not_found_is_a_key_error_with_suggestions() -> None:
    with pytest.raises(KeyError) as info:
        LIB.get("aqara-rtcgq11")
    assert isinstance(info.value, ProfileNotFound)
    assert "no firmware profile 'aqara-rtcgq11'; did you mean aqara-rtcgq11lm" in str(info.value)


def test_encode_takes_numpy_scalars_and_nan_means_not_measured(tmp_path: Path) -> None:
    band = LIB.get("vitawear-vw-b50")
    values = {
        "sos": np.bool_(True),
        "worn": np.True_,
        "heart_rate": np.float64("nan"),
        "spo2": np.int64(95),
        "battery": np.float32(66.0),
    }
    topic, frame = band.encode("b7", values, ts=np.float64(1732320000.02))
    got = {r.kind.value: r.value for r in band.decode(topic, frame, received_at=0.0)}
    assert got == {"sos": True, "worn": True, "cancel": False, "spo2": 95.0, "battery": 66.0}
    radar = _radar(tmp_path)
    topic, payload = radar.encode("r", {"target_state": np.str_("static")}, ts=1.0)
    (state,) = radar.decode(topic, payload, received_at=0.0)
    assert state.value == "static"
    with pytest.raises(EncodeError, match="'lying' is not one of"):  # this radar has no 'lying'
        radar.encode("r", {"target_state": "lying"}, ts=1.0)


@pytest.mark.parametrize("prof", LIB.all(), ids=lambda p: p.id)
def test_damaged_payloads_raise_only_decode_error(prof: DeviceProfile) -> None:
    rng = np.random.default_rng(11)
    example = prof.examples[0]
    base = example.payload_bytes()
    odd = [b"", b"null", b"[]", b'{"ts": "x"}', b'{"ts": 1e400}', b'{"data": 5}', b"\xff\xfe"]
    damaged = []
    for _ in range(150):
        buf = bytearray(base)
        where = rng.integers(0, len(buf), size=3)
        buf[where[0]] = int(rng.integers(0, 256))
        damaged.append(bytes(buf[: where[1] + 1]) if where[2] % 4 == 0 else bytes(buf))
    for payload in odd + damaged:
        try:
            readings = prof.decode(example.topic, payload, received_at=1.0)
        except DecodeError as exc:
            assert str(exc).startswith(f"{prof.id}: topic {example.topic!r}: ")
        else:
            assert all(r.device_id == prof.device_id_from_topic(example.topic) for r in readings)
