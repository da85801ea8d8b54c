"""The clock_reset fault: a Zigbee2MQTT host booted at 1970 stamps last_seen from the epoch."""

from __future__ import annotations

import json

from device_sim.faults import Fault, FaultInjector, Outgoing

T0 = 1_764_000_000.0


def test_last_seen_counts_from_1970_for_the_faulted_device_only() -> None:
    faults = [Fault("clock_reset", at=T0, device_id="sos")]
    inj = FaultInjector(faults, {"sos": "h1", "pir": "h1"}, seed=1)
    sos = Outgoing(T0 + 7, "zigbee2mqtt/sos", b'{"action":"emergency","last_seen":1}', 1, "sos")
    pir = Outgoing(T0 + 7, "zigbee2mqtt/pir", b'{"occupancy":true,"last_seen":1}', 1, "pir")
    early = Outgoing(T0 - 1, "zigbee2mqtt/sos", b'{"action":"single","last_seen":5}', 1, "sos")
    [faulted] = inj.process(sos)
    assert json.loads(faulted.payload) == {"action": "emergency", "last_seen": 7000}
    assert inj.process(pir) == [pir] and inj.process(early) == [early]
    assert [t.event for t in inj.truth] == ["fault_clock_reset"]
    raw = Outgoing(T0 + 8, "esphome/sos", b"\x00\x01", 1, "sos")
    assert inj.process(raw) == [raw]  # a payload without last_seen is left alone
