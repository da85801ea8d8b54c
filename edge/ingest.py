"""MQTT ingest: subscribe to the paired devices' topics, survive broker and gateway restarts.

The gateway's session is persistent (MQTT 5, fixed client id, clean start off, session
expiry ``broker.session_expiry_s``) and subscribes at QoS 1, so the broker keeps what
arrives while the gateway restarts (QoS 0 too, with Mosquitto's ``queue_qos0_messages``).
QoS 1 messages are acknowledged only after everything they caused has been committed to
the outbox (manual acks, in receive order): a gateway killed at any moment gets its
unacknowledged messages again when it comes back; stable local alarm keys (edge.alarms)
make the replay harmless. On shutdown nothing already received is dropped: the QoS 0
messages that came in while the pipeline drained are processed after the session is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import BrokerConfig
from edge.items import Barrier, RawMessage
from edge.sessionguard import DuplicateClientError, SessionGuard

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
    """An MQTT 5 client for the gateway's broker; ``persistent``: the session outlives the
    connection (clean start off, session expiry set), else it ends with it."""
    host, port = broker_address(config.url)
    properties = None
    if persistent:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = config.session_expiry_s
    client = aiomqtt.Client(
        host,
        port,
        username=config.username,
        password=config.password.get_secret_value() if config.password else None,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=not persistent,
        properties=properties,
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


def _queued(client: aiomqtt.Client) -> list[aiomqtt.Message]:
    """Messages aiomqtt received but nobody iterated yet."""
    out = []
    queue = client._queue
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


class Ingest:
    """Feeds broker messages into a bounded queue; when it is full, ingest waits."""

    def __init__(
        self,
        config: BrokerConfig,
        filters: list[str],
        out: asyncio.Queue[RawMessage | Barrier],
        *,
        identifier: str,
        on_fatal: Callable[[DuplicateClientError], None] | None = None,
        filters_file: Path | None = None,
    ) -> None:
        self.config = config
        self.filters = filters
        self.out = out
        self.identifier = identifier
        self.guard = SessionGuard(identifier, limit=config.takeover_limit)
        self.on_fatal = on_fatal
        self.connected = False
        self.connects = 0
        self.received = 0
        self.acked = 0
        self.paused = False  # set on shutdown: later messages are held, not forwarded
        self._client: aiomqtt.Client | None = None
        self._unacked: list[tuple[int, int]] = []  # (mid, qos) in receive order
        self._held: list[aiomqtt.Message] = []
        # Filters to leave on the next connection: the broker keeps a persistent session's
        # subscriptions, also those of a manifest changed while the gateway was stopped.
        self.filters_file = filters_file
        self._stale: set[str] = set(self._filters_before()) - set(filters)

    async def run(self) -> None:
        """Receive until cancelled, reconnecting with jittered exponential backoff. A client
        id used by another client too stops it (``on_fatal``) after ``takeover_limit``."""
        delay = self.config.reconnect_min_s
        while True:
            before = self.connects
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                if self.connects > before:
                    delay = self.config.reconnect_min_s
                await self._forward_held()
                try:
                    self.guard.disconnected(exc)
                except DuplicateClientError as fatal:
                    self._fatal(fatal)
                    return
                # Two clients on one id: back off far, so the loop is slow and named.
                top = self.config.reconnect_max_s if self.guard.contested else delay
                wait = random.uniform(top / 2, top)
                log.warning(
                    "broker link lost url=%s error=%s retry_in=%.1fs", self.config.url, exc, wait
                )
                await asyncio.sleep(wait)
                delay = min(self.config.reconnect_max_s, delay * 2)
            except DuplicateClientError as fatal:
                self._fatal(fatal)
                return

    def _fatal(self, exc: DuplicateClientError) -> None:
        log.error("%s", exc)
        if self.on_fatal is None:
            raise exc
        self.on_fatal(exc)

    async def _session(self) -> None:
        client = make_client(
            self.config, identifier=self.identifier, persistent=True, manual_ack=True
        )
        try:
            async with client:
                self._client = client
                self._unacked.clear()  # the broker sends those again on this session
                prefix = self.config.topic_prefix
                for topic_filter in self.filters:
                    await client.subscribe(prefix + topic_filter, qos=self.config.qos)
                for topic_filter in sorted(self._stale - set(self.filters)):
                    await client.unsubscribe(prefix + topic_filter)  # the session kept it
                self._stale.clear()
                self._remember_filters()
                self.guard.connected()
                # Subscribe before announcing: the retained token seen first is the last
                # holder's (see edge.sessionguard).
                await client.subscribe(self.guard.topic, qos=1)
                await client.publish(
                    self.guard.topic, self.guard.announcement(), qos=1, retain=True
                )
                self.connected = True
                self.connects += 1
                log.info(
                    "broker connected url=%s client_id=%s filters=%s",
                    self.config.url,
                    self.identifier,
                    ",".join(self.filters),
                )
                async for msg in client.messages:
                    await self._take(client, msg)
        finally:
            self.connected = False
            self._held += _queued(client)
            self._client = None

    async def set_filters(self, filters: list[str]) -> tuple[list[str], list[str]]:
        """Subscribe to the new filters and leave the dropped ones, now or (when the broker
        is away) on the next connection. Returns (added, dropped)."""
        added = sorted(set(filters) - set(self.filters))
        dropped = sorted(set(self.filters) - set(filters))
        self.filters = list(filters)
        self._stale |= set(dropped)
        client, prefix = self._client, self.config.topic_prefix
        if client is None or not self.connected:
            return added, dropped
        try:
            for topic_filter in added:
                await client.subscribe(prefix + topic_filter, qos=self.config.qos)
            for topic_filter in dropped:
                await client.unsubscribe(prefix + topic_filter)
                self._stale.discard(topic_filter)
        except aiomqtt.MqttError as exc:  # the reconnect subscribes to self.filters
            log.warning("subscriptions not changed yet (broker link lost): %s", exc)
            return added, dropped
        self._remember_filters()
        return added, dropped

    def _filters_before(self) -> list[str]:
        if self.filters_file is None:
            return []
        try:
            data = json.loads(self.filters_file.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("subscriptions file unreadable file=%s error=%s", self.filters_file, exc)
            return []
        return [f for f in data if isinstance(f, str)] if isinstance(data, list) else []

    def _remember_filters(self) -> None:
        """What the broker session is subscribed to now, for the next run."""
        if self.filters_file is None:
            return
        tmp = self.filters_file.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(sorted(self.filters)))
            tmp.replace(self.filters_file)
        except OSError as exc:
            log.warning("subscriptions not saved file=%s error=%s", self.filters_file, exc)

    async def _take(self, client: aiomqtt.Client, msg: aiomqtt.Message) -> None:
        if msg.topic.value == self.guard.topic:
            if msg.qos > 0:
                client._client.ack(msg.mid, msg.qos)
            self.guard.message(payload_bytes(msg.payload))
            return
        if self.paused:
            self._held.append(msg)
            return
        self.received += 1
        await self.out.put(self._raw(msg))
        if msg.qos > 0:
            self._unacked.append((msg.mid, msg.qos))

    def _raw(self, msg: aiomqtt.Message) -> RawMessage:
        return RawMessage(
            msg.topic.value[len(self.config.topic_prefix) :],
            payload_bytes(msg.payload),
            time.time(),
            retained=msg.retain,
        )

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

    async def close(self, task: asyncio.Task[None]) -> int:
        """End the session (the broker keeps it and queues what comes next), then forward
        the QoS 0 messages received while paused: nobody would send those again. QoS 1+
        ones were not acknowledged; the broker sends them again to the next run. Returns
        how many were forwarded."""
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return await self._forward_held()

    async def _forward_held(self) -> int:
        held, self._held = self._held, []
        late = [m for m in held if m.qos == 0 and m.topic.value != self.guard.topic]
        for msg in late:
            self.received += 1
            await self.out.put(self._raw(msg))
        if late:
            log.info("forwarded %d QoS 0 messages received after the pipeline paused", len(late))
        return len(late)
