"""One process per MQTT client id: a second gateway taking the broker session over (an
installer's foreground ``run`` beside the service) is detected and named.

Mosquitto closes the older of two connections with one client id (MQTT 5 brokers may say
so with reason code 142, Mosquitto 2.0.11 does not), so two gateways would silently kick
each other in a reconnect loop. Each connection therefore subscribes to its retained
instance topic, then publishes its own token there: on a reconnect, a retained token that
is not this process's means another client held the session in between.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

from protocol.topics import GATEWAY_INSTANCE_TOPIC

log = logging.getLogger(__name__)

SESSION_TAKEN_OVER = 142  # MQTT 5 DISCONNECT reason code
QUIET_S = 600.0  # a connection that lasted this long clears the take-over count


class DuplicateClientError(RuntimeError):
    """Another client keeps connecting with the gateway's client id."""


@dataclass(frozen=True, slots=True)
class Instance:
    """Who announced itself on the instance topic."""

    token: str
    host: str
    pid: int
    started: float

    def describe(self) -> str:
        """``pid 123 on host pi``."""
        return f"pid {self.pid} on host {self.host}"


def parse_instance(payload: bytes) -> Instance | None:
    """An instance announcement, or None if the payload is not one."""
    try:
        data = json.loads(payload)
        return Instance(str(data["token"]), str(data["host"]), int(data["pid"]), data["started"])
    except (ValueError, KeyError, TypeError):
        return None


def taken_over_code(exc: BaseException) -> bool:
    """Whether a disconnect error (or its cause) carries reason code 142."""
    while exc is not None:
        rc = getattr(exc, "rc", None)
        if rc is not None and getattr(rc, "value", rc) == SESSION_TAKEN_OVER:
            return True
        exc = exc.__cause__  # type: ignore[assignment]
    return False


class SessionGuard:
    """Counts take-overs of one client id's session and raises when they repeat."""

    def __init__(self, client_id: str, *, limit: int) -> None:
        self.client_id = client_id
        self.topic = GATEWAY_INSTANCE_TOPIC.format(client_id=client_id)
        self.limit = limit
        self.me = Instance(uuid.uuid4().hex, socket.gethostname(), os.getpid(), time.time())
        self.takeovers = 0
        self.connections = 0
        self._connected_at = 0.0
        self._seen_own = False
        self._counted = False

    def announcement(self) -> bytes:
        """This process's instance payload."""
        m = self.me
        return json.dumps(
            {"token": m.token, "host": m.host, "pid": m.pid, "started": m.started}
        ).encode()

    def connected(self) -> None:
        """A new connection is up (before subscribing to the instance topic)."""
        self.connections += 1
        self._connected_at = time.monotonic()
        self._seen_own = False
        self._counted = False

    def message(self, payload: bytes) -> None:
        """An instance announcement arrived; raises DuplicateClientError at the limit."""
        other = parse_instance(payload)
        if other is None or other.token == self.me.token:
            self._seen_own = self._seen_own or other is not None
            return
        if self.connections == 1 and not self._seen_own:
            log.info(
                "broker session last held by %s client_id=%s", other.describe(), self.client_id
            )
            return
        self._taken_over(f"another client announced itself: {other.describe()}")

    def disconnected(self, exc: BaseException) -> None:
        """The connection ended with ``exc``; raises DuplicateClientError at the limit."""
        lasted = time.monotonic() - self._connected_at
        if taken_over_code(exc):
            self._taken_over("the broker said the session was taken over (reason 142)")
        elif lasted >= QUIET_S:
            self.takeovers = 0

    @property
    def contested(self) -> bool:
        """Whether a take-over has been seen since the last quiet connection."""
        return self.takeovers > 0

    def _taken_over(self, how: str) -> None:
        if self._counted:
            return
        self._counted = True
        self.takeovers += 1
        text = (
            f"MQTT client id {self.client_id!r} is used by another client at the same time "
            f"({how}); each connection closes the other's. Stop the other gateway (e.g. "
            f"`sudo systemctl stop carewatch-gateway` before running one in a terminal), or "
            f"give one of them its own broker.client_id"
        )
        if self.takeovers >= self.limit:
            raise DuplicateClientError(f"{text} [{self.takeovers} take-overs: stopping]")
        log.error("%s [take-over %d of %d before stopping]", text, self.takeovers, self.limit)
