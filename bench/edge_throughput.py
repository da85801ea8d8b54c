"""Gateway figures: throughput beside a bare aiomqtt subscriber, alarm latency, memory.

1. Throughput, one core: the same N sensor messages (a home's PIRs, door and wristband,
   from the device library's encoders) are published by a separate process, first to a
   bare aiomqtt subscriber, then to an in-process gateway (ingest → decode → detect, real
   detectors). Rates and their ratio are printed (target: gateway ≥ 0.5 × bare).
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
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiomqtt
import numpy as np
import paho.mqtt.client as paho

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge.app import Gateway  # noqa: E402
from edge.config import GatewayConfig  # noqa: E402
from edge.health import rss_mb  # noqa: E402
from firmware_profiles import load_library  # noqa: E402
from protocol import load_home  # noqa: E402
from testbed import MosquittoServer  # noqa: E402

HOME = REPO / "device_sim" / "homes" / "flat_li.yaml"
T0 = 1_763_964_000.0
CORE_GATEWAY, CORE_PUBLISHER = 0, 1


def workload(n: int) -> list[tuple[str, bytes]]:
    """N realistic scalar messages of the home, in event-time order (0.1 s apart)."""
    lib = load_library()
    home = load_home(HOME)
    out = []
    devices = [d for d in home.devices if d.profile != "aqara-wxkg11lm"]
    for i in range(n):
        dev = devices[i % len(devices)]
        prof = lib.get(dev.profile)
        ts = T0 + i * 0.1
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


def sos(ts: float, cancel: bool) -> tuple[str, bytes]:
    prof = load_library().get("aqara-wxkg11lm")
    return prof.encode("li-sos-button", {"cancel" if cancel else "sos": True}, ts=ts)


def publisher_main(port: int, n: int) -> None:
    """Subprocess: publish the workload as fast as the broker takes it (QoS 0)."""
    os.sched_setaffinity(0, {CORE_PUBLISHER})
    msgs = workload(n)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic, payload in msgs:
        client.publish(topic, payload, qos=0)
    time.sleep(1.0)
    client.loop_stop()
    client.disconnect()


def publish_in_background(port: int, n: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--publisher", str(port), str(n)], cwd=REPO
    )


async def bare_rate(port: int, n: int) -> tuple[float, int]:
    """Messages per second of a bare aiomqtt subscriber; (rate, received)."""
    got, first = 0, 0.0
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.subscribe("zigbee2mqtt/+", qos=1)
        await client.subscribe("carewatch/vitawear/+/telemetry", qos=1)
        proc = publish_in_background(port, n)
        last = time.perf_counter()
        try:
            while got < n:
                try:
                    await asyncio.wait_for(anext(client.messages), timeout=5.0)
                except TimeoutError:
                    break
                last = time.perf_counter()
                if got == 0:
                    first = last
                got += 1
        finally:
            proc.wait(timeout=60)
    return (got - 1) / max(last - first, 1e-9), got


async def gateway_rate(mosq: MosquittoServer, n: int, data: Path) -> tuple[float, int, int]:
    """Messages per second through ingest, decode and detect; (rate, messages, readings)."""
    cfg = GatewayConfig.model_validate(
        {
            "home": HOME,
            "data_dir": data,
            "broker": {"url": mosq.url, "client_id": f"bench-{uuid.uuid4().hex[:6]}"},
            "clock": {"source": "sim"},
            "log_level": "WARNING",
        }
    )
    gw = Gateway(cfg)
    task = asyncio.create_task(gw.run())
    await gw.ready.wait()
    for _ in range(500):
        if gw.ingest.connected:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    c = gw.stages.counters
    proc = publish_in_background(mosq.port, n)
    while c.messages == 0:
        await asyncio.sleep(0.001)
    first = time.perf_counter()
    last_count, last_change = 0, time.perf_counter()
    while c.messages < n and time.perf_counter() - last_change < 5.0:
        await asyncio.sleep(0.005)
        if c.messages != last_count:
            last_count, last_change = c.messages, time.perf_counter()
    await asyncio.wait_for(gw.queues.readings.join(), 30)
    elapsed = time.perf_counter() - first
    proc.wait(timeout=60)
    messages, readings = c.messages, c.readings
    gw.stop()
    await task
    return messages / elapsed, messages, readings


async def latency_and_memory(mosq: MosquittoServer, presses: int, data: Path) -> dict[str, float]:
    """A gateway process gets SOS presses amid chatter; commit minus publish time."""
    env = {**os.environ}
    proc = subprocess.Popen(
        [
            "carewatch-gateway",
            "run",
            "--home",
            str(HOME),
            "--broker",
            mosq.url,
            "--data-dir",
            str(data),
            "--log-level",
            "WARNING",
        ],
        env=env,
        preexec_fn=lambda: os.sched_setaffinity(0, {CORE_GATEWAY}),
    )
    published: dict[int, float] = {}
    chatter = workload(presses * 10)
    try:
        time.sleep(3.0)  # start-up: imports, detectors, subscribe
        async with aiomqtt.Client("127.0.0.1", mosq.port) as client:
            for i in range(presses):
                for topic, payload in chatter[i * 10 : i * 10 + 10]:
                    await client.publish(topic, payload, qos=0)
                ts = T0 + 1000 + i * 120
                topic, payload = sos(ts, cancel=False)
                published[round(ts * 1000)] = time.time()
                await client.publish(topic, payload, qos=1)
                await asyncio.sleep(0.05)
                topic, payload = sos(ts + 5, cancel=True)
                await client.publish(topic, payload, qos=1)
                await asyncio.sleep(0.05)
        time.sleep(1.0)
        rss, hwm = rss_mb(proc.pid), _hwm(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
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
    with MosquittoServer() as mosq, tempfile.TemporaryDirectory() as tmp:
        os.sched_setaffinity(0, {CORE_GATEWAY})
        bare, got = await bare_rate(mosq.port, n)
        print(f"bare aiomqtt subscriber: {bare:,.0f} msg/s ({got}/{n} received)")
        rate, msgs, readings = await gateway_rate(mosq, n, Path(tmp) / "a")
        print(
            f"gateway ingest+decode+detect: {rate:,.0f} msg/s, {readings / msgs * rate:,.0f}"
            f" readings/s ({msgs}/{n} messages, {readings} readings)"
        )
        print(f"ratio gateway/bare: {rate / bare:.2f} (target >= 0.5)")
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
    if len(sys.argv) == 4 and sys.argv[1] == "--publisher":
        publisher_main(int(sys.argv[2]), int(sys.argv[3]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000, help="throughput messages")
    parser.add_argument("--presses", type=int, default=100, help="SOS presses for latency")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.presses))
