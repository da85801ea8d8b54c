"""Gateway figures: throughput beside a bare aiomqtt subscriber, alarm latency, memory.

1. Throughput, one core: the same N sensor messages (a home's PIRs, door and wristband,
   from the device library's encoders) are queued by the broker (QoS 1, persistent
   session), then drained once by a bare aiomqtt subscriber and once by an in-process
   gateway (ingest → decode → detect, real detectors), so neither waits for a publisher.
   Rates and their ratio are printed (target: gateway ≥ 0.5 × bare).
2. Latency: a gateway process (`carewatch-gateway run`) gets SOS presses amid background
   chatter; each alarm's commit time in the outbox minus the press's publish time gives
   p50 / p99 (target: p99 < 50 ms).
3. Memory: resident set (VmRSS, VmHWM) of that gateway process (target: < 150 MB).

Run: python bench/edge_throughput.py [--messages N] [--presses M]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import numpy as np
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge.app import Gateway  # noqa: E402
from edge.config import GatewayConfig  # noqa: E402
from edge.health import rss_mb  # noqa: E402
from edge.ingest import NO_DELAY  # noqa: E402
from firmware_profiles import load_library  # noqa: E402
from protocol import load_home  # noqa: E402
from testbed import MosquittoServer  # noqa: E402

HOME = REPO / "device_sim" / "homes" / "flat_li.yaml"
CORE_GATEWAY, CORE_PUBLISHER = 0, 1


class DeployedMosquitto(MosquittoServer):
    """The testbed broker with deploy/mosquitto/carewatch.conf's latency setting."""

    def _write_config(self) -> Path:
        conf = super()._write_config()
        conf.write_text(conf.read_text() + "set_tcp_nodelay true\n")
        return conf


TIMESTAMPS = (
    "device times: current (the last message stamped at workload build, 0.1 s apart), as"
    " Zigbee2MQTT stamps last_seen with the host clock; no reading is re-stamped"
)


def workload(n: int) -> list[tuple[str, bytes]]:
    """N realistic scalar messages of the home, in event-time order (0.1 s apart), the last
    stamped now: the normal path, not the implausible-device-time one (edge.timecheck)."""
    t0 = time.time() - n * 0.1
    lib = load_library()
    home = load_home(HOME)
    out = []
    devices = [d for d in home.devices if d.profile != "aqara-wxkg11lm"]
    for i in range(n):
        dev = devices[i % len(devices)]
        prof = lib.get(dev.profile)
        ts = t0 + i * 0.1
        kinds = {k.value for k in prof.kinds}
        values: dict[str, object] = {"battery": 80 - (i % 7)}
        if "motion" in kinds:
            values["motion"] = i % 3 == 0
        if "door_open" in kinds:
            values["door_open"] = i % 2 == 0
        if "heart_rate" in kinds:
            values.update(heart_rate=70 + i % 9, spo2=97, worn=True)
        out.append(prof.encode(dev.device_id, values, ts=ts))
    return out


# The latency run's SOS button: a model with a cancel key (the TS0215A's `disarm`; on the
# Aqara WXKG11LM every press type is an SOS), so each press is a new alarm.
SOS_PROFILE = "tuya-ts0215a"


def latency_home(directory: Path) -> Path:
    """The bench home with its SOS button as the SOS_PROFILE model."""
    path = directory / "home.yaml"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(HOME.read_text().replace("profile: aqara-wxkg11lm", f"profile: {SOS_PROFILE}"))
    return path


def sos(ts: float, cancel: bool) -> tuple[str, bytes]:
    prof = load_library().get(SOS_PROFILE)
    return prof.encode("li-sos-button", {"cancel" if cancel else "sos": True}, ts=ts)


