"""The bridge's MQTT side: a bounded buffer and one connection with jittered reconnects."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque

import aiomqtt

from edge.config import BrokerConfig
from edge.ingest import make_client

log = logging.getLogger(__name__)


class Publisher:
    """Publishes in order at the broker config's QoS; holds messages while the broker is away.

    ``offer`` never blocks the BLE callbacks: when ``maxlen`` messages wait, the oldest is
    dropped and counted (the bands' telemetry, not alarms: an alarm is decided on the
    gateway, from what arrives).
    """

    def __init__(self, config: BrokerConfig, *, identifier: str, maxlen: int) -> None:
        self.config = config
        self.identifier = identifier
        self.maxlen = maxlen
        self.published = 0
        self.dropped = 0
        self.connected = False
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()

    @property
    def pending(self) -> int:
        """Messages not yet acknowledged by the broker."""
        return len(self._queue)

    def offer(self, topic: str, payload: bytes) -> None:
        """Queue one message (topic without the broker's topic prefix)."""
        if len(self._queue) >= self.maxlen:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("mqtt buffer full dropped=%d maxlen=%d", self.dropped, self.maxlen)
        self._queue.append((self.config.topic_prefix + topic, payload))
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled, reconnecting with jittered exponential backoff."""
        delay = self.config.reconnect_min_s
        while True:
            try:
                async with make_client(
                    self.config, identifier=self.identifier, persistent=False
                ) as client:
                    self.connected = True
                    delay = self.config.reconnect_min_s
                    log.info(
                        "broker connected url=%s client_id=%s pending=%d",
                        self.config.url,
                        self.identifier,
                        len(self._queue),
                    )
                    await self._serve(client)
            except aiomqtt.MqttError as exc:
                wait = random.uniform(delay / 2, delay)
                log.warning(
                    "broker link lost url=%s error=%s pending=%d retry_in=%.1fs",
                    self.config.url,
                    exc,
                    len(self._queue),
                    wait,
                )
                self.connected = False
                await asyncio.sleep(wait)
                delay = min(self.config.reconnect_max_s, delay * 2)
            finally:
                self.connected = False

    async def _serve(self, client: aiomqtt.Client) -> None:
        """Publish while the link holds; notice a lost link even when there is nothing to send."""
        tasks = [asyncio.create_task(self._drain(client)), asyncio.create_task(_watch(client))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _drain(self, client: aiomqtt.Client) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            topic, payload = self._queue[0]
            await client.publish(topic, payload, qos=self.config.qos)
            # Only now is it the broker's: a lost link before the ack sends it again.
            if self._queue and self._queue[0][0] is topic and self._queue[0][1] is payload:
                self._queue.popleft()
            self.published += 1


async def _watch(client: aiomqtt.Client) -> None:
    """Raises MqttError when the broker link drops (nothing is subscribed)."""
    async for _ in client.messages:
        pass
    raise aiomqtt.MqttError("broker closed the connection")
