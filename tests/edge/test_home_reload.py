"""Hot reload of the home manifest in a running gateway on real Mosquitto: a device added
decodes, a device removed is quarantined, a bad manifest is refused and the last good one
stays; learned detector state survives the rebuild."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.app import Gateway
from edge.cli_pair import add_device
from edge.config import GatewayConfig
from edge.configfile import load_config
from testbed import MosquittoServer
from tests.edge.conftest import (
    HOME_YAML,
    gateway_config,
    gateway_process,
    publish,
    wait_until,
    z2m,
)

pytestmark = pytest.mark.services

BAND = "  - {device_id: li-band, profile: ble-heart-rate, room: bedroom, worn_by: resident}\n"
BAND_TOPIC = "carewatch/ble/li-band/telemetry"
BAND_FILTER = "carewatch/ble/+/telemetry"


async def rewrite(path: Path, text: str) -> None:
    """Write a manifest as an editor or `pair` would, while the gateway runs."""
    await asyncio.to_thread(path.write_text, text)


def band_reading(hr: int) -> tuple[str, bytes]:
    body = {"profile": "ble-heart-rate", "ts": int(time.time() * 1000), "hr": hr}
    return BAND_TOPIC, json.dumps(body).encode()


def press() -> tuple[str, bytes]:
    return "zigbee2mqtt/sos_button", z2m(action="single", last_seen=int(time.time() * 1000))


def motion(device: str) -> tuple[str, bytes]:
    return f"zigbee2mqtt/{device}", z2m(occupancy=True, last_seen=int(time.time() * 1000))


def detector_state(gw: Gateway, type_: str, device_id: str) -> dict[str, object]:
    [entry] = [
        s for s in gw.stages.bank.state() if s["type"] == type_ and s["device_id"] == device_id
    ]
    state: dict[str, object] = entry["state"]
    return state


def quarantined(gw: Gateway, topic: str) -> list[str]:
    return [q["reason"] for q in gw.outbox.report()["quarantine"] if q["topic"] == topic]


def config_for(home_file: Path, data: Path, mosquitto: MosquittoServer) -> GatewayConfig:
    cfg = gateway_config(home_file, data, mosquitto.url, None, None)
    cfg.broker.client_id = f"gw-reload-{uuid.uuid4().hex[:8]}"
    return cfg


async def started(gw: Gateway) -> asyncio.Task[None]:
    task = asyncio.create_task(gw.run())
    await wait_until(lambda: gw.ingest.connected, what="broker connection")
    return task


@pytest.fixture
async def running(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path
) -> AsyncIterator[Gateway]:
    gw = Gateway(config_for(home_file, tmp_path / "data", mosquitto))
    task = await started(gw)
    yield gw
    gw.stop()
    await asyncio.wait_for(task, 20)


async def test_a_device_added_to_the_manifest_is_subscribed_and_decodes(
    running: Gateway, mosquitto: MosquittoServer, home_file: Path
) -> None:
    gw = running
    await publish(mosquitto.port, [press()])
    await wait_until(lambda: gw.outbox.backlog()["alarms"] == 1, what="the SOS before the reload")
    assert detector_state(gw, "sos", "sos_button")["open"] is True
    bank_before = gw.stages.bank
    received = gw.ingest.received
    await publish(mosquitto.port, [band_reading(70), press()])  # the band is not paired yet
    await wait_until(lambda: gw.ingest.received == received + 1, what="the second press")
    await rewrite(home_file, HOME_YAML + BAND)
    await wait_until(lambda: gw.reloads == 1, what="the new manifest applied")
    assert BAND_FILTER in gw.ingest.filters
    await publish(mosquitto.port, [band_reading(71)])
    await wait_until(lambda: gw.board.devices["li-band"].messages == 1, what="the band decoded")
    assert float(gw.board.devices["li-band"].values["heart_rate"]) == 71
    assert gw.stages.bank is not bank_before, "the detectors were rebuilt"
    assert detector_state(gw, "sos", "sos_button")["open"] is True, "learned state kept"
    assert any(s["device_id"] == "li-band" for s in gw.stages.bank.state())


async def test_a_device_removed_from_the_manifest_is_quarantined(
    running: Gateway, mosquitto: MosquittoServer, home_file: Path
) -> None:
    gw = running
    await rewrite(home_file, HOME_YAML.replace("  - {device_id: pir_kitchen", "  # - {"))
    await wait_until(lambda: gw.reloads == 1, what="the new manifest applied")
    assert "pir_kitchen" not in gw.board.devices
    assert all(s["device_id"] != "pir_kitchen" for s in gw.stages.bank.state())
    await publish(mosquitto.port, [motion("pir_kitchen"), motion("pir_bedroom")])
    await wait_until(lambda: gw.board.devices["pir_bedroom"].messages == 1, what="the bedroom")
    await wait_until(lambda: bool(quarantined(gw, "zigbee2mqtt/pir_kitchen")), what="quarantine")
    assert quarantined(gw, "zigbee2mqtt/pir_kitchen") == ["unknown device 'pir_kitchen'"]


async def test_a_removed_filter_is_unsubscribed(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path
) -> None:
    await rewrite(home_file, HOME_YAML + BAND)
    gw = Gateway(config_for(home_file, tmp_path / "data", mosquitto))
    task = await started(gw)
    await rewrite(home_file, HOME_YAML)
    await wait_until(lambda: gw.reloads == 1, what="the band unpaired")
    assert BAND_FILTER not in gw.ingest.filters
    received = gw.ingest.received
    await publish(mosquitto.port, [band_reading(70), press()])
    await wait_until(lambda: gw.outbox.backlog()["alarms"] == 1, what="the press after the band")
    assert gw.ingest.received == received + 1, "the band's message no longer reaches the gateway"
    gw.stop()
    await asyncio.wait_for(task, 20)


async def test_a_bad_manifest_is_refused_naming_file_line_field_and_the_old_one_stays(
    running: Gateway,
    mosquitto: MosquittoServer,
    home_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gw = running
    caplog.set_level(logging.ERROR, logger="edge.app")
    bad = HOME_YAML.replace("room: kitchen", "room: kitchen, colour: red") + BAND
    await rewrite(home_file, bad)
    await wait_until(lambda: gw.reload_refused == 1, what="the bad manifest refused")
    [record] = [r for r in caplog.records if "home manifest refused" in r.getMessage()]
    assert f"{home_file}:7: devices.1.colour: Extra inputs are not permitted" in record.getMessage()
    assert gw.reloads == 0 and BAND_FILTER not in gw.ingest.filters
    unknown = HOME_YAML.replace(
        "profile: aqara-rtcgq11lm, room: kitchen", "profile: no-such, room: kitchen"
    )
    await rewrite(home_file, unknown)
    await wait_until(lambda: gw.reload_refused == 2, what="the unknown profile refused")
    assert f"{home_file}: paired device 'pir_kitchen'" in caplog.records[-1].getMessage()
    await publish(mosquitto.port, [motion("pir_kitchen"), press()])
    await wait_until(lambda: gw.outbox.backlog()["alarms"] == 1, what="the SOS, old manifest")
    assert gw.board.devices["pir_kitchen"].messages == 1


async def test_a_device_pair_adds_to_the_config_file_is_taken_without_a_restart(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path
) -> None:
    config_file = tmp_path / "gateway.yaml"
    config_file.write_text(
        json.dumps(
            {
                "home": str(home_file),
                "data_dir": str(tmp_path / "data"),
                "broker": {"url": mosquitto.url, "client_id": f"gw-{uuid.uuid4().hex[:8]}"},
            }
        )
    )
    gw = Gateway(load_config(config_file), config_file=config_file)
    task = await started(gw)
    band = {"device_id": "li-band", "profile": "ble-heart-rate", "room": "bedroom"}
    await asyncio.to_thread(add_device, config_file, band)
    await wait_until(lambda: gw.reloads == 1, what="the paired device taken")
    await publish(mosquitto.port, [band_reading(66)])
    await wait_until(lambda: gw.board.devices["li-band"].messages == 1, what="the band decoded")
    gw.stop()
    await asyncio.wait_for(task, 20)


async def test_a_device_removed_while_the_gateway_was_stopped_is_unsubscribed_at_start(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path
) -> None:
    """The persistent session keeps its subscriptions; the next run leaves the stale ones."""
    await rewrite(home_file, HOME_YAML + BAND)
    cfg = config_for(home_file, tmp_path / "data", mosquitto)
    first = Gateway(cfg)
    task = await started(first)
    first.stop()
    await asyncio.wait_for(task, 20)
    await rewrite(home_file, HOME_YAML)
    second = Gateway(cfg)
    task = await started(second)
    await publish(mosquitto.port, [band_reading(70), press()])
    await wait_until(lambda: second.outbox.backlog()["alarms"] == 1, what="the press")
    assert second.ingest.received == 1, "the unpaired band's filter was left"
    second.stop()
    await asyncio.wait_for(task, 20)


async def test_sighup_makes_a_running_gateway_process_re_read_its_manifest(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path
) -> None:
    config_file = tmp_path / "gateway.json"
    settings = {
        "home": str(home_file),
        "data_dir": str(tmp_path / "data"),
        "broker": {"url": mosquitto.url, "client_id": f"gw-{uuid.uuid4().hex[:8]}"},
    }
    await asyncio.to_thread(config_file.write_text, json.dumps(settings))
    log = tmp_path / "gateway.log"
    proc = gateway_process(config_file, log)
    try:
        await wait_until(lambda: "broker connected" in log.read_text(), what="the gateway up")
        proc.send_signal(signal.SIGHUP)
        await wait_until(
            lambda: "home manifest re-read: nothing changed" in log.read_text(), what="SIGHUP"
        )
        assert proc.poll() is None, "SIGHUP does not stop it"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0, log.read_text()[-2000:]
