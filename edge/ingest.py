"""MQTT ingest: subscribe to the paired devices' topics, survive broker restarts."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from urllib.parse import urlsplit

import aiomqtt

from edge.config import BrokerConfig
from edge.items import RawMessage

log = logging.getLogger(__name__)


def broker_address(url: str) -> tuple[str, int]:
    """Host and port of an mqtt:// URL (default port 1883)."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


def make_client(
    config: BrokerConfig, *, identifier: str | None, persistent: bool
) -> aiomqtt.Client:
    """An aiomqtt client for the gateway's broker."""
    host, port = broker_address(config.url)
    return aiomqtt.Client(
        host,
        port,
        username=config.username,
        password=config.password.get_secret_value() if config.password else None,
        identifier=identifier,
        clean_session=not persistent,
        keepalive=config.keepalive_s,
        timeout=10.0,
    )


def payload_bytes(payload: object) -> bytes:
    """aiomqtt payloads as bytes."""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()


class Ingest:
    """Feeds broker messages into a bounded queue; when it is full, ingest waits."""

    def __init__(
        self,
        config: BrokerConfig,
        filters: list[str],
        out: asyncio.Queue[RawMessage],
        *,
        identifier: str,
    ) -> None:
        self.config = config
        self.filters = filters
        self.out = out
        self.identifier = identifier
        self.connected = False
        self.connects = 0
        self.received = 0

    async def run(self) -> None:
        """Receive until cancelled, reconnecting with jittered exponential backoff."""
        delay = self.config.reconnect_min_s
        while True:
            try:
                async with make_client(
                    self.config, identifier=self.identifier, persistent=True
                ) as client:
                    for topic_filter in self.filters:
                        await client.subscribe(topic_filter, qos=self.config.qos)
                    self.connected = True
                    self.connects += 1
                    delay = self.config.reconnect_min_s
                    log.info(
                        "broker connected url=%s filters=%s",
                        self.config.url,
                        ",".join(self.filters),
                    )
                    async for msg in client.messages:
                        self.received += 1
                        await self.out.put(
                            RawMessage(msg.topic.value, payload_bytes(msg.payload), time.time())
                        )
            except aiomqtt.MqttError as exc:
                self.connected = False
                wait = random.uniform(delay / 2, delay)
                log.warning(
                    "broker link lost url=%s error=%s retry_in=%.1fs", self.config.url, exc, wait
                )
                await asyncio.sleep(wait)
                delay = min(self.config.reconnect_max_s, delay * 2)
            finally:
                self.connected = False
