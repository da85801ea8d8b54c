"""End to end on this machine: N homes → gateways → cloud → dispatch → SMS request.

Starts a private Mosquitto, InfluxDB and PostgreSQL, the cloud service (one process,
``carewatch-cloud serve``) and a Twilio stand-in; registers N homes (an SOS button and a
PIR each), their gateways and a worker near each home through the API; runs the N gateways
in a few processes (many gateways per process, one broker shared by all homes with a topic
prefix per home); then presses SOS buttons at a steady rate and measures, per alarm, the
time from the MQTT publish of the press (the sensor message that completes the alarm
condition) to the first SMS request the dispatcher makes at the Twilio stand-in.

Prints p50/p99 latency and the alarm rate the whole chain sustained. Example::

    python bench/e2e_latency.py --homes 1000 --alarms 300 --rate 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import paho.mqtt.client as mqtt
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cloud.notify.twilio_standin import TwilioStandin  # noqa: E402
from demo.procs import DemoError, ProcessGroup, wait_http  # noqa: E402
from demo.seed import login  # noqa: E402
from testbed import InfluxServer, MosquittoServer, PostgresServer, free_port  # noqa: E402

CENTER = (31.2304, 121.4737)  # central Shanghai
_RESIDENT = re.compile(r"\bR(\d{5})\b")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--homes", type=int, default=200, help="simulated homes (default 200)")
    p.add_argument("--alarms", type=int, default=0, help="SOS presses (default min(homes, 200))")
    p.add_argument("--rate", type=float, default=5.0, help="SOS presses per second (default 5)")
    p.add_argument("--gateway-procs", type=int, default=2, help="gateway processes (default 2)")
    p.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument("--timeout", type=float, default=120.0, help="wait for SMS after the last press")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--role", choices=["bench", "gateways"], default="bench", help=argparse.SUPPRESS)
    p.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    return p.parse_args()


def home_id(i: int) -> str:
    return f"h{i:05d}"


def make_homes(n: int, folder: Path, seed: int = 11) -> list[dict[str, Any]]:
    """N home manifests within ~8 km of the centre, written as YAML into ``folder``."""
    rng = np.random.default_rng(seed)
    homes = []
    for i in range(n):
        r = 8.0 * math.sqrt(rng.uniform())
        a = rng.uniform(0, 2 * math.pi)
        lat = CENTER[0] + r * math.sin(a) / 111.2
        lon = CENTER[1] + r * math.cos(a) / (111.2 * math.cos(math.radians(CENTER[0])))
        hid = home_id(i)
        manifest = {
            "home_id": hid,
            "gateway_id": f"gw-{hid}",
            "name": f"Home {i}",
            "address": f"Bench Road {i}",
            "district": f"d{i % 8}",
            "coordinates": {"lat": round(lat, 6), "lon": round(lon, 6)},
            "timezone": "Asia/Shanghai",
            "resident": {"first_name": f"R{i:05d}"},
            "rooms": ["bedroom", "living_room"],
            "devices": [
                {"device_id": f"{hid}-sos", "profile": "aqara-wxkg11lm", "room": "bedroom"},
                {"device_id": f"{hid}-pir", "profile": "aqara-rtcgq11lm", "room": "living_room"},
            ],
        }
        path = folder / f"{hid}.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        homes.append({**manifest, "path": str(path)})
    return homes


def register(base: str, admin: dict[str, str], homes: list[dict[str, Any]]) -> dict[str, str]:
    """Households, gateways and one on-duty worker near each home; gateway credentials."""
    creds: dict[str, str] = {}
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    with httpx.Client(base_url=base, headers=admin, timeout=30) as api:
        for i, h in enumerate(homes):
            c = h["coordinates"]
            for path, body in (
                (
                    "/api/v1/households",
                    {
                        "id": h["home_id"],
                        "name": h["name"],
                        "address": h["address"],
                        "lat": c["lat"],
                        "lon": c["lon"],
                        "district": h["district"],
                    },
                ),
                (
                    "/api/v1/residents",
                    {
                        "household_id": h["home_id"],
                        "first_name": h["resident"]["first_name"],
                        "consent": True,
                    },
                ),
                (
                    "/api/v1/workers",
                    {
                        "name": f"Worker {i}",
                        "phone": f"+86139{i:08d}",
                        "language": "en",
                        "district": h["district"],
                        "duty_status": "on",
                        "capacity": 3,
                        "lat": c["lat"] + 0.004,
                        "lon": c["lon"] + 0.004,
                        "location_at": now,
                    },
                ),
            ):
                r = api.post(path, json=body)
                if r.status_code >= 400:
                    raise DemoError(f"{path} for {h['home_id']}: {r.status_code} {r.text[:200]}")
            r = api.post(
                "/api/v1/gateways", json={"id": h["gateway_id"], "household_id": h["home_id"]}
            )
            if r.status_code >= 400:
                raise DemoError(f"gateway {h['gateway_id']}: {r.status_code} {r.text[:200]}")
            creds[h["gateway_id"]] = r.json()["credential"]
            for d in h.get("devices", []):  # telemetry of unregistered devices is refused
                body = {
                    "household_id": h["home_id"],
                    "gateway_id": h["gateway_id"],
                    "device_id": d["device_id"],
                    "profile": d["profile"],
                }
                r = api.post("/api/v1/devices", json=body)
                if r.status_code >= 400:
                    raise DemoError(f"device {d['device_id']}: {r.status_code} {r.text[:200]}")
            if (i + 1) % 100 == 0:
                print(f"  registered {i + 1}/{len(homes)} homes", file=sys.stderr)
    return creds


async def run_gateways(spec: dict[str, Any]) -> None:
    """Gateway-process role: run every gateway of the spec in this event loop."""
    from edge.app import Gateway
    from edge.config import GatewayConfig
    from firmware_profiles import load_library

    library = load_library()
    gateways = []
    for g in spec["gateways"]:
        cfg = GatewayConfig.model_validate(
            {
                "home": g["home"],
                "data_dir": g["data_dir"],
                "log_level": "WARNING",
                "broker": {
                    "url": spec["broker"],
                    "topic_prefix": g["prefix"],
                    "client_id": f"bench-{g['prefix'][:-1]}",
                },
                "cloud": {"url": spec["cloud"], "credential": g["credential"], "heartbeat_s": 30},
            }
        )
        gateways.append(Gateway(cfg, library=library))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tasks = [asyncio.create_task(gw.run()) for gw in gateways]
    await stop.wait()
    for gw in gateways:
        gw.stop()
    await asyncio.gather(*tasks, return_exceptions=True)


def start_gateways(
    procs: ProcessGroup,
    homes: list[dict[str, Any]],
    creds: dict[str, str],
    broker: str,
    cloud: str,
    workdir: Path,
    nproc: int,
) -> None:
    for k in range(nproc):
        part = homes[k::nproc]
        spec = {
            "broker": broker,
            "cloud": cloud,
            "gateways": [
                {
                    "home": h["path"],
                    "data_dir": str(workdir / "gw" / h["home_id"]),
                    "prefix": f"{h['home_id']}/",
                    "credential": creds[h["gateway_id"]],
                }
                for h in part
            ],
        }
        path = workdir / f"gateways-{k}.json"
        path.write_text(json.dumps(spec))
        procs.start(
            f"gateways-{k}",
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--role",
                "gateways",
                "--spec",
                str(path),
            ],
        )


def wait_heartbeats(base: str, admin: dict[str, str], n: int, procs: ProcessGroup) -> None:
    deadline = time.monotonic() + 60 + n * 0.05
    seen = 0
    while time.monotonic() < deadline:
        procs.check_alive()
        seen = 0
        for offset in range(0, n, 1000):
            r = httpx.get(
                f"{base}/api/v1/gateways",
                headers=admin,
                timeout=30,
                params={"limit": 1000, "offset": offset},
            )
            seen += sum(1 for g in r.json() if g.get("last_seen_at"))
        if seen >= n:
            return
        time.sleep(1)
    raise DemoError(f"only {seen} of {n} gateways reached the cloud")


def press_buttons(broker_port: int, homes: list[dict[str, Any]], rate: float) -> dict[str, float]:
    """Publish one SOS press per home at ``rate`` per second; monotonic publish times."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-buttons")
    client.connect("127.0.0.1", broker_port)
    client.loop_start()
    sent: dict[str, float] = {}
    t0 = time.monotonic()
    for i, h in enumerate(homes):
        due = t0 + i / rate
        while (now := time.monotonic()) < due:
            time.sleep(min(0.01, due - now))
        hid = h["home_id"]
        payload = json.dumps(
            {"action": "single", "battery": 90, "last_seen": int(time.time() * 1000)}
        ).encode()
        sent[hid] = time.monotonic()
        client.publish(f"{hid}/zigbee2mqtt/{hid}-sos", payload, qos=1)
        if (i + 1) % 50 == 0:
            print(f"  pressed {i + 1}/{len(homes)}", file=sys.stderr)
    client.loop_stop()
    client.disconnect()
    return sent


