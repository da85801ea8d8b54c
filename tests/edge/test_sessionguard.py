"""The session guard's rules, message by message (the broker runs in test_session.py)."""

from __future__ import annotations

import json

import pytest
from aiomqtt import MqttCodeError, MqttError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edge.sessionguard import DuplicateClientError, SessionGuard


def other(pid: int = 4242) -> bytes:
    return json.dumps({"token": f"t{pid}", "host": "pi", "pid": pid, "started": 0}).encode()


def test_the_first_connection_takes_the_last_holders_token_for_a_previous_run() -> None:
    guard = SessionGuard("gw-1", limit=2)
    guard.connected()
    guard.message(other())  # retained from the run before this one
    guard.message(guard.announcement())
    assert guard.takeovers == 0 and not guard.contested


def test_a_foreign_token_on_a_reconnect_is_a_take_over_and_the_limit_stops() -> None:
    guard = SessionGuard("gw-1", limit=2)
    guard.connected()
    guard.message(guard.announcement())
    guard.connected()  # we were kicked; someone else announced meanwhile
    guard.message(other())
    guard.message(other())  # the same connection counts once
    assert guard.takeovers == 1 and guard.contested
    guard.connected()
    with pytest.raises(DuplicateClientError, match=r"'gw-1'.*pid 4242 on host pi"):
        guard.message(other())


def test_a_foreign_token_after_our_own_on_the_first_connection_counts() -> None:
    guard = SessionGuard("gw-1", limit=5)
    guard.connected()
    guard.message(guard.announcement())
    guard.message(other())
    assert guard.takeovers == 1


def test_reason_142_counts_and_other_disconnects_do_not() -> None:
    guard = SessionGuard("gw-1", limit=5)
    guard.connected()
    lost = MqttError("Disconnected during message iteration")
    lost.__cause__ = MqttCodeError(ReasonCode(PacketTypes.DISCONNECT, identifier=128), "x")
    guard.disconnected(lost)
    assert guard.takeovers == 0
    guard.connected()
    taken = MqttError("Disconnected during message iteration")
    taken.__cause__ = MqttCodeError(ReasonCode(PacketTypes.DISCONNECT, identifier=142), "x")
    guard.disconnected(taken)
    assert guard.takeovers == 1


def test_something_else_on_the_instance_topic_is_ignored() -> None:
    guard = SessionGuard("gw-1", limit=1)
    guard.connected()
    guard.connected()
    guard.message(b"not json")
    guard.message(b'{"token": 1}')
    assert guard.takeovers == 0
