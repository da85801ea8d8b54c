"""Ingest throughput of one cloud service process with real PostgreSQL and InfluxDB.

Starts private PostgreSQL and InfluxDB, runs ``carewatch-cloud serve`` as one process,
registers gateways, then drives it over HTTP from this process:
  1. alarms (one per request, as gateways send them), alarms/s and p99 latency;
  2. the steady per-home load: a heartbeat and a telemetry batch per home-minute,
     requests/s, telemetry points/s and p99 latency;
  3. InfluxDB's own line-protocol write rate for the same points (ratio).
Prints the figures and compares with 2 x what 65,000 homes need (2 requests/home/min).
Usage: python bench/cloud_ingest.py [--alarms N] [--homes N] [--minutes N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from cloud.db import make_engine, make_sessionmaker
from cloud.gateways.service import add_gateway
from cloud.migrate import upgrade
from cloud.registry.models import Household
from cloud.timeseries.points import telemetry_lines
from protocol import TelemetryBatch
from protocol.api import ALARMS_PATH, HEARTBEAT_PATH, TELEMETRY_PATH
from testbed import InfluxServer, PostgresServer, free_port

HOMES_TARGET = 65_000
POINTS_PER_BATCH = 8
T0 = datetime(2026, 11, 22, tzinfo=UTC)


async def register(db_url: str, homes: int) -> list[str]:
    engine = make_engine(db_url)
    await upgrade(engine)
    creds = []
    async with make_sessionmaker(engine)() as session:
        for i in range(homes):
            session.add(Household(id=f"h{i}", lat=31.0, lon=121.0))
        await session.flush()
        for i in range(homes):
            creds.append((await add_gateway(session, f"g{i}", f"h{i}"))[1])
        await session.commit()
    await engine.dispose()
    return creds


def alarm(i: int, home: int) -> dict[str, Any]:
    return {
        "alarm_id": f"bench-{i}",
        "gateway_id": f"g{home}",
        "home_id": f"h{home}",
        "kind": "fall",
        "severity": "critical",
        "raised_at": T0.isoformat(),
        "detector": "bench",
    }


def telemetry(home: int, minute: int) -> dict[str, Any]:
    ts = (T0 + timedelta(minutes=minute)).isoformat()
    metrics = [
        "heart_rate",
        "spo2",
        "breathing_rate",
        "motion",
        "presence",
        "battery",
        "temperature",
        "door_open",
    ]
    return {
        "batch_id": f"t-{home}-{minute}",
        "gateway_id": f"g{home}",
        "home_id": f"h{home}",
        "points": [
            {
                "minute": ts,
                "device_id": f"d{k}",
                "metric": m,
                "count": 60,
                "min": 1.0,
                "mean": 2.0,
                "max": 3.0,
            }
            for k, m in enumerate(metrics[:POINTS_PER_BATCH])
        ],
    }


def heartbeat(home: int) -> dict[str, Any]:
    return {
        "gateway_id": f"g{home}",
        "home_id": f"h{home}",
        "ts": T0.isoformat(),
        "version": "bench",
        "uptime_s": 1.0,
        "broker_connected": True,
        "outbox_pending": 0,
        "quarantine_count": 0,
    }


async def drive(
    url: str, jobs: list[tuple[str, str, dict[str, Any]]], concurrency: int
) -> tuple[float, list[float]]:
    """Send ``jobs`` from ``concurrency`` keep-alive connections; (seconds, latencies)."""
    latencies: list[float] = []
    queue = iter(jobs)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url, connector=connector) as session:

        async def worker() -> None:
            for path, cred, body in queue:
                data = json.dumps(body).encode()
                headers = {"Authorization": f"Bearer {cred}", "Content-Type": "application/json"}
                t = time.perf_counter()
                async with session.post(path, data=data, headers=headers) as resp:
                    text = await resp.text()
                latencies.append(time.perf_counter() - t)
                if resp.status != 200:
                    raise RuntimeError(f"{path}: {resp.status} {text[:200]}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.99) - 1] * 1000 if ordered else 0.0


async def influx_rate(url: str, lines: list[str]) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await client.post("/query", data={"q": 'CREATE DATABASE "raw"'})
        start = time.perf_counter()
        for i in range(0, len(lines), 5000):
            resp = await client.post(
                "/write",
                params={"db": "raw", "precision": "ms"},
                content="\n".join(lines[i : i + 5000]).encode(),
            )
            resp.raise_for_status()
        return len(lines) / (time.perf_counter() - start)


async def wait_ready(url: str) -> None:
    """Until the service answers /readyz (at most 30 s)."""
    async with httpx.AsyncClient(base_url=url) as c:
        for _ in range(300):
            try:
                if (await c.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"service at {url} did not become ready")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(
    args: argparse.Namespace, url: str, influx_url: str, creds: list[str], pid: int
) -> None:
    """Drive the service and print the figures."""
    await wait_ready(url)
    homes = args.homes
    jobs = [
        (ALARMS_PATH, creds[i % homes], {"alarms": [alarm(i, i % homes)]})
        for i in range(args.alarms)
    ]
    cpu = cpu_seconds(pid)
    secs, lat = await drive(url, jobs, args.concurrency)
    cpu = cpu_seconds(pid) - cpu
    print(f"alarms: {args.alarms} in {secs:.2f} s = {args.alarms / secs:.0f} alarms/s", end="")
    print(f", p99 {p99(lat):.1f} ms; service CPU {cpu / args.alarms * 1000:.2f} ms/alarm")
    mixed: list[tuple[str, str, dict[str, Any]]] = []
    batches = []
    for minute in range(args.minutes):
        for h in range(homes):
            batches.append(TelemetryBatch.model_validate(telemetry(h, minute)))
            mixed.append((TELEMETRY_PATH, creds[h], telemetry(h, minute)))
            mixed.append((HEARTBEAT_PATH, creds[h], heartbeat(h)))
    cpu = cpu_seconds(pid)
    secs, lat = await drive(url, mixed, args.concurrency)
    cpu = cpu_seconds(pid) - cpu
    rps = len(mixed) / secs
    points = len(batches) * POINTS_PER_BATCH / secs
    print(
        f"steady load (heartbeat + telemetry batch of {POINTS_PER_BATCH} per home-minute): ", end=""
    )
    print(f"{len(mixed)} requests in {secs:.2f} s = {rps:.0f} req/s, {points:.0f} points/s", end="")
    print(f", p99 {p99(lat):.1f} ms")
    per_cpu_s = len(mixed) / cpu
    print(f"service CPU {cpu / len(mixed) * 1000:.2f} ms/request = {per_cpu_s:.0f} req per CPU-s")
    need = 2 * HOMES_TARGET * 2 / 60
    print(
        f"target 2 x 65,000 homes x 2 req/min = {need:.0f} req/s: measured {rps / need:.2f}", end=""
    )
    print(f" of it; with one full core for the process {per_cpu_s / need:.2f}")
    print(f"(load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    lines = [ln for b in batches for ln in telemetry_lines(b, list(b.points))]
    raw = await influx_rate(influx_url, lines)
    print(f"InfluxDB direct line protocol: {raw:.0f} points/s; service/direct {points / raw:.2f}")


def main() -> None:
    """Start the servers and the service, run the load, print figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--alarms", type=int, default=3000)
    parser.add_argument("--homes", type=int, default=500)
    parser.add_argument("--minutes", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--core-only", action="store_true", help="without the dispatch feature")
    args = parser.parse_args()
    with PostgresServer() as pg, InfluxServer() as influx, tempfile.TemporaryDirectory() as data:
        creds = asyncio.run(register(pg.url, args.homes))
        port = free_port()
        env = {
            **os.environ,
            "CAREWATCH_DATABASE_URL": pg.url,
            "CAREWATCH_INFLUX_URL": influx.url,
            "CAREWATCH_DATA_DIR": str(Path(data)),
            "CAREWATCH_MONITOR_INTERVAL_S": "3600",
            "CAREWATCH_FEATURES": "[]" if args.core_only else '["cloud.dispatch"]',
        }
        cmd = os.environ.get("BENCH_SERVE", f"{sys.executable} -m cloud.cli serve --port").split()
        proc = subprocess.Popen([*cmd, str(port)], env=env)
        try:
            asyncio.run(load(args, f"http://127.0.0.1:{port}", influx.url, creds, proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
