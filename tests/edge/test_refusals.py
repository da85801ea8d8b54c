"""A running gateway: refused alarms mended or kept and reported, implausible device times
replaced and marked (issue 11.2 and 11.3)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from testbed import MosquittoServer
from tests.edge.conftest import publish, wait_until
from tests.edge.receiver import Receiver
from tests.edge.test_gateway import (
    T0,
    make_gateway,
    sos_alarms,
    sos_cancel,
    sos_press,
    start,
    stop,
)

pytestmark = pytest.mark.services


async def test_an_alarm_refused_for_good_is_kept_counted_and_reported(
    mosquitto: MosquittoServer, rx: Receiver, home_file: Path, tmp_path: Path, credential: str
) -> None:
    refused: set[str] = set()

    def refuse(item: dict[str, Any]) -> str | None:
        if item.get("kind") == "sos" and (not refused or item["alarm_id"] in refused):
            refused.add(item["alarm_id"])
            return "home_id: 'home-t1' is not this gateway's household"
        return None

    rx.refuse = refuse
    gw = make_gateway(home_file, tmp_path / "data", mosquitto, rx, credential)
    task = await start(gw)
    await publish(mosquitto.port, [sos_press(T0)])
    await wait_until(lambda: gw.outbox.failures(0)[0] == 1, what="the alarm kept as failed")
    await publish(mosquitto.port, [sos_cancel(T0 + 1), sos_press(T0 + 2)])
    await wait_until(lambda: len(sos_alarms(rx)) == 1, what="the next press delivered")
    await wait_until(lambda: gw.outbox.failures(0)[0] == 2, what="its cancel kept beside it")
    assert gw.outbox.backlog()["updates"] == 0, "no update of a refused alarm waits forever"
    beat = gw.heartbeat()
    assert beat.outbox_failed == 2
    first = next(f for f in beat.failed if f.table == "alarms")
    assert first.kind == "sos" and first.severity == "critical" and "home_id" in first.error
    report = gw.outbox.report()
    assert report["counts"]["failed"] == 2 and report["counts"]["alarms_failed"] == 1
    await stop(gw, task)


async def test_a_refused_field_is_mended_and_the_alarm_and_its_updates_delivered(
    mosquitto: MosquittoServer, rx: Receiver, home_file: Path, tmp_path: Path, credential: str
) -> None:
    def old_cloud(item: dict[str, Any]) -> str | None:  # a cloud of protocol version 1
        if item.get("schema_version") != 1:
            return "schema_version: Input should be 1"
        return None

    rx.refuse = old_cloud
    gw = make_gateway(home_file, tmp_path / "data", mosquitto, rx, credential)
    task = await start(gw)
    await publish(mosquitto.port, [sos_press(T0), sos_cancel(T0 + 1)])
    await wait_until(lambda: len(rx.updates) == 1, what="the cancel delivered")
    [alarm] = sos_alarms(rx)
    assert alarm["schema_version"] == 1 and alarm["details"]["mended"] == "schema_version"
    assert next(iter(rx.updates.values()))["alarm_id"] == alarm["alarm_id"]
    assert gw.outbox.failures(0)[0] == 0
    await stop(gw, task)


async def test_an_sos_stamped_1970_gets_its_receive_time_and_is_marked(
    mosquitto: MosquittoServer, rx: Receiver, home_file: Path, tmp_path: Path, credential: str
) -> None:
    gw = make_gateway(home_file, tmp_path / "data", mosquitto, rx, credential)
    task = await start(gw)
    await publish(mosquitto.port, [sos_press(12.0)])  # a device after a battery change
    await wait_until(lambda: len(sos_alarms(rx)) == 1, what="the SOS delivered")
    [alarm] = sos_alarms(rx)
    raised = datetime.fromisoformat(str(alarm["raised_at"])).timestamp()
    assert raised >= T0 and alarm["clock_suspect"] is True
    assert any(e["clock_suspect"] for e in alarm["evidence"])  # type: ignore[union-attr]
    assert gw.status()["device_times_replaced"] >= 1
    await publish(mosquitto.port, [sos_cancel(13.0)])  # later messages: the same clock
    await wait_until(lambda: len(rx.updates) == 1, what="the cancel delivered")
    assert next(iter(rx.updates.values()))["alarm_id"] == alarm["alarm_id"]
    await stop(gw, task)
