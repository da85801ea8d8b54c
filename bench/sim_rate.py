"""Simulator throughput into Mosquitto, beside a bare paho-mqtt publisher of the same payloads.

Starts a private broker (testbed.MosquittoServer), plays a fleet of homes as fast as it can
(simulation + encoding + clock + publishing), then publishes the very same payloads with a
plain paho loop. Prints both rates and their ratio, plus the pure-simulation speed the
detectors rely on (a simulated month of one home, no broker).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from device_sim.encode import Encoder
from device_sim.engine import HomeSim, simulate_readings
from device_sim.fleet import fleet_homes
from device_sim.mqtt import BrokerConfig, Publisher
from device_sim.player import Player
from protocol.home import load_home
from testbed import MosquittoServer

HOMES = Path(__file__).resolve().parents[1] / "device_sim" / "homes"
START = 1763946000.0  # 2025-11-24 09:00 Asia/Shanghai
N_HOMES = 300
SPAN_S = 3600.0


def bare_paho(port: int, messages: list[tuple[str, bytes, int]]) -> float:
    """Seconds a plain paho client takes to publish ``messages`` (all written/acknowledged)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(2000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t0 = time.perf_counter()
    infos = [client.publish(t, p, qos=q) for t, p, q in messages]
    for info in infos:
        info.wait_for_publish(30)
    elapsed = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return elapsed


def main() -> int:
    """Run the benchmark and print its figures."""
    templates = [load_home(p) for p in sorted(HOMES.glob("*.yaml"))]
    homes = fleet_homes(templates, N_HOMES, seed=1)
    print(f"building {N_HOMES} homes, {SPAN_S / 3600:.0f} h each ...", file=sys.stderr)
    sims = [
        HomeSim(h, start=START, end=START + SPAN_S, seed=i, accel=True) for i, h in enumerate(homes)
    ]
    encoder = Encoder(homes)
    payloads = [
        (m.topic, m.payload, m.qos)
        for s in sims
        for m in (encoder.encode(r) for r in s.reports(START, START + SPAN_S))
    ]
    with MosquittoServer() as broker:
        pub = Publisher(BrokerConfig.from_url(broker.url))
        pub.connect()
        player = Player(
            sources=sims, encoder=encoder, publisher=pub, start=START, end=START + SPAN_S, speed=1e9
        )
        stats = player.run()
        pub.close()
        bare_s = bare_paho(broker.port, payloads)
    sim_rate = stats.messages / stats.wall_s
    bare_rate = len(payloads) / bare_s
    print(
        f"simulator : {stats.messages} device messages in {stats.wall_s:.2f} s "
        f"= {sim_rate:,.0f} msg/s (plus {int(SPAN_S)} clock messages)"
    )
    print(f"bare paho : {len(payloads)} same payloads in {bare_s:.2f} s = {bare_rate:,.0f} msg/s")
    print(f"ratio     : simulator / bare paho = {sim_rate / bare_rate:.2f}")
    li = load_home(HOMES / "flat_li.yaml")
    t0 = time.perf_counter()
    res = simulate_readings(li, start=START, days=30, seed=1)
    month_s = time.perf_counter() - t0
    print(
        f"simulate_readings: 30 days of {li.home_id} (no accel) = {len(res.readings)} readings "
        f"in {month_s:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