def preload(port: int, msgs: list[tuple[str, bytes]]) -> None:
    """Publish every message at QoS 1 (the broker queues them for the offline session)."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in msgs]
    for info in infos:
        info.wait_for_publish(timeout=60)
    client.loop_stop()
    client.disconnect()


FILTERS = ["zigbee2mqtt/+", "carewatch/vitawear/+/telemetry"]


def bare_client(port: int, ident: str, *, v5: bool) -> aiomqtt.Client:
    """A bare subscriber's client: MQTT 3.1.1, or MQTT 5 with the gateway's persistent session
    (clean start off, session expiry set), whose per-message properties paho decodes."""
    if not v5:
        return aiomqtt.Client("127.0.0.1", port, identifier=ident, clean_session=False)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    return aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier=ident,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=properties,
    )


async def bare_rate(
    port: int, msgs: list[tuple[str, bytes]], *, v5: bool = False
) -> tuple[float, int]:
    """Messages per second of a bare aiomqtt subscriber draining its session; (rate, got)."""
    ident = f"bare-{uuid.uuid4().hex[:6]}"
    async with bare_client(port, ident, v5=v5) as c:
        for topic_filter in FILTERS:
            await c.subscribe(topic_filter, qos=1)
    await asyncio.to_thread(preload, port, msgs)
    got, first, last = 0, 0.0, 0.0
    async with bare_client(port, ident, v5=v5) as c:
        while got < len(msgs):
            try:
                await asyncio.wait_for(anext(c.messages), timeout=5.0)
            except TimeoutError:
                break
            last = time.perf_counter()
            if got == 0:
                first = last
            got += 1
    return (got - 1) / max(last - first, 1e-9), got


async def gateway_rate(
    mosq: MosquittoServer, msgs: list[tuple[str, bytes]], data: Path
) -> tuple[float, int, int]:
    """Messages per second through ingest, decode and detect, draining the gateway's session
    (real detectors); (rate, messages, readings)."""
    cfg = GatewayConfig.model_validate(
        {
            "home": HOME,
            "data_dir": data,
            "broker": {"url": mosq.url, "client_id": f"bench-{uuid.uuid4().hex[:6]}"},
            "clock": {"source": "sim"},
        }
    )
    gw = Gateway(cfg)  # once, so that the broker holds its session and subscriptions
    task = asyncio.create_task(gw.run())
    await wait_for(lambda: gw.ingest.connected)
    gw.stop()
    await task
    await asyncio.to_thread(preload, mosq.port, msgs)
    gw = Gateway(cfg)
    c = gw.stages.counters
    task = asyncio.create_task(gw.run())
    await wait_for(lambda: c.messages > 0, step=0.0005)
    first = time.perf_counter()
    await wait_for(lambda: c.messages >= len(msgs), step=0.005)
    await asyncio.wait_for(gw.queues.readings.join(), 60)
    elapsed = time.perf_counter() - first
    messages, readings = c.messages, c.readings
    gw.stop()
    await task
    return messages / elapsed, messages, readings


async def wait_for(check: Callable[[], bool], *, step: float = 0.01, limit_s: float = 60) -> None:
    """Poll until ``check()`` holds; fail after ``limit_s``."""
    for _ in range(int(limit_s / step)):
        if check():
            return
        await asyncio.sleep(step)
    raise TimeoutError(f"bench: condition not met within {limit_s}s")


async def latency_and_memory(mosq: MosquittoServer, presses: int, data: Path) -> dict[str, float]:
    """A gateway process gets SOS presses amid chatter; commit minus publish time."""
    proc = await asyncio.create_subprocess_exec(
        *(
            "carewatch-gateway",
            "run",
            "--home",
            str(latency_home(data.parent)),
            "--broker",
            mosq.url,
        ),
        *("--data-dir", str(data), "--log-level", "WARNING"),
        preexec_fn=lambda: os.sched_setaffinity(0, {CORE_GATEWAY}),
    )
    published: dict[int, float] = {}
    chatter = workload(presses * 10)
    try:
        await asyncio.sleep(4.0)  # start-up: imports, detectors, subscribe
        async with aiomqtt.Client("127.0.0.1", mosq.port, socket_options=[NO_DELAY]) as client:
            for i in range(presses):
                for topic, payload in chatter[i * 10 : i * 10 + 10]:
                    await client.publish(topic, payload, qos=0)
                ts = round(time.time(), 3)  # now: a device time the gateway accepts as is
                topic, payload = sos(ts, cancel=False)
                published[round(ts * 1000)] = time.time()
                await client.publish(topic, payload, qos=1)
                await asyncio.sleep(0.05)
                topic, payload = sos(ts + 0.5, cancel=True)
                await client.publish(topic, payload, qos=1)
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        rss, hwm = rss_mb(proc.pid), _hwm(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
    db = sqlite3.connect(data / "outbox.sqlite3")
    rows = db.execute("SELECT body, created_at FROM alarms WHERE kind = 'sos'").fetchall()
    db.close()
    lat = []
    for body, created in rows:
        raised = json.loads(body)["raised_at"]
        key = round(_epoch(raised) * 1000)
        if key in published:
            lat.append((created - published[key]) * 1000)
    arr = np.array(lat)
    print("slowest five (ms):", ", ".join(f"{x:.1f}" for x in sorted(lat)[-5:]))
    print("in publish order (ms):", " ".join(f"{x:.0f}" for x in lat[:20]), "...")
    return {
        "alarms": float(len(lat)),
        "p50_ms": float(np.percentile(arr, 50)) if len(arr) else float("nan"),
        "p99_ms": float(np.percentile(arr, 99)) if len(arr) else float("nan"),
        "rss_mb": rss or float("nan"),
        "hwm_mb": hwm or float("nan"),
    }


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def _hwm(pid: int) -> float | None:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return None


async def main(n: int, presses: int) -> None:
    with DeployedMosquitto() as mosq, tempfile.TemporaryDirectory() as tmp:
        os.sched_setaffinity(0, {CORE_GATEWAY})
        msgs = workload(n)
        print(TIMESTAMPS)
        bare, got = await bare_rate(mosq.port, msgs)
        print(f"bare aiomqtt subscriber (MQTT 3.1.1): {bare:,.0f} msg/s ({got}/{n} received)")
        bare5, got5 = await bare_rate(mosq.port, msgs, v5=True)
        print(
            f"bare aiomqtt subscriber (MQTT 5, the gateway's session): {bare5:,.0f} msg/s"
            f" ({got5}/{n} received)"
        )
        rate, count, readings = await gateway_rate(mosq, msgs, Path(tmp) / "a")
        print(
            f"gateway ingest+decode+detect: {rate:,.0f} msg/s, {readings / count * rate:,.0f}"
            f" readings/s ({count}/{n} messages, {readings} readings)"
        )
        print(f"ratio gateway/bare (MQTT 3.1.1): {rate / bare:.2f} (target >= 0.5)")
        print(f"ratio gateway/bare (MQTT 5, same session): {rate / bare5:.2f}")
        os.sched_setaffinity(0, {CORE_PUBLISHER})
        fig = await latency_and_memory(mosq, presses, Path(tmp) / "b")
        print(
            f"message -> alarm committed: p50 {fig['p50_ms']:.1f} ms, p99 {fig['p99_ms']:.1f} ms"
            f" over {fig['alarms']:.0f} SOS alarms (target p99 < 50 ms)"
        )
        print(
            f"gateway process memory: RSS {fig['rss_mb']:.0f} MB, peak {fig['hwm_mb']:.0f} MB"
            " (target < 150 MB)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000, help="throughput messages")
    parser.add_argument("--presses", type=int, default=100, help="SOS presses for latency")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.presses))
