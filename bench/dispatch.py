"""Dispatch figures: nearest-worker selection, alarm-to-SMS latency, sustained offers per second.

1. Nearest 3 eligible workers among 30,000 (k-d tree + delta set, with location updates
   interleaved), beside a brute-force numpy haversine scan in the same run.
2. Alarm accepted by the cloud (HTTP 200 from the gateway ingest endpoint of the running
   service on PostgreSQL) -> SMS create request at the Twilio stand-in: p50/p99.
3. Offers per second sustained: a burst of alarms committed at once, time until every
   offer SMS reached the stand-in.

Run: ``python bench/dispatch.py`` (starts its own PostgreSQL; about a minute).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from datetime import UTC, datetime

import httpx
import numpy as np
import uvicorn
from sqlalchemy import func, select

from cloud.app import create_app
from cloud.db import make_engine, make_sessionmaker
from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.models import Offer
from cloud.dispatch.nearest import WorkerIndex, WorkerState, chord_to_km, unit_vectors
from cloud.gateways.service import add_gateway
from cloud.migrate import upgrade
from cloud.models import Alarm, Household, Resident, Worker
from cloud.notify.push import generate_vapid_keys
from cloud.notify.twilio_standin import TwilioStandin
from cloud.settings import Settings
from protocol.api import ALARMS_PATH
from testbed import PostgresServer, free_port

CENTER = (31.23, 121.47)
SID, TOKEN = "AC" + "b" * 32, "bench-token-0123456789abcdef0123"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile."""
    return float(np.percentile(np.asarray(values), q))


def bench_nearest(n: int = 30_000, queries: int = 2_000, k: int = 3) -> None:
    """Index vs brute force on the same workers and queries."""
    rng = np.random.default_rng(7)
    now = 1_000_000.0
    lat = CENTER[0] + rng.uniform(-0.35, 0.35, n)
    lon = CENTER[1] + rng.uniform(-0.4, 0.4, n)
    on = rng.random(n) < 0.7
    cap = rng.integers(0, 3, n)
    seen = now - rng.choice([30.0, 300.0, 3000.0], n)
    workers = [
        WorkerState(i, float(lat[i]), float(lon[i]), float(seen[i]), bool(on[i]), int(cap[i]))
        for i in range(n)
    ]
    index = WorkerIndex(rebuild_at=512)
    t0 = time.perf_counter()
    index.load(workers)
    build_ms = (time.perf_counter() - t0) * 1e3
    qs = [
        (CENTER[0] + rng.uniform(-0.3, 0.3), CENTER[1] + rng.uniform(-0.3, 0.3))
        for _ in range(queries)
    ]
    tree_us: list[float] = []
    brute_us: list[float] = []
    mismatches = 0
    for qlat, qlon in qs:
        for _ in range(10):  # ten location reports between two selections
            i = int(rng.integers(n))
            lat[i] += rng.normal(0, 0.001)
            seen[i] = now
            w = workers[i]
            index.upsert(WorkerState(i, float(lat[i]), w.lon, now, w.on_duty, w.capacity_left))
        t = time.perf_counter()
        got = index.nearest(qlat, qlon, k, now=now, max_age_s=900)
        tree_us.append((time.perf_counter() - t) * 1e6)
        t = time.perf_counter()
        ok = on & (cap > 0) & (now - seen <= 900)
        xyz = unit_vectors(lat[ok], lon[ok])
        q = unit_vectors(np.array([qlat]), np.array([qlon]))[0]
        d = np.linalg.norm(xyz - q, axis=1)
        top = np.argpartition(d, k)[:k]
        top = top[np.argsort(d[top])]
        brute = chord_to_km(d[top])
        brute_us.append((time.perf_counter() - t) * 1e6)
        if not np.allclose([c.km for c in got], brute, atol=1e-6):
            mismatches += 1
    t50, t99 = pct(tree_us, 50), pct(tree_us, 99)
    b50, b99 = pct(brute_us, 50), pct(brute_us, 99)
    print(f"nearest {k} of {n} workers ({queries} queries, 10 location updates between each):")
    print(
        f"  index build            {build_ms:8.1f} ms   rebuilds during run: {index.rebuilds - 1}"
    )
    print(f"  k-d tree + delta       p50 {t50:8.1f} us   p99 {t99:8.1f} us")
    print(f"  brute-force numpy      p50 {b50:8.1f} us   p99 {b99:8.1f} us")
    print(f"  ratio brute/index      p50 {b50 / t50:8.1f} x    p99 {b99 / t99:8.1f} x")
    print(f"  answers differing from brute force: {mismatches}")


