"""The private real servers start, answer and stop."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import paho.mqtt.client as mqtt
import pytest

from testbed import InfluxServer, MosquittoServer

pytestmark = pytest.mark.services


def test_mosquitto_round_trip(mosquitto: MosquittoServer) -> None:
    got: list[bytes] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: got.append(m.payload)
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("t/#", qos=1)
    sub.loop_start()
    try:
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        for _ in range(50):
            pub.publish("t/x", b"hello", qos=1).wait_for_publish(2)
            if got:
                break
        pub.loop_stop()
        pub.disconnect()
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert got and got[0] == b"hello"


def test_influx_write_and_query(influx: InfluxServer) -> None:
    q = urllib.parse.urlencode({"q": "CREATE DATABASE t"})
    urllib.request.urlopen(urllib.request.Request(f"{influx.url}/query?{q}", method="POST"))
    body = b"m,host=a v=1i 1700000000000000000"
    req = urllib.request.Request(f"{influx.url}/write?db=t", data=body, method="POST")
    assert urllib.request.urlopen(req).status == 204
    q = urllib.parse.urlencode({"db": "t", "q": "SELECT v FROM m"})
    data = json.load(urllib.request.urlopen(f"{influx.url}/query?{q}"))
    assert data["results"][0]["series"][0]["values"][0][1] == 1
