"""Alarm ids and refusals in the outbox: random ids chosen once, replays harmless, what the
cloud refuses mended and sent again or kept as failed with its updates (issue 11.2)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from edge.alarms import AlarmManager
from edge.config import AlarmsConfig
from edge.detectors.base import Detection
from edge.mending import mend, refused_field
from edge.outbox import Outbox
from protocol import Alarm, AlarmAction, AlarmKind, AlarmUpdate, Severity, load_home
from tests.edge.test_outbox import T0, alarm, update


def sos(ts: float, *, active: bool = True) -> Detection:
    return Detection(
        kind=AlarmKind.SOS,
        detector="sos",
        device_id="sos_button",
        ts=ts,
        active=active,
        score=1.0,
        message="pressed",
        evidence=({"device_id": "sos_button", "kind": "sos", "ts": ts, "value": True},),
    )


def test_cloud_ids_are_random_chosen_once_and_replays_find_them(
    home_file: Path, tmp_path: Path
) -> None:
    home = load_home(home_file)
    ob = Outbox(tmp_path)
    first = AlarmManager(home, AlarmsConfig(), ids=ob.cloud_id)
    [raised] = first.handle(sos(T0))
    assert isinstance(raised, Alarm)
    assert uuid.UUID(raised.alarm_id).version == 4
    replayed = AlarmManager(home, AlarmsConfig(), ids=ob.cloud_id)  # before the commit
    [again] = replayed.handle(sos(T0))
    assert isinstance(again, Alarm) and again.alarm_id == raised.alarm_id
    ob.write([raised, again])
    ob.close()
    ob = Outbox(tmp_path)  # a restart (kill -9 after the commit): the same id from disk
    after = AlarmManager(home, AlarmsConfig(), ids=ob.cloud_id)
    [third] = after.handle(sos(T0))
    assert isinstance(third, Alarm) and third.alarm_id == raised.alarm_id
    ob.write([third])
    assert [p.id for p in ob.pending_alarms(10)] == [raised.alarm_id]
    [open_alarm] = ob.open_alarms()
    resumed = AlarmManager(home, AlarmsConfig(), ids=ob.cloud_id)
    resumed.restore([(open_alarm.alarm, open_alarm.severity, open_alarm.key)])
    [cancel] = resumed.handle(sos(T0 + 5, active=False))
    assert isinstance(cancel, AlarmUpdate) and cancel.alarm_id == raised.alarm_id
    other = AlarmManager(home, AlarmsConfig(), ids=ob.cloud_id).handle(sos(T0 + 60))[0]
    assert other.alarm_id != raised.alarm_id  # another press, another id


def test_an_outbox_of_an_older_gateway_is_upgraded(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "outbox.sqlite3")
    db.executescript(
        "CREATE TABLE alarms (seq INTEGER PRIMARY KEY AUTOINCREMENT, alarm_id TEXT NOT NULL"
        " UNIQUE, kind TEXT NOT NULL, severity TEXT NOT NULL, rank INTEGER NOT NULL,"
        " device_id TEXT, body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
        " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at REAL NOT NULL,"
        " delivered_at REAL, is_open INTEGER NOT NULL DEFAULT 1, current_severity TEXT NOT NULL);"
    )
    old = alarm(1, Severity.CRITICAL)
    db.execute(
        "INSERT INTO alarms (alarm_id, kind, severity, rank, body, created_at, current_severity)"
        " VALUES ('a1', 'sos', 'critical', 0, ?, ?, 'critical')",
        (old.model_dump_json(), T0),
    )
    db.commit()
    db.close()
    ob = Outbox(tmp_path)
    assert ob.cloud_id("a1") == "a1"  # its old id, kept: the cloud may have it already
    assert [o.key for o in ob.open_alarms()] == ["a1"]


def test_a_refused_time_is_mended_and_sent_again(tmp_path: Path) -> None:
    ob = Outbox(tmp_path)
    ob.write([alarm(1, Severity.CRITICAL)])
    mended = ob.refused("alarms", {"a1": "raised_at: outside 2000-2100"})
    assert mended == {"a1": "raised_at"}
    [pending] = ob.pending_alarms(10)
    body = json.loads(pending.body)
    assert body["clock_suspect"] is True and body["details"]["mended"] == "raised_at"
    assert body["raised_at"] != alarm(1, Severity.CRITICAL).raised_at.isoformat()
    again = ob.refused("alarms", {"a1": "raised_at: outside 2000-2100"})  # once per field
    assert again == {} and ob.pending_alarms(10) == []
    assert ob.report()["counts"]["failed"] == 1


def test_an_id_refused_as_taken_gets_a_new_one_and_its_updates_follow(tmp_path: Path) -> None:
    ob = Outbox(tmp_path)
    ob.write([alarm(1, Severity.CRITICAL), update(1, "a1", AlarmAction.CANCEL)])
    mended = ob.refused("alarms", {"a1": "alarm_id: already used by another gateway"})
    assert mended == {"a1": "alarm_id"}
    [pending] = ob.pending_alarms(10)
    assert pending.id != "a1" and json.loads(pending.body)["alarm_id"] == pending.id
    assert ob.cloud_id("a1") == pending.id  # the local key now names the new id
    ob.mark_delivered("alarms", [pending.id])
    [upd] = ob.pending_updates(10)
    assert json.loads(upd.body)["alarm_id"] == pending.id


def test_what_cannot_be_mended_is_kept_and_its_updates_do_not_wait_forever(
    tmp_path: Path,
) -> None:
    ob = Outbox(tmp_path)
    ob.write([alarm(1, Severity.CRITICAL), update(1, "a1", AlarmAction.UPDATE)])
    assert ob.refused("alarms", {"a1": "home_id: 'home-x' is not this gateway's household"}) == {}
    ob.write([update(2, "a1", AlarmAction.CANCEL)])  # a later update of the refused alarm
    assert ob.pending_alarms(10) == [] and ob.backlog()["updates"] == 0
    total, latest = ob.failures()
    assert total == 3
    assert {(f.table, f.id) for f in latest} == {
        ("alarms", "a1"),
        ("updates", "u1"),
        ("updates", "u2"),
    }
    assert next(f for f in latest if f.table == "alarms").kind == "sos"
    assert ob.retry_failed() == 3 and ob.backlog() == {"alarms": 1, "updates": 2, "telemetry": 0}


def test_the_field_named_in_any_answer_shape() -> None:
    assert refused_field("evidence[0].ts: outside 2000-2100") == "evidence"
    assert refused_field("alarms[0].evidence[0].clock_suspect: Extra inputs") == "clock_suspect"
    whole = 'POST http://c/api: HTTP 422: {"detail":[{"field":"alarms[0].room","loc":[]}]}'
    assert refused_field(whole) == "room"
    assert refused_field(whole[:70]) == "room"  # the gateway keeps 300 characters of it
    assert refused_field("POST http://c/api: HTTP 422: not json") is None
    body = alarm(1, Severity.CRITICAL).model_dump_json()
    for error in ("home_id: not yours", "kind: unknown", "gateway_id: does not match"):
        assert mend("alarms", body, error, stored_at=T0, done=set()) is None
    v1 = mend("alarms", body, "schema_version: Input should be 1", stored_at=T0, done=set())
    assert v1 is not None and json.loads(v1.body)["schema_version"] == 1
    assert "clock_suspect" not in json.loads(v1.body)
