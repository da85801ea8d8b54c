"""The install on a stock Debian 12 / Raspberry Pi OS: deploy/mosquitto/carewatch.conf in
Debian's conf.d, the gateway config's broker user, and `check` when the login is refused."""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import pytest
import yaml

from edge.brokerauth import GATEWAY_USER, ZIGBEE_BRIDGE_USER, broker_auth
from edge.cli import main
from edge.routing import Router
from firmware_profiles import load_library
from protocol import load_home
from tests.edge.debian_broker import DEBIAN_MAIN, DROP_IN, DebianMosquitto

pytestmark = pytest.mark.services

REPO = Path(__file__).resolve().parents[2]
PASSWORDS = {GATEWAY_USER: "gw-secret", ZIGBEE_BRIDGE_USER: "z2m-secret"}
# String options of Debian's main file: a drop-in that sets one again stops Mosquitto.
DEBIAN_OWNS = ("pid_file", "persistence_location", "log_dest", "include_dir")


@pytest.fixture
def debian_broker(home_file: Path) -> Iterator[DebianMosquitto]:
    home, library = load_home(home_file), load_library()
    with DebianMosquitto(broker_auth(home, library), PASSWORDS) as broker:
        broker.gateway_filters = Router(home, library).subscriptions
        yield broker


def client(broker: DebianMosquitto, user: str | None) -> aiomqtt.Client:
    password = PASSWORDS.get(user) if user else None
    return aiomqtt.Client("127.0.0.1", broker.port, username=user, password=password)


def options(path: Path) -> set[str]:
    """The option names a Mosquitto config file sets."""
    return {line.split()[0] for line in path.read_text().splitlines() if line[:1].isalpha()}


def test_the_fixture_is_debians_main_file_and_the_drop_in_leaves_its_options_alone() -> None:
    assert set(DEBIAN_OWNS) <= options(DEBIAN_MAIN), "fixtures/ holds Debian 12's own file"
    assert not options(DROP_IN) & set(DEBIAN_OWNS)


async def test_drop_in_starts_under_debians_main_file_and_its_settings_apply(
    debian_broker: DebianMosquitto,
) -> None:
    with pytest.raises(aiomqtt.MqttError):  # allow_anonymous false
        async with client(debian_broker, None):
            pass
    async with client(debian_broker, GATEWAY_USER) as gw:
        for topic_filter in debian_broker.gateway_filters:
            await gw.subscribe(topic_filter, qos=1)
        await gw.subscribe("carewatch/vitawear/+/telemetry", qos=1)
        sent = ["zigbee2mqtt/sos_button", "zigbee2mqtt/bridge/state", "zigbee2mqtt/bridge/devices"]
        async with client(debian_broker, ZIGBEE_BRIDGE_USER) as z2m:
            await z2m.publish("carewatch/vitawear/x/telemetry", b"{}", qos=1)  # not its topic
            for topic in sent:
                await z2m.publish(topic, b"{}", qos=1)
        got = [(await asyncio.wait_for(anext(gw.messages), 10)).topic.value for _ in sent]
        assert got == sent, (
            "the gateway reads every topic it subscribes to, the bridge only its own"
        )
    log = debian_broker.debian_log.read_text()
    assert f"u'{ZIGBEE_BRIDGE_USER}'" in log, "connection messages in Debian's log_dest file"
    assert "Error" not in log, log
    await asyncio.to_thread(debian_broker.restart)
    assert (debian_broker.persistence / "mosquitto.db").exists(), "Debian's persistence_location"


def test_the_old_drop_in_that_repeated_debians_options_does_not_start(home_file: Path) -> None:
    """The harness tells a bad drop-in: Debian's main file with the file as it was."""
    auth = broker_auth(load_home(home_file), load_library())
    old = DROP_IN.read_text() + "persistence_location /var/lib/mosquitto/\nlog_dest syslog\n"
    broker = DebianMosquitto(auth, PASSWORDS, drop_in=old)
    try:
        with pytest.raises(Exception, match="Duplicate persistence_location"):
            broker.start()
    finally:
        broker.stop()


@pytest.mark.parametrize("name", ["gateway.example.toml", "gateway.example.yaml"])
def test_example_configs_log_in_as_the_user_broker_auth_creates(name: str) -> None:
    text = (REPO / "config" / name).read_text()
    data = tomllib.loads(text) if name.endswith(".toml") else yaml.safe_load(text)
    assert data["broker"]["username"] == GATEWAY_USER


def _config(tmp_path: Path, home_file: Path, broker: DebianMosquitto, password: str) -> Path:
    path = tmp_path / "gw.yaml"
    broker_cfg = {"url": broker.url, "username": GATEWAY_USER, "password": password}
    path.write_text(
        json.dumps({"home": str(home_file), "data_dir": str(tmp_path / "d"), "broker": broker_cfg})
    )
    return path


def test_check_names_the_user_the_broker_refused(
    debian_broker: DebianMosquitto,
    home_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--config", str(_config(tmp_path, home_file, debian_broker, "no"))]) == 1
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("FAIL broker")]
    assert f"refused the login of user {GATEWAY_USER!r}" in line and "broker-auth" in line
    good = _config(tmp_path, home_file, debian_broker, PASSWORDS[GATEWAY_USER])
    main(["check", "--config", str(good)])
    accepted = f"OK   broker: {debian_broker.url} accepted the gateway's user {GATEWAY_USER!r}"
    assert accepted in capsys.readouterr().out


def test_bootstrap_installs_the_mosquitto_clients_the_docs_use() -> None:
    script = (REPO / "scripts" / "bootstrap.sh").read_text()
    [packages] = [line for line in script.splitlines() if line.startswith("DEB_PACKAGES=")]
    assert "mosquitto-clients" in packages.split("(")[1].split()
    docs = "".join(p.read_text() for p in (REPO / "docs").glob("*.md"))
    assert "mosquitto_sub" in docs


def test_the_zigbee2mqtt_example_matches_what_the_gateway_expects() -> None:
    from edge.brokerauth import ZIGBEE_PREFIX
    from firmware_profiles.availability import (
        ZIGBEE2MQTT_ACTIVE_TIMEOUT_S,
        ZIGBEE2MQTT_PASSIVE_TIMEOUT_S,
    )

    z2m = yaml.safe_load(
        (REPO / "deploy" / "zigbee2mqtt" / "configuration.example.yaml").read_text()
    )
    assert z2m["mqtt"]["base_topic"] + "/" == ZIGBEE_PREFIX
    assert z2m["mqtt"]["user"] == ZIGBEE_BRIDGE_USER
    server = urlsplit(z2m["mqtt"]["server"])
    listener = f"listener {server.port} {server.hostname}"
    assert listener in DROP_IN.read_text(), "Zigbee2MQTT connects to the drop-in's listener"
    assert z2m["advanced"]["last_seen"] in ("epoch", "ISO_8601", "ISO_8601_local")
    avail = z2m["availability"]
    assert avail["enabled"] is True
    assert avail["active"]["timeout"] * 60 == ZIGBEE2MQTT_ACTIVE_TIMEOUT_S
    assert avail["passive"]["timeout"] * 60 == ZIGBEE2MQTT_PASSIVE_TIMEOUT_S
    qos = {d["friendly_name"]: d.get("qos", 0) for d in z2m["devices"].values()}
    assert qos["sos_button"] == 1 and qos["front_door"] == 1
