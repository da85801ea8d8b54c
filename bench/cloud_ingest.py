"""Ingest throughput of one cloud service process with real PostgreSQL and InfluxDB.

Starts private PostgreSQL and InfluxDB, runs ``carewatch-cloud serve`` as one process,
registers gateways, then drives it over HTTP from this process:
  1. the steady per-home load: a heartbeat and a telemetry batch per home-minute,
     requests/s, telemetry points/s, p50/p99 latency and the service's CPU use;
  2. InfluxDB's own line-protocol write rate for the same points (ratio);
  3. alarms (one per request, as gateways send them), alarms/s and p99 latency;
  4. alarm ingest p99 quiet, then beside a login flood (``--flood-connections`` keep-alive
     connections of wrong passwords): once from one address at one account (the limits
     answer 429), once with a fresh account and X-Forwarded-For address per attempt (the
     service trusts 127.0.0.1 as its proxy here), so that every attempt costs a hash.
Prints the figures and compares with 2 x what 65,000 homes need (2 requests/home/min).
The load comes from raw keep-alive HTTP/1.1 sockets with requests encoded beforehand, so
the generator costs a small fraction of what the service does (its CPU is printed too).
Usage: python bench/cloud_ingest.py [--alarms N] [--homes N] [--minutes N] [--concurrency N]
       [--core-only] [--workers N]  (N > 1: several service processes, reported as such)
       [--flood-connections N] [--flood-alarms N]
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from cloud.auth.deps import Role
from cloud.auth.service import create_user
from cloud.db import make_engine, make_sessionmaker
from cloud.gateways.service import add_gateway
from cloud.migrate import upgrade
from cloud.registry.models import Device, Household
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
            session.add_all(
                Device(household_id=f"h{i}", gateway_id=f"g{i}", device_id=f"d{k}", profile="p")
                for k in range(POINTS_PER_BATCH)
            )
        await create_user(session, "admin", "the-right-admin-password", Role.ADMIN)
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


Job = tuple[str, str, dict[str, Any]]


def encode(jobs: list[Job]) -> list[bytes]:
    """Each job as the bytes of an HTTP/1.1 keep-alive POST."""
    out = []
    for path, cred, body in jobs:
        data = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {cred}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        out.append(head.encode() + data)
    return out


async def drive(port: int, jobs: list[Job], concurrency: int) -> tuple[float, list[float]]:
    """Send ``jobs`` from ``concurrency`` keep-alive connections; (seconds, latencies)."""
    latencies: list[float] = []
    queue = iter(encode(jobs))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in queue:
                t = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0]
                body = await reader.readexactly(int(length))
                latencies.append(time.perf_counter() - t)
                if head[9:12] != b"200":
                    raise RuntimeError(f"{request[:60]!r}: {head[:12]!r} {body[:200]!r}")
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values``, in milliseconds."""
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * q) - 1, 0)] * 1000 if ordered else 0.0


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
    """User + system CPU time the service has used so far (with ``--workers``: all of them)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def load(
    args: argparse.Namespace, port: int, influx_url: str, creds: list[str], pid: int
) -> None:
    """Drive the service and print the figures.

    The steady load runs first: the dispatch work alarms cause would otherwise run beside it.
    """
    await wait_ready(f"http://127.0.0.1:{port}")
    homes = args.homes
    # Warm-up, not measured: every gateway's credential checked once (then cached).
    await drive(port, [(HEARTBEAT_PATH, creds[h], heartbeat(h)) for h in range(homes)], 8)
    mixed: list[Job] = []
    batches = []
    for minute in range(args.minutes):
        for h in range(homes):
            batches.append(TelemetryBatch.model_validate(telemetry(h, minute)))
            mixed.append((TELEMETRY_PATH, creds[h], telemetry(h, minute)))
            mixed.append((HEARTBEAT_PATH, creds[h], heartbeat(h)))
    cpu, own = cpu_seconds(pid), time.process_time()
    secs, lat = await drive(port, mixed, args.concurrency)
    cpu, own = cpu_seconds(pid) - cpu, time.process_time() - own
    rps = len(mixed) / secs
    points = len(batches) * POINTS_PER_BATCH / secs
    who = (
        "ONE service process" if args.workers == 1 else f"{args.workers} PROCESSES (multi-process)"
    )
    print(
        f"{who}: steady load (heartbeat + telemetry batch of {POINTS_PER_BATCH} per home-minute, ",
        end="",
    )
    print(f"{args.concurrency} connections): {len(mixed)} requests in {secs:.2f} s")
    print(f"  {rps:.0f} req/s, {points:.0f} points/s, ", end="")
    print(f"latency p50 {percentile(lat, 0.5):.1f} ms, p99 {percentile(lat, 0.99):.1f} ms")
    per_cpu_s = len(mixed) / cpu
    print(
        f"  service CPU {cpu / secs * 100:.0f}% of a core, {cpu / len(mixed) * 1e6:.0f} us/request",
        end="",
    )
    print(f" = {per_cpu_s:.0f} req per CPU-second;", end="")
    print(f" load generator {own / len(mixed) * 1e6:.0f} us/request")
    need = 2 * HOMES_TARGET * 2 / 60
    verdict = "MET" if rps >= need else "NOT MET"
    print(f"target 2 x 65,000 homes x 2 req/min = {need:.0f} req/s: {verdict}, measured", end="")
    print(f" {rps / need:.2f} of it; at one full core of service CPU {per_cpu_s / need:.2f}")
    print(f"(load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    lines = [ln for b in batches for ln in telemetry_lines(b, list(b.points))]
    raw = await influx_rate(influx_url, lines)
    print(f"InfluxDB direct line protocol: {raw:.0f} points/s; service/direct {points / raw:.2f}")
    jobs: list[Job] = [
        (ALARMS_PATH, creds[i % homes], {"alarms": [alarm(i, i % homes)]})
        for i in range(args.alarms)
    ]
    cpu = cpu_seconds(pid)
    secs, lat = await drive(port, jobs, args.concurrency)
    cpu = cpu_seconds(pid) - cpu
    print(f"alarms: {args.alarms} in {secs:.2f} s = {args.alarms / secs:.0f} alarms/s", end="")
    print(
        f", p99 {percentile(lat, 0.99):.1f} ms; service CPU {cpu / args.alarms * 1000:.2f} ms/alarm"
    )
    if args.flood_connections:
        await login_flood(args, port, creds)


def login_request(username: str, forwarded_for: str | None) -> bytes:
    """A keep-alive POST of a wrong password for ``username``."""
    data = json.dumps({"username": username, "password": "wrong-password"}).encode()
    fwd = f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
    head = (
        f"POST /api/v1/auth/login HTTP/1.1\r\nHost: bench\r\n{fwd}"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def flood(port: int, connections: int, spread: bool, stop: asyncio.Event) -> dict[str, int]:
    """Wrong logins from ``connections`` keep-alive sockets until ``stop``; answers by status."""
    answers: dict[str, int] = {}
    seq = iter(range(10**9))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not stop.is_set():
                n = next(seq)
                if spread:  # a new account from a new address every time: never limited
                    request = login_request(
                        f"guess{n}", f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
                    )
                else:
                    request = login_request("admin", None)
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0]
                await reader.readexactly(int(length))
                code = head[9:12].decode()
                answers[code] = answers.get(code, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return answers


async def login_flood(args: argparse.Namespace, port: int, creds: list[str]) -> None:
    """Alarm ingest p99 quiet and beside a login flood (phase 4 of the module docstring)."""
    homes, n = args.homes, args.flood_alarms
    concurrency = 8
    base = [args.alarms]

    def alarms() -> list[Job]:
        first = base[0]
        base[0] += n
        return [
            (ALARMS_PATH, creds[i % homes], {"alarms": [alarm(i, i % homes)]})
            for i in range(first, first + n)
        ]

    _, quiet = await drive(port, alarms(), concurrency)
    q99 = percentile(quiet, 0.99)
    print(
        f"login flood: alarm ingest ({n} alarms, {concurrency} connections) quiet: "
        f"p50 {percentile(quiet, 0.5):.1f} ms, p99 {q99:.1f} ms"
    )
    for spread, label in ((False, "one address, one account"), (True, "fresh account+address")):
        stop = asyncio.Event()
        flooding = asyncio.create_task(flood(port, args.flood_connections, spread, stop))
        await asyncio.sleep(1.0)  # the flood under way first
        secs, loud = await drive(port, alarms(), concurrency)
        stop.set()
        answers = await flooding
        tries = sum(answers.values())
        l99 = percentile(loud, 0.99)
        verdict = "MET" if l99 <= 2 * q99 else "NOT MET"
        print(
            f"  with {args.flood_connections} connections of wrong passwords ({label}): "
            f"p50 {percentile(loud, 0.5):.1f} ms, p99 {l99:.1f} ms = {l99 / q99:.2f} x quiet "
            f"(target <= 2x: {verdict}); {tries} login answers {dict(sorted(answers.items()))}"
            f" in about {secs + 1:.0f} s"
        )


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed: a cheaper load generator."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main() -> None:
    """Start the servers and the service, run the load, print figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--alarms", type=int, default=3000)
    parser.add_argument("--homes", type=int, default=500)
    parser.add_argument("--minutes", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--core-only", action="store_true", help="without the dispatch feature")
    parser.add_argument(
        "--workers", type=int, default=1, help="service processes (serve --workers)"
    )
    parser.add_argument(
        "--flood-connections", type=int, default=32, help="login flood connections (0: none)"
    )
    parser.add_argument("--flood-alarms", type=int, default=1000, help="alarms per flood phase")
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
            "CAREWATCH_TRUSTED_PROXIES": "127.0.0.1",  # the flood's spread phase names addresses
        }
        cmd = os.environ.get("BENCH_SERVE", f"{sys.executable} -m cloud.cli serve --port").split()
        # The service's own log (e.g. dispatch finding nobody to offer the bench's alarms to,
        # since the bench registers no workers) goes to a file, so the figures stay readable.
        log_path = Path(data) / "service.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(
            [*cmd, str(port), "--workers", str(args.workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(load(args, port, influx.url, creds, proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
            if proc.returncode not in (0, -15):
                print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)


if __name__ == "__main__":
    main()
