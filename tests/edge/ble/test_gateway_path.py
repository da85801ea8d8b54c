"""A Polar Verity Sense's fall, all the way: PMD frames through bleak's backend interface, the
bridge logged in with the ACL `broker-auth` writes, Mosquitto, a running gateway, its fall
detector, an alarm in the outbox."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from device_sim.accel import fall
from edge.app import Gateway
from edge.ble import polar_pmd as pmd
from edge.ble.bridge import BleBridge
from edge.ble.config import BLE_USER, BleBridgeConfig
from edge.ble.heart_rate import HEART_RATE_MEASUREMENT
from edge.brokerauth import GATEWAY_USER, broker_auth, read_passwords, write_auth
from firmware_profiles import load_library
from protocol import AlarmKind, load_home
from tests.edge.ble import pmd_frames as f
from tests.edge.ble.fake_band import Band
from tests.edge.conftest import gateway_config, wait_until
from tests.edge.test_deploy import AclMosquitto

pytestmark = pytest.mark.services

RATE = 52.0
FACTOR = 0.244140625  # mg per count, as a Verity Sense's start response gives it
HOME = """\
home_id: home-b1
gateway_id: gw-b1
coordinates: {lat: 31.23, lon: 121.47}
resident: {first_name: Mei}
devices:
  - {device_id: li-arm, profile: polar-verity-sense, room: bedroom, worn_by: resident}
"""


def frames(samples_g: np.ndarray, t_last0: float, per_frame: int = 36) -> list[tuple[float, bytes]]:
    """Compressed PMD ACC frames of the samples, with the arrival time of each."""
    counts = np.rint(samples_g * 1000 / FACTOR).astype(np.int64)
    out = []
    for i in range(0, len(counts) - per_frame + 1, per_frame):
        chunk = counts[i : i + per_frame]
        deltas = np.diff(chunk, axis=0)
        width = int(np.max(np.abs(deltas))).bit_length() + 1
        t_last = t_last0 + (i + per_frame - 1) / RATE
        ns = round((t_last - f.EPOCH_2000) * 1e9)
        frame = f.delta_acc(chunk[0].tolist(), [(width, deltas.tolist())], sensor_ns=ns)
        out.append((t_last + 0.03, frame))  # delivered 30 ms after the last sample
    return out


async def test_a_fall_on_a_polar_band_raises_a_fall_alarm_on_the_gateway(tmp_path: Path) -> None:
    home_file = tmp_path / "home.yaml"
    home_file.write_text(HOME)
    auth = broker_auth(load_home(home_file), load_library())
    assert BLE_USER in auth.users and "topic write carewatch/ble/li-arm/telemetry" in auth.acl
    acl, passwd = write_auth(auth, tmp_path / "auth")
    passwords = read_passwords(passwd)
    samples, impact_s = fall(RATE, "wrist", np.random.default_rng(3), post_s=8.0)
    t0 = time.time() - 30.0  # the recording ends before "now": the gateway's timers are past it
    script = frames(samples, t0)
    clock = [t0]
    band = Band(acc_settings={0: [52], 1: [16], 2: [8], 4: [3]}, factor=FACTOR)
    with AclMosquitto(passwords, acl) as broker:
        cfg = gateway_config(home_file, tmp_path / "data", broker.url, None, None)
        cfg.broker.username, cfg.broker.client_id = GATEWAY_USER, f"gw-{uuid.uuid4().hex[:8]}"
        cfg.broker.password = SecretStr(passwords[GATEWAY_USER])
        gateway = Gateway(cfg)
        bridge = BleBridge(
            BleBridgeConfig.model_validate(
                {
                    "broker": {
                        "url": broker.url,
                        "username": BLE_USER,
                        "password": passwords[BLE_USER],
                    },
                    "devices": [
                        {
                            "address": "A0:9E:1A:00:00:01",
                            "device_id": "li-arm",
                            "profile": "polar-verity-sense",
                        }
                    ],
                }
            ),
            client_factory=band.factory(),
            clock=lambda: clock[0],
        )
        gw_task = asyncio.create_task(gateway.run())
        br_task = asyncio.create_task(bridge.run())
        try:
            await asyncio.wait_for(gateway.ready.wait(), 10)
            await asyncio.wait_for(bridge.links[0].streaming.wait(), 10)
            band.notify(HEART_RATE_MEASUREMENT, bytes([0x06, 71]))
            for arrival, frame in script:
                clock[0] = arrival
                band.notify(pmd.PMD_DATA, frame)
            sent = len(script) + 2  # the frames, one heart rate, the battery read at connect
            await wait_until(
                lambda: bridge.publisher.published == sent, what="every frame on the broker"
            )

            def falls() -> list[float]:
                return [
                    o.alarm.raised_at.timestamp()
                    for o in gateway.outbox.open_alarms()
                    if o.alarm.kind == AlarmKind.FALL
                ]

            await wait_until(lambda: bool(falls()), what="a fall alarm", limit_s=30)
            raised = falls()
        finally:
            bridge.stop()
            gateway.stop()
            await asyncio.wait_for(asyncio.gather(gw_task, br_task), 20)
    assert bridge.links[0].stats.invalid == 0
    # the alarm's time is the impact's, on the band's clock mapped to the gateway's
    # (the peak comes within 0.35 s of the impact start; frames arrive 30 ms after their last
    # sample; a block stamped at its arrival rather than its first sample would be 0.7 s late)
    assert len(raised) == 1 and 0 <= raised[0] - (t0 + impact_s) < 0.4
