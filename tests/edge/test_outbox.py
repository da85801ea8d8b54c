"""Outbox: durable, critical first, updates after their alarm, quarantine kept and capped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edge.cli import main
from edge.items import Quarantined
from edge.outbox import Outbox
from protocol import Alarm, AlarmAction, AlarmKind, AlarmUpdate, Severity
from protocol.envelopes import from_epoch

T0 = 1_732_320_000.0


def alarm(n: int, severity: Severity, kind: AlarmKind = AlarmKind.SOS) -> Alarm:
    return Alarm(
        alarm_id=f"a{n}",
        gateway_id="gw-t1",
        home_id="home-t1",
        kind=kind,
        severity=severity,
        raised_at=from_epoch(T0 + n),
        detector="test",
    )


def update(n: int, alarm_id: str, action: AlarmAction) -> AlarmUpdate:
    return AlarmUpdate(
        update_id=f"u{n}",
        alarm_id=alarm_id,
        gateway_id="gw-t1",
        action=action,
        ts=from_epoch(T0 + 100 + n),
    )


def test_critical_first_then_oldest_and_ids_stored_once(tmp_path: Path) -> None:
    ob = Outbox(tmp_path)
    ob.write([alarm(1, Severity.WARNING, AlarmKind.BATTERY_LOW), alarm(2, Severity.HIGH)])
    ob.write([alarm(3, Severity.CRITICAL), alarm(2, Severity.HIGH)])
    assert [p.id for p in ob.pending_alarms(10)] == ["a3", "a2", "a1"]
    ob.close()


def test_updates_wait_for_their_alarm_and_close_it(tmp_path: Path) -> None:
    ob = Outbox(tmp_path)
    ob.write([alarm(1, Severity.CRITICAL), update(1, "a1", AlarmAction.CLEAR)])
    assert ob.pending_updates(10) == []
    assert [o.alarm.alarm_id for o in ob.open_alarms()] == []
    ob.mark_delivered("alarms", ["a1"])
    assert [p.id for p in ob.pending_updates(10)] == ["u1"]
    ob.close()


def test_survives_a_killed_writer(tmp_path: Path) -> None:
    """A process that commits and is then killed (no close) leaves the alarm readable."""
    code = (
        "import os, sys\n"
        "from edge.outbox import Outbox\n"
        "from tests.edge.test_outbox import alarm\n"
        "from protocol import Severity\n"
        f"Outbox({str(tmp_path)!r}).write([alarm(7, Severity.CRITICAL)])\n"
        "os.kill(os.getpid(), 9)\n"
    )
    repo = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, "-c", code], cwd=repo, timeout=60)
    assert res.returncode == -9
    ob = Outbox(tmp_path)
    assert [p.id for p in ob.pending_alarms(10)] == ["a7"]
    ob.close()


def test_failed_is_kept_with_reason_and_can_be_retried(tmp_path: Path) -> None:
    ob = Outbox(tmp_path)
    ob.write([alarm(1, Severity.CRITICAL)])
    ob.mark_failed("alarms", {"a1": "HTTP 422: kind refused"})
    assert ob.pending_alarms(10) == []
    report = ob.report()
    assert report["alarms"][0]["state"] == "failed"
    assert "422" in report["alarms"][0]["last_error"]
    assert ob.retry_failed() == 1 and [p.id for p in ob.pending_alarms(10)] == ["a1"]
    ob.close()


def test_quarantine_is_truncated_capped_and_counted(tmp_path: Path) -> None:
    ob = Outbox(tmp_path, quarantine_keep=20, quarantine_payload_bytes=16)
    for i in range(50):
        ob.write([Quarantined(T0 + i, "zigbee2mqtt/x", "x", f"bad {i}", b"y" * 100)])
    report = ob.report()
    assert report["counts"]["quarantine_total"] == 50
    assert 20 <= len(report["quarantine"]) <= 22
    assert report["quarantine"][0]["reason"] == "bad 49"
    assert len(report["quarantine"][0]["payload"]) == 16
    assert report["quarantine"][0]["payload_len"] == 100
    ob.close()


def test_outbox_command_reads_a_stopped_gateways_data(tmp_path: Path, capsys: object) -> None:
    ob = Outbox(tmp_path)
    ob.write([alarm(1, Severity.CRITICAL), Quarantined(T0, "t/x", None, "unknown", b"{}")])
    ob.mark_delivered("alarms", ["a1"])
    ob.close()
    assert main(["outbox", "--data-dir", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert out["alarms"][0]["kind"] == "sos" and out["alarms"][0]["state"] == "delivered"
    assert out["quarantine"][0]["reason"] == "unknown"
    assert main(["outbox", "--data-dir", str(tmp_path / "nothing")]) == 2
