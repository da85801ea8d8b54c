"""MQTT ingest: subscribe to the paired devices' topics, survive broker restarts.

QoS 1 messages are acknowledged to the broker only after everything they caused has been
committed to the outbox (manual acks, in receive order). With a persistent session, a
gateway killed at any moment gets its unacknowledged messages again when it comes back;
stable alarm ids make the replay harmless.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from urllib.parse import urlsplit

import aiomqtt

from edge.config import BrokerConfig
from edge.items import Barrier, RawMessage

log = logging.getLogger(__name__)

# Small packets (acks, an SOS after chatter) must not wait for Nagle's algorithm: ~40 ms.
NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def broker_address(url: str) -> tuple[str, int]:
    """Host and port of an mqtt:// URL (default port 1883)."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


def make_client(
    config: BrokerConfig, *, identifier: str | None, persistent: bool, manual_ack: bool = False
) -> aiomqtt.Client:
    """An aiomqtt client for the gateway's broker."""
    host, port = broker_address(config.url)
    client = aiomqtt.Client(
        host,
        port,
        username=config.username,
        password=config.password.get_secret_value() if config.password else None,
        identifier=identifier,
        clean_session=not persistent,
        keepalive=config.keepalive_s,
        timeout=10.0,
        socket_options=[NO_DELAY],
    )
    if manual_ack:  # aiomqtt has no manual-ack API; its paho client does
        client._client.manual_ack_set(True)
    return client


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
        out: asyncio.Queue[RawMessage | Barrier],
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
        self.acked = 0
        self.paused = False  # set on shutdown: later messages stay with the broker
        self._client: aiomqtt.Client | None = None
        self._unacked: list[tuple[int, int]] = []  # (mid, qos) in receive order

    async def run(self) -> None:
        """Receive until cancelled, reconnecting with jittered exponential backoff."""
        delay = self.config.reconnect_min_s
        while True:
            try:
                async with make_client(
                    self.config, identifier=self.identifier, persistent=True, manual_ack=True
                ) as client:
                    self._client = client
                    self._unacked.clear()  # the broker sends those again on this session
                    prefix = self.config.topic_prefix
                    for topic_filter in self.filters:
                        await client.subscribe(prefix + topic_filter, qos=self.config.qos)
                    self.connected = True
                    self.connects += 1
                    delay = self.config.reconnect_min_s
                    log.info(
                        "broker connected url=%s filters=%s",
                        self.config.url,
                        ",".join(self.filters),
                    )
                    async for msg in client.messages:
                        if self.paused:
                            continue
                        self.received += 1
                        await self.out.put(
                            RawMessage(
                                msg.topic.value[len(prefix) :],
                                payload_bytes(msg.payload),
                                time.time(),
                                retained=msg.retain,
                            )
                        )
                        if msg.qos > 0:
                            self._unacked.append((msg.mid, msg.qos))
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
                self._client = None

    async def acknowledge(self, *, every_s: float) -> None:
        """Ack received messages once all they caused is committed: a barrier sent behind
        them through every stage comes out of the outbox writer."""
        while True:
            await asyncio.sleep(every_s)
            client, batch = self._client, list(self._unacked)
            if client is None or not batch:
                continue
            barrier = Barrier()
            await self.out.put(barrier)
            await barrier.done.wait()
            if client is not self._client:
                continue  # reconnected meanwhile: the broker resends, nothing to ack here
            for mid, qos in batch:
                client._client.ack(mid, qos)
            del self._unacked[: len(batch)]
            self.acked += len(batch)

    def acknowledge_all(self) -> None:
        """Ack everything taken in (on shutdown, once the pipeline has drained)."""
        if self._client is not None:
            for mid, qos in self._unacked:
                self._client._client.ack(mid, qos)
            self.acked += len(self._unacked)
        self._unacked.clear()