def first_sms(twilio: TwilioStandin) -> dict[str, float]:
    """First SMS request per home (by the resident's name in the offer text)."""
    out: dict[str, float] = {}
    for m in twilio.messages:
        match = _RESIDENT.search(m.body)
        if match:
            hid = home_id(int(match.group(1)))
            out.setdefault(hid, m.received_monotonic)
    return out


def bench(args: argparse.Namespace) -> dict[str, Any]:
    n_alarms = args.alarms or min(args.homes, 200)
    if n_alarms > args.homes:
        raise DemoError(f"--alarms {n_alarms} is more than --homes {args.homes}")
    work = Path(tempfile.mkdtemp(prefix="carewatch-e2e-"))
    sid, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    with (
        MosquittoServer() as broker,
        InfluxServer() as influx,
        TwilioStandin(sid, token) as twilio,
        ProcessGroup(work / "logs") as procs,
    ):
        pg = PostgresServer().start() if args.db == "postgres" else None
        try:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            db = pg.url if pg else f"sqlite+aiosqlite:///{work / 'cloud.sqlite3'}"
            env = {
                **os.environ,
                "CAREWATCH_DATABASE_URL": db,
                "CAREWATCH_INFLUX_URL": influx.url,
                "CAREWATCH_PUBLIC_URL": base,
                "CAREWATCH_TWILIO_ACCOUNT_SID": sid,
                "CAREWATCH_TWILIO_AUTH_TOKEN": token,
                "CAREWATCH_TWILIO_FROM_NUMBER": "+15005550006",
                "CAREWATCH_TWILIO_BASE_URL": twilio.url,
            }
            cli = str(Path(sys.executable).parent / "carewatch-cloud")
            subprocess.run([cli, "migrate"], env=env, check=True, capture_output=True)
            password = secrets.token_urlsafe(12)
            subprocess.run(
                [cli, "users", "add", "bench", "--role", "admin", "--password-stdin"],
                env=env,
                input=password + "\n",
                text=True,
                check=True,
                capture_output=True,
            )
            cloud = procs.start("cloud", [cli, "serve", "--port", str(port)], env=env)
            wait_http(f"{base}/readyz", timeout=60, child=cloud)
            admin = login(base, "bench", password)
            print(f"registering {args.homes} homes", file=sys.stderr)
            homes = make_homes(args.homes, work)
            creds = register(base, admin, homes)
            print(
                f"starting {args.homes} gateways in {args.gateway_procs} processes", file=sys.stderr
            )
            start_gateways(procs, homes, creds, broker.url, base, work, args.gateway_procs)
            wait_heartbeats(base, admin, args.homes, procs)
            time.sleep(2.0)
            print(f"pressing {n_alarms} SOS buttons at {args.rate}/s", file=sys.stderr)
            targets = homes[:: max(1, args.homes // n_alarms)][:n_alarms]
            t_start = time.monotonic()
            sent = press_buttons(broker.port, targets, args.rate)
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                procs.check_alive()
                if len(first_sms(twilio).keys() & sent.keys()) >= len(sent):
                    break
                time.sleep(0.25)
            got = first_sms(twilio)
        finally:
            if pg is not None:
                pg.stop()
    lat = np.array([(got[h] - t) * 1000 for h, t in sent.items() if h in got])
    done = [got[h] for h in sent if h in got]
    span = (max(done) - t_start) if done else float("nan")
    return {
        "homes": args.homes,
        "gateway_processes": args.gateway_procs,
        "database": args.db,
        "alarms_sent": len(sent),
        "alarms_reaching_sms": len(lat),
        "offered_rate_per_s": args.rate,
        "sustained_alarms_per_s": round(len(done) / span, 2) if done else 0.0,
        "latency_ms": {
            "p50": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
            "p99": round(float(np.percentile(lat, 99)), 1) if len(lat) else None,
            "max": round(float(lat.max()), 1) if len(lat) else None,
        },
        "sms_requests": len(twilio.messages),
    }


def main() -> int:
    args = parse_args()
    if args.role == "gateways":
        assert args.spec is not None
        asyncio.run(run_gateways(json.loads(args.spec.read_text())))
        return 0
    try:
        result = bench(args)
    except DemoError as exc:
        print(f"e2e bench failed: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    lat = result["latency_ms"]
    print(
        f"homes {result['homes']} in {result['gateway_processes']} gateway processes, "
        f"cloud on {result['database']}"
    )
    print(
        f"alarms: {result['alarms_reaching_sms']}/{result['alarms_sent']} reached an SMS "
        f"request; offered {result['offered_rate_per_s']}/s, sustained "
        f"{result['sustained_alarms_per_s']}/s"
    )
    print(
        f"sensor message → SMS request: p50 {lat['p50']} ms, p99 {lat['p99']} ms, "
        f"max {lat['max']} ms"
    )
    return 0 if result["alarms_reaching_sms"] == result["alarms_sent"] else 1


if __name__ == "__main__":
    sys.exit(main())
