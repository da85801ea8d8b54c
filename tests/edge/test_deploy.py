"""deploy/: per-device broker logins fenced by ACL (real Mosquitto), systemd notifications."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiomqtt
import pytest

from edge.brokerauth import GATEWAY_USER, broker_auth, read_passwords, write_auth
from edge.cli import main
from edge.sdnotify import notify, watchdog_interval_s
from firmware_profiles import load_library
from protocol import load_home
from testbed import MosquittoServer

REPO = Path(__file__).resolve().parents[2]
HOME = REPO / "device_sim" / "homes" / "flat_li.yaml"


class AclMosquitto(MosquittoServer):
    """The testbed broker with logins and an ACL file."""

    def __init__(self, passwords: dict[str, str], acl: Path) -> None:
        super().__init__(passwords=passwords)
        self.acl = acl

    def _write_config(self) -> Path:
        conf = super()._write_config()
        conf.write_text(conf.read_text() + f"acl_file {self.acl}\n")
        return conf


async def test_each_device_may_only_publish_on_its_own_topic(tmp_path: Path) -> None:
    auth = broker_auth(load_home(HOME), load_library())
    assert {GATEWAY_USER, "zigbee2mqtt", "li-band"} <= set(auth.users)
    acl, passwd = write_auth(auth, tmp_path)
    passwords = read_passwords(passwd)
    again = write_auth(auth, tmp_path)[1]
    assert read_passwords(again) == passwords, "existing passwords are kept"
    with AclMosquitto(passwords, acl) as broker:
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, username=GATEWAY_USER, password=passwords[GATEWAY_USER]
        ) as gw:
            await gw.subscribe("carewatch/vitawear/+/telemetry", qos=1)
            async with aiomqtt.Client(
                "127.0.0.1", broker.port, username="li-band", password=passwords["li-band"]
            ) as band:
                await band.publish("carewatch/vitawear/other-band/telemetry", b"{}", qos=1)
                await band.publish("carewatch/vitawear/li-band/telemetry", b'{"hr":70}', qos=1)
            msg = await asyncio.wait_for(anext(gw.messages), 10)
            assert msg.topic.value == "carewatch/vitawear/li-band/telemetry"
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(
                "127.0.0.1", broker.port, username="li-band", password="wrong"
            ):
                pass


def test_broker_auth_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["broker-auth", "--home", str(HOME), "--out", str(tmp_path)]) == 0
    assert "user li-band" in (tmp_path / "carewatch.acl").read_text()
    assert "logins" in capsys.readouterr().out


def test_sd_notify_over_a_datagram_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert notify("READY=1")
        assert server.recv(100) == b"READY=1"
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    assert watchdog_interval_s() == 2.0
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not notify("WATCHDOG=1")


def test_the_acl_example_is_what_broker_auth_writes(tmp_path: Path) -> None:
    acl, _ = write_auth(broker_auth(load_home(HOME), load_library()), tmp_path)
    assert acl.read_text() == (REPO / "deploy" / "mosquitto" / "carewatch.acl.example").read_text()
