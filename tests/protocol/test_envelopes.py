"""The contract: envelopes validate strictly and round-trip through JSON."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from protocol import Alarm, AlarmKind, IngestAck, Reading, ReadingKind, Severity
from protocol.api import CredentialError, make_credential, parse_credential
from protocol.envelopes import from_epoch, new_id


def _alarm(**kw: object) -> Alarm:
    base: dict[str, object] = {
        "alarm_id": new_id(),
        "gateway_id": "gw-1",
        "home_id": "home-1",
        "kind": "fall",
        "severity": "critical",
        "raised_at": "2026-11-22T10:00:00+00:00",
        "detector": "wrist_fall",
    }
    base.update(kw)
    return Alarm.model_validate(base)


def test_alarm_round_trips_through_json() -> None:
    alarm = _alarm()
    again = Alarm.model_validate_json(alarm.model_dump_json())
    assert again == alarm
    assert again.kind is AlarmKind.FALL and again.severity is Severity.CRITICAL


def test_alarm_rejects_unknown_field_and_naive_time() -> None:
    with pytest.raises(ValidationError, match="surprise"):
        _alarm(surprise=1)
    with pytest.raises(ValidationError, match="raised_at"):
        _alarm(raised_at="2026-11-22T10:00:00")


def test_ack_delivered_union() -> None:
    ack = IngestAck(accepted=["a"], duplicates=["b"])
    assert ack.delivered() == {"a", "b"}


def test_credential_round_trip_and_errors() -> None:
    cred = make_credential("gw-7.home")
    assert parse_credential(cred)[0] == "gw-7.home"
    with pytest.raises(CredentialError):
        parse_credential("nonsense")


def test_block_reading_times_and_json() -> None:
    r = Reading("band-1", 100.0, ReadingKind.ACCEL, samples=np.zeros((4, 3)), rate_hz=2.0)
    assert r.times().tolist() == [100.0, 100.5, 101.0, 101.5]
    assert r.end_ts == 101.5
    assert r.to_json()["unit"] == "g"
    with pytest.raises(ValueError, match="band-1"):
        Reading("band-1", 0.0, ReadingKind.ACCEL, samples=np.zeros((2, 3)))


def test_severity_rank_orders_critical_first() -> None:
    assert sorted(Severity, key=lambda s: s.rank)[0] is Severity.CRITICAL
    assert from_epoch(0).year == 1970
