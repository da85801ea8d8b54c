"""The bridge end to end: a band behind bleak's backend interface, the real bridge, real
Mosquitto, and the carewatch profile decoding what arrives."""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiomqtt
import numpy as np
import pytest

from edge.ble import polar_pmd as pmd
from edge.ble.bridge import BleBridge
from edge.ble.config import BleBridgeConfig
from edge.ble.heart_rate import BATTERY_LEVEL, HEART_RATE_MEASUREMENT
from firmware_profiles import load_library
from protocol import Reading, ReadingKind
from testbed import MosquittoServer
from tests.edge.ble import pmd_frames as f
from tests.edge.ble.fake_band import Band
from tests.edge.conftest import wait_until

pytestmark = pytest.mark.services

ADDRESS = "A0:9E:1A:12:34:56"
LIBRARY = load_library()
VERITY_ACC = {0: [52], 1: [16], 2: [8], 4: [3]}  # what a Verity Sense offers for ACC


@dataclass
class Inbox:
    """Everything published under carewatch/ble/#."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)

    def readings(self, profile: str) -> list[Reading]:
        prof = LIBRARY.get(profile)
        return [r for t, p in self.messages for r in prof.decode(t, p, received_at=0.0)]

    def kinds(self, profile: str) -> list[ReadingKind]:
        return [r.kind for r in self.readings(profile)]


@contextlib.asynccontextmanager
async def inbox(broker: MosquittoServer) -> AsyncIterator[Inbox]:
    box = Inbox()
    ready = asyncio.Event()

    async def listen() -> None:
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.subscribe("carewatch/ble/#", qos=1)
            ready.set()
            async for msg in client.messages:
                assert isinstance(msg.payload, bytes)
                box.messages.append((msg.topic.value, msg.payload))

    task = asyncio.create_task(listen())
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield box
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def config(broker: MosquittoServer, profile: str, device_id: str = "li-band") -> BleBridgeConfig:
    return BleBridgeConfig.model_validate(
        {
            "broker": {
                "url": broker.url,
                "client_id": f"ble-test-{uuid.uuid4().hex[:8]}",
                "reconnect_min_s": 0.05,
                "reconnect_max_s": 0.2,
            },
            "bluetooth": {
                "reconnect_min_s": 0.02,
                "reconnect_max_s": 0.1,
                "response_timeout_s": 5.0,
            },
            "devices": [{"address": ADDRESS, "device_id": device_id, "profile": profile}],
        }
    )


@contextlib.asynccontextmanager
async def running(bridge: BleBridge) -> AsyncIterator[BleBridge]:
    task = asyncio.create_task(bridge.run())
    try:
        yield bridge
    finally:
        bridge.stop()
        await asyncio.wait_for(task, 10)


def hrm(flags: int, rate: int, rr: tuple[int, ...] = ()) -> bytes:
    return bytes([flags, rate]) + struct.pack(f"<{len(rr)}H", *rr)


async def test_heart_rate_band_reaches_the_broker_as_the_profile_decodes(
    mosquitto: MosquittoServer,
) -> None:
    band = Band(battery=87)
    bridge = BleBridge(config(mosquitto, "ble-heart-rate"), client_factory=band.factory())
    link = bridge.links[0]
    async with inbox(mosquitto) as box, running(bridge):
        await asyncio.wait_for(link.streaming.wait(), 10)
        band.notify(HEART_RATE_MEASUREMENT, hrm(0x16, 72, rr=(832, 850)))
        band.notify(HEART_RATE_MEASUREMENT, bytes([0x10, 75, 0x40]))  # RR cut in half
        band.notify(HEART_RATE_MEASUREMENT, hrm(0x04, 0))  # strap off the skin
        band.notify(BATTERY_LEVEL, b"\x56")
        band.notify(HEART_RATE_MEASUREMENT, hrm(0x06, 78))
        await wait_until(lambda: len(box.messages) == 5, what="five messages")
    assert {t for t, _ in box.messages} == {"carewatch/ble/li-band/telemetry"}
    values = [(r.kind, r.value) for r in box.readings("ble-heart-rate")]
    assert values == [
        (ReadingKind.BATTERY, 87),  # read at connect
        (ReadingKind.HEART_RATE, 72),
        (ReadingKind.WORN, True),
        (ReadingKind.WORN, False),
        (ReadingKind.BATTERY, 86),
        (ReadingKind.HEART_RATE, 78),
        (ReadingKind.WORN, True),
    ]
    assert json.loads(box.messages[1][1])["rr_ms"] == [812.5, 830.078125]
    assert link.stats.invalid == 1  # the cut frame: logged and counted, nothing else lost


async def test_polar_acc_stream_is_negotiated_and_decoded_at_the_profile_rate(
    mosquitto: MosquittoServer,
) -> None:
    band = Band(acc_settings=VERITY_ACC, factor=0.244140625)
    t = [1_800_000_000.0]
    bridge = BleBridge(
        config(mosquitto, "polar-verity-sense", "li-arm"),
        client_factory=band.factory(),
        clock=lambda: t[0],
    )
    link = bridge.links[0]
    ref, deltas = [4, -8, 4096], [[1, -2, 3]] * 35
    async with inbox(mosquitto) as box, running(bridge):
        await asyncio.wait_for(link.streaming.wait(), 10)
        # the first frame's last sample is "now"; the next one 36 samples later
        for k in range(2):
            t[0] += 36 / 52
            ns = 700_000_000_000_000_000 + k * round(36 / 52 * 1e9)
            band.notify(pmd.PMD_DATA, f.delta_acc(ref, [(3, deltas)], sensor_ns=ns))
        band.notify(pmd.PMD_DATA, f.raw_acc([[1, 2, 3]], sensor_ns=1)[:-1])  # cut short
        await wait_until(lambda: len(box.messages) == 3, what="battery and two ACC frames")
    assert band.commands == [
        bytes([0x01, 0x02]),
        bytes([0x02, 0x02, 0x00, 0x01, 52, 0, 0x01, 0x01, 16, 0, 0x02, 0x01, 8, 0, 0x04, 0x01, 3]),
    ]
    blocks = [r for r in box.readings("polar-verity-sense") if r.kind == ReadingKind.ACCEL]
    expected = np.cumsum([ref, *deltas], axis=0) * 0.244140625 / 1000
    assert len(blocks) == 2
    for block in blocks:
        assert block.rate_hz == 52 and block.samples is not None
        np.testing.assert_allclose(block.samples, expected, atol=0.0005)  # int16 mg on the wire
    # contiguous: the second block starts one sample after the first ends
    assert blocks[1].ts - blocks[0].end_ts == pytest.approx(1 / 52, abs=0.002)
    assert blocks[1].end_ts == pytest.approx(t[0], abs=0.002)
    assert link.stats.invalid == 1


async def test_a_rate_the_sensor_does_not_offer_is_named_and_retried(
    mosquitto: MosquittoServer,
) -> None:
    band = Band(acc_settings={0: [25, 100, 200], 1: [16], 2: [2, 4, 8]})  # no 50 Hz
    bridge = BleBridge(config(mosquitto, "polar-h10", "li-chest"), client_factory=band.factory())
    link = bridge.links[0]
    async with running(bridge):
        await wait_until(lambda: band.connects >= 2, what="a second attempt")
    assert "sample rate 50 Hz not offered (offers 25, 100, 200 Hz)" in link.stats.last_error
    assert ADDRESS in link.stats.last_error


async def test_lost_band_and_lost_broker_are_both_reconnected() -> None:
    band = Band(battery=90, refuse_connects=2)  # out of range at first
    with MosquittoServer() as broker:
        bridge = BleBridge(config(broker, "ble-heart-rate"), client_factory=band.factory())
        link = bridge.links[0]
        async with running(bridge):
            await asyncio.wait_for(link.streaming.wait(), 10)
            band.drop()
            await wait_until(
                lambda: band.connects == 2 and link.streaming.is_set(), what="the band back"
            )
            await wait_until(lambda: bridge.publisher.published == 2, what="two battery reads")
            broker.kill()
            await wait_until(lambda: not bridge.publisher.connected, what="broker gone")
            band.notify(HEART_RATE_MEASUREMENT, hrm(0x00, 66))  # held while the broker is down
            assert bridge.publisher.pending == 1
            broker.start()
            async with inbox(broker) as box:
                await wait_until(lambda: bridge.publisher.pending == 0, what="backlog sent")
                band.notify(HEART_RATE_MEASUREMENT, hrm(0x00, 67))
                await wait_until(lambda: len(box.messages) >= 1, what="live message")
    assert bridge.publisher.published == 4 and bridge.publisher.dropped == 0
    assert link.stats.connects == 2


async def test_a_stream_left_running_is_restarted_and_a_stop_from_the_sensor_reconnects(
    mosquitto: MosquittoServer,
) -> None:
    band = Band(acc_settings={0: [25, 50, 100, 200], 1: [16], 2: [2, 4, 8]}, acc_running=True)
    bridge = BleBridge(config(mosquitto, "polar-h10", "li-chest"), client_factory=band.factory())
    link = bridge.links[0]
    async with inbox(mosquitto) as box, running(bridge):
        await asyncio.wait_for(link.streaming.wait(), 10)
        start = bytes([0x02, 0x02, 0x00, 0x01, 50, 0, 0x01, 0x01, 16, 0, 0x02, 0x01, 8, 0])
        assert band.commands == [bytes([0x01, 0x02]), start, bytes([0x03, 0x02]), start]
        h10 = [[-31, 12, 1003], [-29, 15, 998], [-40, 2, 1010]]  # uncompressed int16 mg
        band.notify(pmd.PMD_DATA, f.raw_acc(h10, sensor_ns=599_616_023_171_427_290))
        await wait_until(lambda: len(box.messages) == 2, what="battery and the frame")
        [block] = [r for r in box.readings("polar-h10") if r.kind == ReadingKind.ACCEL]
        assert block.rate_hz == 50 and block.samples is not None
        np.testing.assert_allclose(block.samples, np.array(h10) / 1000)
        band.acc_running = False
        band.notify(pmd.PMD_CONTROL, bytes([0x01, 0x02]))  # the sensor stopped ACC itself
        await wait_until(
            lambda: band.connects == 2 and link.streaming.is_set(),
            what="reconnected and streaming again",
        )


async def test_an_unreadable_battery_does_not_stop_the_heart_rate(
    mosquitto: MosquittoServer,
) -> None:
    band = Band(battery_readable=False)
    bridge = BleBridge(config(mosquitto, "ble-heart-rate"), client_factory=band.factory())
    link = bridge.links[0]
    async with inbox(mosquitto) as box, running(bridge):
        await asyncio.wait_for(link.streaming.wait(), 10)
        band.notify(HEART_RATE_MEASUREMENT, hrm(0x00, 64))
        await wait_until(lambda: len(box.messages) == 1, what="the heart rate")
    assert box.kinds("ble-heart-rate") == [ReadingKind.HEART_RATE]
    assert band.connects == 1
