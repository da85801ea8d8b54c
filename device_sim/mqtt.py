"""A paho-mqtt publisher with a bounded in-flight window, a rate limit and reconnects."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

WINDOW = 2000  # messages handed to paho but not yet written/acknowledged


class BrokerError(RuntimeError):
    """The broker cannot be reached or was lost for too long; the message names it."""


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """Where and how to connect: ``mqtt://host:port`` or ``mqtts://host:port``."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    insecure: bool = False
    client_id: str = ""

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> BrokerConfig:
        """Parse a broker URL (user:password@ in it is honoured); ValueError names the URL."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ValueError(f"broker URL {url!r}: use mqtt://host:port or mqtts://host:port")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise ValueError(f"broker URL {url!r}: bad port ({exc})") from None
        cfg = cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )
        given = {k: v for k, v in overrides.items() if v is not None and v is not False}
        return dataclasses.replace(cfg, **given)

    @property
    def label(self) -> str:
        """``host:port`` for messages (never the password)."""
        return f"{self.host}:{self.port}"


class Publisher:
    """Publishes from one thread; waits for the broker after a disconnect (bounded)."""

    def __init__(
        self,
        cfg: BrokerConfig,
        *,
        max_rate: float | None = None,
        reconnect_timeout_s: float = 60.0,
    ) -> None:
        self.cfg = cfg
        self.max_rate = max_rate
        self.reconnect_timeout_s = reconnect_timeout_s
        self.sent = 0
        self.reconnects = 0
        self.waited_s = 0.0
        self.unconfirmed = 0
        self._connected = threading.Event()
        self._answered = threading.Event()
        self._refused: str | None = None
        self._ever_connected = False
        self._inflight: deque[tuple[mqtt.MQTTMessageInfo, int, int]] = deque()
        self._tokens = 0.0
        self._last_refill = time.monotonic()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=cfg.client_id, clean_session=True
        )
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(WINDOW)
        self.client.reconnect_delay_set(1, 2)
        if cfg.username is not None:
            self.client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            self.client.tls_set(ca_certs=cfg.ca_file, cert_reqs=ssl.CERT_REQUIRED)
            self.client.tls_insecure_set(cfg.insecure)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        if rc.is_failure:
            log.warning("broker %s refused the connection: %s", self.cfg.label, rc)
            self._refused = str(rc)
            self._answered.set()
            return
        if self._ever_connected:
            self.reconnects += 1
            log.info("reconnected to broker %s", self.cfg.label)
        self._ever_connected = True
        self._connected.set()
        self._answered.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        self._connected.clear()
        if rc.is_failure:
            log.warning("lost broker %s (%s); reconnecting", self.cfg.label, rc)

    def connect(self, timeout_s: float = 10.0) -> None:
        """Connect and start the network thread; BrokerError if it fails within ``timeout_s``."""
        try:
            self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise BrokerError(f"cannot connect to broker {self.cfg.label}: {exc}") from exc
        self.client.loop_start()
        if not self._answered.wait(timeout_s) or self._refused is not None:
            self.client.disconnect()
            self.client.loop_stop()
            why = self._refused or f"no answer within {timeout_s:.0f} s"
            raise BrokerError(f"broker {self.cfg.label} refused the connection: {why}")

    def _wait_connected(self) -> None:
        if self._connected.is_set():
            return
        t0 = time.monotonic()
        if not self._connected.wait(self.reconnect_timeout_s):
            raise BrokerError(
                f"broker {self.cfg.label} unreachable for {self.reconnect_timeout_s:.0f} s"
            )
        self.waited_s += time.monotonic() - t0

    def _throttle(self) -> None:
        if not self.max_rate:
            return
        now = time.monotonic()
        self._tokens = min(
            self.max_rate / 10 + 1, self._tokens + (now - self._last_refill) * self.max_rate
        )
        self._last_refill = now
        if self._tokens < 1.0:
            time.sleep((1.0 - self._tokens) / self.max_rate)
            self._tokens = 1.0
            self._last_refill = time.monotonic()
        self._tokens -= 1.0

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        """Send one message, waiting for the broker and the rate limit as needed."""
        self._throttle()
        while True:
            self._wait_connected()
            info = self.client.publish(topic, payload, qos=qos, retain=retain)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                break
            if info.rc != mqtt.MQTT_ERR_NO_CONN:
                raise BrokerError(f"publishing to {topic!r} on {self.cfg.label} failed: {info.rc}")
            self._connected.clear()
            if qos > 0:  # paho keeps QoS>0 messages and sends them after the reconnect
                break
        self.sent += 1
        self._inflight.append((info, qos, self.reconnects))
        while len(self._inflight) > WINDOW:
            self._settle(*self._inflight.popleft())

    def _settle(
        self, info: mqtt.MQTTMessageInfo, qos: int, generation: int, timeout_s: float = 10.0
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if info.is_published():
                    return
            except RuntimeError:
                return  # paho gave the message up with the connection
            if qos == 0 and (not self._connected.is_set() or self.reconnects != generation):
                return  # lost with the connection; QoS 0 is not retried
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(0.05)
        self.unconfirmed += 1

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until every message handed over has gone out (QoS 1: acknowledged)."""
        deadline = time.monotonic() + timeout_s
        while self._inflight and time.monotonic() < deadline:
            self._settle(*self._inflight.popleft(), max(0.1, deadline - time.monotonic()))

    def close(self) -> None:
        """Flush, disconnect and stop the network thread."""
        try:
            self.flush()
        finally:
            self.client.disconnect()
            self.client.loop_stop()

    def drop_connection(self) -> None:
        """Break the TCP connection without a DISCONNECT (paho then reconnects by itself)."""
        sock = self.client.socket()
        if sock is not None:
            sock.close()
