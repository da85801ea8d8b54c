"""Installer commands against real Mosquitto and the local cloud receiver."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiomqtt
import pytest

from device_sim.zigbee2mqtt import interview_event
from edge.cli import main
from edge.configfile import load_config, load_home_for
from edge.ingest import payload_bytes
from edge.outbox import Outbox
from firmware_profiles import load_library
from testbed import MosquittoServer
from tests.edge.conftest import publish, z2m
from tests.edge.receiver import Receiver, serve

pytestmark = pytest.mark.services


def write_config(tmp_path: Path, home_file: Path, broker: str, cloud: str | None) -> Path:
    p = tmp_path / "gw.toml"
    lines = [f'home = "{home_file}"', f'data_dir = "{tmp_path / "data"}"', "[broker]"]
    lines += [f'url = "{broker}"']
    if cloud:
        lines += ["[cloud]", f'url = "{cloud}"']
    p.write_text("\n".join(lines) + "\n")
    return p


async def run_cli(argv: list[str], chatter: list[tuple[str, bytes]], port: int) -> int:
    """Run the CLI in a thread while devices keep publishing (at most 30 s)."""
    task = asyncio.create_task(asyncio.to_thread(main, argv))
    for _ in range(150):
        if task.done():
            break
        if chatter:
            await publish(port, chatter, qos=0)
        await asyncio.sleep(0.2)
    return await asyncio.wait_for(task, 30)


async def test_check_says_what_is_wrong(
    mosquitto: MosquittoServer,
    home_file: Path,
    tmp_path: Path,
    credential: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with serve(Receiver(credential)) as rx:
        cfg = write_config(tmp_path, home_file, mosquitto.url, rx.url)
        monkeypatch.setenv("CAREWATCH_GATEWAY_CREDENTIAL", credential)
        assert await asyncio.to_thread(main, ["check", "--config", str(cfg)]) == 0
        out = capsys.readouterr().out
        assert out.count("OK  ") == 7 and "FAIL" not in out
        assert "OK   clock: " in out  # the cloud's Date header at least
        monkeypatch.setenv("CAREWATCH_GATEWAY_CREDENTIAL", "cwg_gw-t1.wrong")
        assert await asyncio.to_thread(main, ["check", "--config", str(cfg)]) == 1
        assert "FAIL cloud" in (out := capsys.readouterr().out) and "401" in out
    args = ["check", "--config", str(cfg), "--broker", "mqtt://127.0.0.1:1"]
    assert await asyncio.to_thread(main, args) == 1
    out = capsys.readouterr().out
    assert "FAIL broker: mqtt://127.0.0.1:1" in out and "FAIL cloud" in out


async def test_test_alarm_reaches_the_cloud(
    mosquitto: MosquittoServer,
    home_file: Path,
    tmp_path: Path,
    credential: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CAREWATCH_GATEWAY_CREDENTIAL", credential)
    async with serve(Receiver(credential)) as rx:
        cfg = write_config(tmp_path, home_file, mosquitto.url, rx.url)
        assert await asyncio.to_thread(main, ["test-alarm", "--config", str(cfg)]) == 0
        [alarm] = rx.alarms.values()
        assert alarm["kind"] == "test" and alarm["gateway_id"] == "gw-t1"
        assert "cloud accepted it" in capsys.readouterr().out
        rx.mode = "down"
        assert await asyncio.to_thread(main, ["test-alarm", "--config", str(cfg)]) == 1
        assert "FAIL test alarm" in capsys.readouterr().out
    report = Outbox(tmp_path / "data").report()
    assert sorted(a["state"] for a in report["alarms"]) == ["delivered", "failed"]


async def test_devices_shows_each_sensor_respond(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, home_file, mosquitto.url, None)
    chatter = [("zigbee2mqtt/pir_kitchen", z2m(occupancy=True, battery=77, linkquality=120))]
    argv = ["devices", "--config", str(cfg), "--duration", "2", "--json"]
    assert await run_cli(argv, chatter, mosquitto.port) == 0
    rows = {r["device_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["pir_kitchen"]["messages"] >= 1 and rows["pir_kitchen"]["battery"] == 77
    assert rows["pir_kitchen"]["link_quality"] == 120 and rows["pir_kitchen"]["room"] == "kitchen"
    assert rows["sos_button"]["last_seen_s"] is None


def bridge_devices(*named: tuple[str, str | None]) -> tuple[str, bytes]:
    """Zigbee2MQTT's retained device list: (friendly name, definition.model or None)."""
    entries = [
        {
            "friendly_name": name,
            "ieee_address": f"0x00158d00000000{i:02x}",
            "type": "EndDevice",
            "definition": None if model is None else {"model": model, "vendor": "V"},
        }
        for i, (name, model) in enumerate(named)
    ]
    return "zigbee2mqtt/bridge/devices", json.dumps(entries).encode()


