"""Edge test fixtures: a home manifest, gateway configs, a publisher, bounded waiting."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiomqtt
import pytest

from edge.config import GatewayConfig
from protocol.api import make_credential
from tests.edge.receiver import Receiver, serve

HOME_YAML = """\
home_id: home-t1
gateway_id: gw-t1
coordinates: {lat: 31.23, lon: 121.47}
resident: {first_name: Mei}
devices:
  - {device_id: pir_bedroom, profile: aqara-rtcgq11lm, room: bedroom}
  - {device_id: pir_kitchen, profile: aqara-rtcgq11lm, room: kitchen}
  - {device_id: sos_button, profile: tuya-ts0215a, room: bedroom, worn_by: resident}
"""


@pytest.fixture
def home_file(tmp_path: Path) -> Path:
    """A home with two PIRs and an SOS button."""
    path = tmp_path / "home.yaml"
    path.write_text(HOME_YAML)
    return path


@pytest.fixture
def credential() -> str:
    """A credential for gateway gw-t1."""
    return make_credential("gw-t1")


@pytest.fixture
async def rx(credential: str) -> AsyncIterator[Receiver]:
    """A stand-in cloud for gateway gw-t1 on a loopback port."""
    async with serve(Receiver(credential)) as receiver:
        yield receiver


def gateway_config(
    home: Path, data_dir: Path, broker_url: str, cloud_url: str | None, credential: str | None
) -> GatewayConfig:
    """A config with fast retries, suitable for tests."""
    return GatewayConfig.model_validate(
        {
            "home": home,
            "data_dir": data_dir,
            "broker": {"url": broker_url, "reconnect_min_s": 0.1, "reconnect_max_s": 1.0},
            "cloud": {
                "url": cloud_url,
                "credential": credential,
                "backoff_min_s": 0.05,
                "backoff_max_s": 0.5,
                "auth_retry_s": 0.5,
                "heartbeat_s": 0.5,
            },
            "clock": {"tick_s": 0.2},
        }
    )


def z2m(**values: object) -> bytes:
    """A Zigbee2MQTT-style JSON payload."""
    return json.dumps(values).encode()


async def publish(url_port: int, messages: list[tuple[str, bytes]], *, qos: int = 1) -> None:
    """Publish messages to the test broker in order."""
    async with aiomqtt.Client("127.0.0.1", url_port) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=qos)


async def wait_until(
    check: Callable[[], bool | Awaitable[bool]], *, limit_s: float = 20.0, what: str = ""
) -> None:
    """Poll ``check`` every 20 ms until it holds; fail naming ``what`` after ``limit_s``."""
    for _ in range(int(limit_s / 0.02)):
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {limit_s}s waiting for {what}")


def gateway_process(config_file: Path, log: Path) -> subprocess.Popen[bytes]:
    """``carewatch-gateway run --config FILE`` as its own process, its log to ``log``."""
    return subprocess.Popen(
        ["carewatch-gateway", "run", "--config", str(config_file)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