class Server:
    """The service under uvicorn in a thread."""

    def __init__(self, settings: Settings, port: int) -> None:
        app = create_app(settings)
        app.state.dispatch_config = DispatchConfig(idle_s=2.0)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("service did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


async def seed(url: str, homes: int, workers: int) -> list[str]:
    """Households (each with a gateway) and on-duty workers; returns gateway credentials."""
    engine = make_engine(url)
    await upgrade(engine)
    sm = make_sessionmaker(engine)
    rng = random.Random(3)
    now = datetime.now(UTC)
    creds: list[str] = []
    async with sm() as s, s.begin():
        for i in range(homes):
            hid = f"home-{i}"
            s.add(
                Household(
                    id=hid,
                    address=f"{i} Bench Road",
                    lat=CENTER[0] + rng.uniform(-0.2, 0.2),
                    lon=CENTER[1] + rng.uniform(-0.2, 0.2),
                    district="d1",
                )
            )
            await s.flush()
            s.add(Resident(household_id=hid, first_name=f"H{i:04d}X"))
            _, cred = await add_gateway(s, f"gw-{i}", hid)
            creds.append(cred)
        s.add_all(
            Worker(
                name=f"w{j}",
                phone=f"+86138{j:08d}",
                role="worker",
                district="d1",
                duty_status="on",
                capacity=10_000,
                lat=CENTER[0] + rng.uniform(-0.3, 0.3),
                lon=CENTER[1] + rng.uniform(-0.3, 0.3),
                location_at=now,
            )
            for j in range(workers)
        )
    await engine.dispose()
    return creds


def alarm(i: int, n: int, severity: str = "critical") -> dict[str, str]:
    """One gateway alarm."""
    return {
        "alarm_id": f"bench-{i}-{n}",
        "gateway_id": f"gw-{i}",
        "home_id": f"home-{i}",
        "kind": "fall",
        "severity": severity,
        "raised_at": datetime.now(UTC).isoformat(),
        "detector": "bench",
    }


def bench_service(pg: PostgresServer) -> None:
    """Alarm-to-SMS latency and sustained offers per second through the running service."""
    homes, workers, samples = 600, 5_000, 200
    creds = asyncio.run(seed(pg.url, homes, workers))
    vapid = generate_vapid_keys()
    with TwilioStandin(SID, TOKEN) as tw:
        port = free_port()
        settings = Settings(
            database_url=pg.url,
            public_url=f"http://127.0.0.1:{port}",
            twilio_account_sid=SID,
            twilio_auth_token=TOKEN,
            twilio_from_number="+15550001111",
            twilio_base_url=tw.url,
            vapid_public_key=vapid[0],
            vapid_private_key=vapid[1],
            influx_url=f"http://127.0.0.1:{free_port()}",
            migrate_on_start=False,
        )
        with Server(settings, port), httpx.Client(base_url=settings.public_url, timeout=30) as http:
            lat_ms: list[float] = []
            for n in range(samples):
                i = n
                tag = f"H{i:04d}X"
                resp = http.post(
                    ALARMS_PATH,
                    json={"alarms": [alarm(i, n)]},
                    headers={"Authorization": f"Bearer {creds[i]}"},
                )
                accepted = time.monotonic()
                assert resp.status_code == 200, resp.text
                msg = tw.wait_for_messages(1, 10, where=lambda m, t=tag: t in m.body)[0]
                lat_ms.append((msg.received_monotonic - accepted) * 1e3)
            print(f"alarm accepted -> SMS request at the provider ({samples} alarms, PostgreSQL):")
            print(
                f"  p50 {pct(lat_ms, 50):7.1f} ms   p99 {pct(lat_ms, 99):7.1f} ms   "
                f"max {max(lat_ms):7.1f} ms   (target p99 < 500 ms)"
            )

            burst = list(range(samples, homes))
            before = len(tw.messages)
            asyncio.run(insert_alarms(pg.url, burst))  # as the ingest would, in one commit
            t0 = time.monotonic()
            offers = asyncio.run(count_offers(pg.url, burst))
            tw.wait_for_messages(before + offers, 120)
            elapsed = time.monotonic() - t0
            print(f"sustained: {len(burst)} critical alarms committed at once, 3 offers each:")
            rate = offers / elapsed
            print(f"  {offers} offers sent as SMS in {elapsed:.1f} s = {rate:.0f} offers/s")
            print("  (includes up to idle_s = 2 s before the loop notices rows it was not told of)")


async def insert_alarms(url: str, homes: list[int]) -> None:
    """Store alarms for ``homes`` directly, as one ingest transaction would."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            s.add_all(
                Alarm(
                    alarm_id=f"burst-{i}",
                    gateway_id=f"gw-{i}",
                    home_id=f"home-{i}",
                    household_id=f"home-{i}",
                    kind="fall",
                    severity="critical",
                    detector="bench",
                    raised_at=now,
                    received_at=now,
                    updated_at=now,
                )
                for i in homes
            )
    finally:
        await engine.dispose()


async def count_offers(url: str, homes: list[int], wait_s: float = 120.0) -> int:
    """Wait until every burst task has its offers in the database; returns their number."""
    engine = make_engine(url)
    want = 3 * len(homes)
    deadline = time.monotonic() + wait_s
    try:
        async with make_sessionmaker(engine)() as s:
            while time.monotonic() < deadline:
                total = int(await s.scalar(select(func.count()).select_from(Offer)) or 0)
                if total >= want + 3 * 200:
                    return total - 3 * 200
                await s.commit()
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise TimeoutError("offers did not all appear")


def main() -> None:
    """Print every figure."""
    bench_nearest()
    with PostgresServer() as pg:
        bench_service(pg)


if __name__ == "__main__":
    main()