async def retain(port: int, topic: str, payload: bytes) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(topic, payload, qos=1, retain=True)


async def test_pair_takes_the_profile_from_zigbee2mqtts_device_list(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, home_file, mosquitto.url, None)
    await retain(
        mosquitto.port,
        *bridge_devices(("hall_pir", "RTCGQ11LM"), ("sos_2", "WXKG11LM"), ("lamp", "LED1545G12")),
    )
    chatter = [("zigbee2mqtt/hall_pir", z2m(occupancy=True, battery=100, illuminance=12))]
    argv = ["pair", "--config", str(cfg), "--room", "entrance", "--yes", "--timeout", "20"]
    assert await run_cli(argv, chatter, mosquitto.port) == 0
    dev = load_home_for(load_config(cfg)).device("hall_pir")
    assert dev is not None and dev.room == "entrance" and dev.profile == "aqara-rtcgq11lm"
    # A button's check-in without `action` says nothing of what it is; its model does.
    chatter = [("zigbee2mqtt/sos_2", z2m(battery=98, voltage=3010, linkquality=90))]
    argv = ["pair", "--config", str(cfg), "--room", "bedroom", "--yes", "--timeout", "20"]
    assert await run_cli(argv, chatter, mosquitto.port) == 0
    assert load_home_for(load_config(cfg)).device("sos_2").profile == "aqara-wxkg11lm"  # type: ignore[union-attr]
    chatter = [("zigbee2mqtt/lamp", z2m(state="ON", brightness=200))]
    assert await run_cli([*argv[:-2], "--timeout", "20"], chatter, mosquitto.port) == 2
    assert "no profile for Zigbee2MQTT model 'LED1545G12'" in capsys.readouterr().err
    argv = ["pair", "--config", str(cfg), "--room", "attic", "--profile", "ikea-e1525"]
    await retain(mosquitto.port, *bridge_devices(("attic_pir", "E1525/E1745")))
    chatter = [("zigbee2mqtt/attic_pir", z2m(occupancy=True))]
    assert await run_cli([*argv, "--timeout", "20"], chatter, mosquitto.port) == 2
    assert "attic_pir" not in cfg.read_text(), "a device in an unknown room is not added"
    await retain(mosquitto.port, "zigbee2mqtt/bridge/devices", b"")


async def test_pair_zigbee_opens_joining_and_pairs_the_interviewed_device(
    mosquitto: MosquittoServer, home_file: Path, tmp_path: Path
) -> None:
    """A stand-in Zigbee2MQTT answers permit_join and reports the new device's interview."""
    cfg = write_config(tmp_path, home_file, mosquitto.url, None)
    requests: list[dict[str, object]] = []
    prof = load_library().get("aqara-mccgq11lm")

    async def zigbee2mqtt_bridge() -> None:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            await client.subscribe("zigbee2mqtt/bridge/request/permit_join", qos=1)
            ready.set()
            async for msg in client.messages:
                body = json.loads(payload_bytes(msg.payload))
                requests.append(body)
                answer = {"data": {"time": body["time"]}, "status": "ok"}
                await client.publish("zigbee2mqtt/bridge/response/permit_join", json.dumps(answer))
                if body["time"] > 0:
                    await client.publish(
                        "zigbee2mqtt/bridge/event", interview_event("door_2", prof)
                    )
                else:
                    return

    ready = asyncio.Event()
    bridge = asyncio.create_task(zigbee2mqtt_bridge())
    await ready.wait()
    argv = ["pair", "--zigbee", "--config", str(cfg), "--room", "entrance", "--yes"]
    assert await run_cli([*argv, "--timeout", "30"], [], mosquitto.port) == 0
    await asyncio.wait_for(bridge, 10)
    assert requests == [{"time": 30, "value": True}, {"time": 0, "value": False}]
    dev = load_home_for(load_config(cfg)).device("door_2")
    assert dev is not None and dev.profile == "aqara-mccgq11lm"


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_add_device_to_toml_and_yaml_configs(suffix: str, tmp_path: Path, home_file: Path) -> None:
    from edge.cli_pair import add_device

    cfg = tmp_path / f"gw{suffix}"
    cfg.write_text(f'home = "{home_file}"\n' if suffix == ".toml" else f"home: {home_file}\n")
    add_device(cfg, {"device_id": "hall_pir", "profile": "ikea-e1525", "room": "entrance"})
    add_device(cfg, {"device_id": "door", "profile": "aqara-mccgq11lm", "room": "entrance"})
    home = load_home_for(load_config(cfg))
    assert [d.device_id for d in home.devices][-2:] == ["hall_pir", "door"]
