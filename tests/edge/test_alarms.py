"""Alarm manager: severity, de-duplication, correlation, clearing, suppression, stable ids."""

from __future__ import annotations

from pathlib import Path

from edge.alarms import AlarmManager
from edge.config import AlarmsConfig
from edge.detectors.base import Detection
from edge.detectors.sos import SosDetector
from edge.items import Activity, Tick
from protocol import (
    Alarm,
    AlarmAction,
    AlarmKind,
    AlarmUpdate,
    Reading,
    ReadingKind,
    Severity,
    load_home,
)

T0 = 1_732_320_000.0


def manager(home_file: Path, **cfg: object) -> AlarmManager:
    return AlarmManager(load_home(home_file), AlarmsConfig.model_validate(cfg))


def sos(ts: float, *, active: bool = True, **details: object) -> Detection:
    return Detection(
        AlarmKind.SOS,
        "sos",
        ts,
        active=active,
        device_id="sos_button",
        details=details,  # type: ignore[arg-type]
        evidence=({"device_id": "sos_button", "kind": "sos", "ts": ts, "value": True},),
    )


def fall(ts: float, score: float, kind: AlarmKind = AlarmKind.FALL) -> Detection:
    return Detection(kind, "fall", ts, device_id="sos_button", score=score)


def test_sos_is_critical_carries_evidence_and_repeats_update_it(home_file: Path) -> None:
    am = manager(home_file, repeat_update_s=60)
    [alarm] = am.handle(sos(T0))
    assert isinstance(alarm, Alarm)
    assert alarm.severity is Severity.CRITICAL and alarm.room == "bedroom"
    assert alarm.evidence[0].device_id == "sos_button" and alarm.evidence[0].value is True
    assert am.handle(sos(T0 + 10)) == []  # a repeat within the window: de-duplicated
    [update] = am.handle(sos(T0 + 70))
    assert isinstance(update, AlarmUpdate) and update.alarm_id == alarm.alarm_id
    assert update.action is AlarmAction.UPDATE and am.stats.deduplicated == 1


def test_clear_and_cancel_end_the_open_alarm(home_file: Path) -> None:
    am = manager(home_file)
    [alarm] = am.handle(sos(T0))
    [cancel] = am.handle(sos(T0 + 5, active=False, cancelled=True))
    assert isinstance(cancel, AlarmUpdate) and cancel.action is AlarmAction.CANCEL
    assert cancel.alarm_id == alarm.alarm_id and am.open_count == 0
    [again] = am.handle(sos(T0 + 30))
    assert isinstance(again, Alarm) and again.alarm_id != alarm.alarm_id
    [clear] = am.handle(sos(T0 + 40, active=False))
    assert isinstance(clear, AlarmUpdate) and clear.action is AlarmAction.CLEAR
    assert am.handle(sos(T0 + 50, active=False)) == []  # nothing open: nothing to clear


def test_alarm_id_is_stable_for_the_same_condition(home_file: Path) -> None:
    [a] = manager(home_file).handle(sos(T0))
    [b] = manager(home_file).handle(sos(T0))
    assert isinstance(a, Alarm) and isinstance(b, Alarm) and a.alarm_id == b.alarm_id


def test_unconfirmed_fall_followed_by_no_motion_becomes_critical(home_file: Path) -> None:
    am = manager(home_file, fall_stillness_s=120)
    [alarm] = am.handle(fall(T0, score=0.6))
    assert isinstance(alarm, Alarm) and alarm.severity is Severity.HIGH
    assert am.handle(Tick(T0 + 60)) == []
    [update] = am.handle(Tick(T0 + 121))
    assert isinstance(update, AlarmUpdate) and update.severity is Severity.CRITICAL
    assert "no motion" in update.reason
    assert am.handle(Tick(T0 + 300)) == []  # raised once


def test_fall_followed_by_motion_stays_as_raised(home_file: Path) -> None:
    am = manager(home_file, fall_stillness_s=120)
    am.handle(fall(T0, score=0.6))
    am.handle(Activity(T0 + 30, "kitchen"))
    assert am.handle(Tick(T0 + 200)) == []


def test_radar_confirms_a_wrist_fall(home_file: Path) -> None:
    am = manager(home_file)
    am.handle(fall(T0, score=0.6))
    out = am.handle(fall(T0 + 3, score=0.5, kind=AlarmKind.RADAR_FALL))
    assert isinstance(out[0], Alarm)
    raised = [u for u in out if isinstance(u, AlarmUpdate)]
    assert raised and all(u.severity is Severity.CRITICAL for u in raised)


def test_confident_fall_is_critical_at_once(home_file: Path) -> None:
    [alarm] = manager(home_file).handle(fall(T0, score=0.95))
    assert isinstance(alarm, Alarm) and alarm.severity is Severity.CRITICAL


def test_suppression_in_maintenance_and_away_but_never_sos(home_file: Path) -> None:
    am = manager(home_file, maintenance_devices=["sos_button"])
    assert am.handle(fall(T0, score=0.95)) == []
    assert len(am.handle(sos(T0))) == 1
    am.set_mode(away=True, maintenance=set())
    inactivity = Detection(AlarmKind.INACTIVITY, "inactivity", T0, room="bedroom")
    assert am.handle(inactivity) == [] and am.stats.suppressed == 2
    am.set_mode(away=False, maintenance=set())
    [alarm] = am.handle(inactivity)
    assert isinstance(alarm, Alarm) and alarm.severity is Severity.HIGH


def test_severity_override_and_bad_evidence_is_counted(home_file: Path) -> None:
    am = manager(home_file, severity={"battery_low": "info"})
    det = Detection(
        AlarmKind.BATTERY_LOW,
        "battery",
        T0,
        device_id="pir_bedroom",
        evidence=({"device_id": "", "kind": "battery", "ts": T0},),
    )
    [alarm] = am.handle(det)
    assert isinstance(alarm, Alarm) and alarm.severity is Severity.INFO
    assert alarm.evidence == [] and am.stats.bad_evidence == 1


def test_restore_resumes_open_alarms(home_file: Path) -> None:
    am = manager(home_file)
    [alarm] = am.handle(fall(T0, score=0.6))
    assert isinstance(alarm, Alarm)
    resumed = manager(home_file, fall_stillness_s=120)
    resumed.restore([(alarm, Severity.HIGH, alarm.alarm_id)])
    assert resumed.handle(fall(T0 + 5, score=0.6)) == []  # still the same open alarm
    [update] = resumed.handle(Tick(T0 + 130))
    assert isinstance(update, AlarmUpdate) and update.alarm_id == alarm.alarm_id


def test_a_cancel_after_a_crash_ends_the_sos_the_saved_state_predates(home_file: Path) -> None:
    """The press was committed and acknowledged after the last state save, then the gateway
    was killed: the detector restarts from a state without the press, the alarm manager
    from the outbox with the alarm open; the resident's cancel still ends it."""
    button = SosDetector(device_id="sos_button")
    before_press = button.state()
    am = manager(home_file)
    [alarm] = [
        e
        for d in button.feed(Reading("sos_button", T0, ReadingKind.SOS, value=True))
        for e in am.handle(d)
    ]
    assert isinstance(alarm, Alarm)
    restarted = SosDetector(device_id="sos_button")
    restarted.restore(before_press)
    resumed = manager(home_file)
    resumed.restore([(alarm, Severity.CRITICAL, alarm.alarm_id)])
    cancel = Reading("sos_button", T0 + 1, ReadingKind.CANCEL, value=True)
    [update] = [e for d in restarted.feed(cancel) for e in resumed.handle(d)]
    assert isinstance(update, AlarmUpdate) and update.action is AlarmAction.CANCEL
    assert update.alarm_id == alarm.alarm_id and resumed.open_count == 0
    assert [e for d in restarted.feed(cancel) for e in resumed.handle(d)] == []  # nothing open


def test_a_fall_the_wearer_got_up_from_is_an_info_hint_raised_and_closed(
    home_file: Path,
) -> None:
    am = manager(home_file)
    got_up = fall(T0, 0.9, AlarmKind.FALL_RECOVERED)
    [hint] = am.handle(got_up)
    assert isinstance(hint, Alarm) and hint.severity is Severity.INFO
    [closed] = am.handle(
        Detection(AlarmKind.FALL_RECOVERED, "fall", T0 + 8, active=False, device_id="sos_button")
    )
    assert isinstance(closed, AlarmUpdate) and closed.action is AlarmAction.CLEAR
    assert am.open_count == 0
    [again] = am.handle(fall(T0 + 3600, 0.9, AlarmKind.FALL_RECOVERED))
    assert isinstance(again, Alarm) and again.alarm_id != hint.alarm_id  # a hint of its own
