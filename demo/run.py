"""``make demo``: a day in the life of carewatch, end to end, on this machine.

Starts a private Mosquitto per home, InfluxDB, the cloud service (embedded SQLite), one
gateway per home and Twilio and Web Push stand-ins; registers homes, families and workers
through the API; plays four homes (a fall, a resident who stops moving, a climbing heart
rate, an ordinary day); answers offers from the workers' phones; prints the timeline; and
writes a summary JSON. Exits 0 only if every expected alarm reached a worker and no false
alarm was raised.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from cloud.notify.push import generate_vapid_keys
from cloud.notify.push_standin import PushStandin
from cloud.notify.twilio_standin import TwilioStandin
from demo.cast import STAGES, families_for, workers_for
from demo.observe import BrokerTap, Observer, Timeline
from demo.phones import WorkerPhones
from demo.procs import DemoError, ProcessGroup, wait_http
from demo.report import build_summary
from demo.seed import login, seed
from testbed import InfluxServer, MosquittoServer, free_port

log = logging.getLogger("demo")

ADMIN_USER = "demo-admin"
CLOSED = {"resolved", "cancelled"}


def _bin(name: str) -> str:
    """An entry point of this installation (beside the running interpreter), else on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise DemoError(f"{name} not found; run `make bootstrap`")
    return found


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command line of the demo."""
    p = argparse.ArgumentParser(
        prog="python -m demo.run",
        description="Run the end-to-end demo: simulator → gateways → cloud → SMS and push.",
    )
    p.add_argument("--fast", action="store_true", help="play the scenarios 4x faster")
    p.add_argument(
        "--out", type=Path, default=Path("var/demo"), help="where run folders go (default var/demo)"
    )
    p.add_argument(
        "--grace",
        type=float,
        default=120.0,
        help="seconds to wait after the scenarios for every case to close (default 120)",
    )
    p.add_argument("--keep", action="store_true", help="keep databases and logs of the run")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 when every expected alarm reached a worker and none was false."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    rundir = (args.out / datetime.now().strftime("run-%Y%m%d-%H%M%S")).resolve()
    rundir.mkdir(parents=True, exist_ok=True)
    print(f"carewatch demo — run folder {rundir}", flush=True)
    try:
        summary = run(args, rundir)
    except DemoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("demo interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    path = rundir / "summary.json"
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print_summary(summary)
    print(f"summary written to {path}")
    return 0 if summary["ok"] else 1


def run(args: argparse.Namespace, rundir: Path) -> dict[str, Any]:
    """Start everything, play the scenarios, collect the outcome, stop everything."""
    scenarios = {s.label: s.load() for s in STAGES}
    homes = [sc.home for sc in scenarios.values()]
    workers = workers_for(homes)
    families = families_for(homes)
    speedup = 4.0 if args.fast else 1.0
    account_sid = "AC" + secrets.token_hex(16)
    auth_token = secrets.token_hex(16)
    vapid_public, vapid_private = generate_vapid_keys()
    t0 = time.monotonic()
    timeline = Timeline(t0)

    with contextlib.ExitStack() as stack:
        step = _Steps(timeline)
        step("starting InfluxDB, a Mosquitto broker per home, Twilio and push stand-ins")
        influx = stack.enter_context(InfluxServer())
        brokers = {label: stack.enter_context(MosquittoServer()) for label in scenarios}
        twilio = stack.enter_context(TwilioStandin(account_sid, auth_token))
        push = stack.enter_context(PushStandin())
        procs = stack.enter_context(ProcessGroup(rundir / "logs"))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "CAREWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{rundir / 'cloud.sqlite3'}",
            "CAREWATCH_INFLUX_URL": influx.url,
            "CAREWATCH_INFLUX_DATABASE": "carewatch",
            "CAREWATCH_PUBLIC_URL": base,
            "CAREWATCH_TWILIO_ACCOUNT_SID": account_sid,
            "CAREWATCH_TWILIO_AUTH_TOKEN": auth_token,
            "CAREWATCH_TWILIO_FROM_NUMBER": "+15005550006",
            "CAREWATCH_TWILIO_BASE_URL": twilio.url,
            "CAREWATCH_VAPID_PUBLIC_KEY": vapid_public,
            "CAREWATCH_VAPID_PRIVATE_KEY": vapid_private,
            # the push stand-in listens on loopback; named here, never a default
            "CAREWATCH_PUSH_ALLOWED_HOSTS": "127.0.0.1",
            "CAREWATCH_PUSH_ALLOW_LOOPBACK": "true",
        }
        step("cloud: migrate the database, create the operator account, serve")
        cloud_cli = _bin("carewatch-cloud")
        _run_cli([cloud_cli, "migrate"], env, "carewatch-cloud migrate")
        admin_password = secrets.token_urlsafe(12)
        _run_cli(
            [cloud_cli, "users", "add", ADMIN_USER, "--role", "admin", "--password-stdin"],
            env,
            "carewatch-cloud users add",
            stdin=admin_password + "\n",
        )
        cloud = procs.start("cloud", [cloud_cli, "serve", "--port", str(port)], env=env)
        wait_http(f"{base}/readyz", timeout=60, child=cloud)
        admin = login(base, ADMIN_USER, admin_password)

        step(
            f"registering {len(homes)} homes, {len(families)} family contacts, "
            f"{len(workers)} workers"
        )
        seeded = seed(base, admin, homes, workers, families)
        _subscribe_worker_apps(base, admin, seeded.worker_ids, push)

        step("starting one gateway per home (following the simulator's clock)")
        gateway_dirs: dict[str, Path] = {}
        gw_cli = _bin("carewatch-gateway")
        for label, sc in scenarios.items():
            data_dir = rundir / f"gateway-{label}"
            gateway_dirs[label] = data_dir
            procs.start(
                f"gateway-{label}",
                [
                    gw_cli,
                    "run",
                    "--home",
                    str(sc.home_path),
                    "--broker",
                    brokers[label].url,
                    "--cloud",
                    base,
                    "--data-dir",
                    str(data_dir),
                    "--clock",
                    "sim",
                ],
                env={"CAREWATCH_GATEWAY_CREDENTIAL": seeded.credentials[sc.home.gateway_id]},
            )
        _wait_heartbeats(base, admin, [sc.home.gateway_id for sc in scenarios.values()], procs)

        label_of_home = {sc.home.home_id: label for label, sc in scenarios.items()}
        truth: dict[str, list[dict[str, Any]]] = {label: [] for label in scenarios}

        def on_truth(label: str, event: dict[str, Any]) -> None:
            truth[label].append(event)
            if event.get("expected_alarm") or event.get("event") in _NOTABLE:
                tap = taps.get(label)
                expect = event.get("expected_alarm")
                tail = f" → expect {expect} alarm" if expect else ""
                timeline.emit(
                    label,
                    "SENSOR",
                    f"{event['event']}{_where(event)}{tail}",
                    tap.clock_text(float(event["ts"])) if tap else "",
                )

        taps: dict[str, BrokerTap] = {}
        for label, sc in scenarios.items():
            taps[label] = BrokerTap(label, brokers[label].port, sc.home.timezone, on_truth)
            stack.callback(taps[label].close)
        who = {p: f"worker {w.name}" for p, w in seeded.workers_by_phone.items()}
        who |= {p: f"family of {f.home_id}" for p, f in seeded.families_by_phone.items()}
        observer = Observer(
            timeline,
            cloud=base,
            admin=admin,
            taps=taps,
            gateway_dirs=gateway_dirs,
            label_of_home=label_of_home,
            twilio=twilio,
            push=push,
            who=who,
        )
        phones = WorkerPhones(
            twilio,
            f"{base}/webhooks/twilio/sms",
            seeded.workers_by_phone,
            lambda note, text: timeline.emit("", "WORKER", f"{note} {text}"),
        )
        observer.start()
        phones.start()
        stack.callback(phones.stop)

        step("playing the homes: " + "; ".join(f"{s.label} {s.story}" for s in STAGES))
        sim_cli = _bin("carewatch-sim")
        sims = {}
        for stage in STAGES:
            sc = scenarios[stage.label]
            speed = (sc.end - sc.start) / stage.wall_s * speedup
            sims[stage.label] = procs.start(
                f"sim-{stage.label}",
                [
                    sim_cli,
                    "run",
                    str(stage.scenario),
                    "--broker",
                    brokers[stage.label].url,
                    "--speed",
                    f"{speed:.1f}",
                    "--truth",
                    str(rundir / f"truth-{stage.label}.jsonl"),
                    "--publish-truth",
                    "--quiet",
                ],
            )
        _wait_sims(sims, procs, timeline)

        step("scenarios done; waiting for every case to close")
        deadline = time.monotonic() + args.grace
        while time.monotonic() < deadline:
            procs.check_alive()
            if _all_closed(observer, truth):
                break
            time.sleep(0.5)
        time.sleep(1.0)
        observer.stop()
        summary = build_summary(
            scenarios=scenarios,
            truth=truth,
            observer=observer,
            phones=phones,
            rundir=rundir,
            started=t0,
        )
        observer.close()
        summary["timeline"] = timeline.lines
        step("stopping everything the demo started")
    if not args.keep:
        for name in ("cloud.sqlite3", "cloud.sqlite3-wal", "cloud.sqlite3-shm"):
            (rundir / name).unlink(missing_ok=True)
    return summary


_NOTABLE = {"fall", "stop_moving", "tachycardia", "sos", "spo2_low", "go_out", "come_home"}


def _where(event: dict[str, Any]) -> str:
    details = event.get("details") or {}
    room = details.get("room")
    return f" in {room}" if room else ""


class _Steps:
    """Prints the demo's own steps into the timeline."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    def __call__(self, text: str) -> None:
        self.timeline.emit("", "DEMO", text)


def _run_cli(argv: list[str], env: dict[str, str], what: str, stdin: str | None = None) -> str:
    res = subprocess.run(
        argv, env={**os.environ, **env}, input=stdin, capture_output=True, text=True, timeout=120
    )
    if res.returncode != 0:
        raise DemoError(f"{what} failed ({res.returncode}): {res.stderr.strip()[-1500:]}")
    return res.stdout


def _subscribe_worker_apps(
    base: str, admin: dict[str, str], worker_ids: dict[str, int], push: PushStandin
) -> None:
    """Give every worker an app login and a push subscription at the push stand-in."""
    for key, worker_id in worker_ids.items():
        password = secrets.token_urlsafe(12)
        resp = httpx.post(
            f"{base}/api/v1/users",
            headers=admin,
            timeout=10,
            json={
                "username": f"demo-{key}",
                "password": password,
                "role": "worker",
                "worker_id": worker_id,
            },
        )
        if resp.status_code >= 400:
            raise DemoError(f"worker login for {key}: HTTP {resp.status_code} {resp.text[:200]}")
        headers = login(base, f"demo-{key}", password)
        resp = httpx.post(
            f"{base}/api/v1/worker/push/subscriptions",
            headers=headers,
            timeout=10,
            json=push.new_subscription(),
        )
        if resp.status_code >= 400:
            raise DemoError(f"push subscription for {key}: HTTP {resp.status_code} {resp.text}")


def _wait_heartbeats(
    base: str, admin: dict[str, str], gateway_ids: list[str], procs: ProcessGroup
) -> None:
    """Wait until every gateway has reported to the cloud (at most 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        procs.check_alive()
        resp = httpx.get(f"{base}/api/v1/gateways", headers=admin, timeout=10)
        seen = {g["id"] for g in resp.json() if g.get("last_seen_at")}
        if seen >= set(gateway_ids):
            return
        time.sleep(0.5)
    raise DemoError(f"gateways {sorted(set(gateway_ids) - seen)} never reached the cloud")


def _wait_sims(sims: dict[str, Any], procs: ProcessGroup, timeline: Timeline) -> None:
    """Wait for every simulator to finish, checking the long-running children."""
    last_note = time.monotonic()
    while any(c.proc.poll() is None for c in sims.values()):
        procs.check_alive()
        if time.monotonic() - last_note > 30:
            running = [label for label, c in sims.items() if c.proc.poll() is None]
            timeline.emit("", "DEMO", f"still playing: {', '.join(running)}")
            last_note = time.monotonic()
        time.sleep(0.5)
    for label, child in sims.items():
        if child.proc.returncode != 0:
            raise DemoError(f"simulator {label} failed; log {child.log}:\n{child.tail()}")


def _all_closed(observer: Observer, truth: dict[str, list[dict[str, Any]]]) -> bool:
    """Every expected alarm has reached the cloud, and every task is closed."""
    expected = sum(1 for events in truth.values() for e in events if e.get("expected_alarm"))
    needing = [a for a in observer.view.alarms.values() if a["dispatch_state"] in {"new", "queued"}]
    tasks = observer.view.tasks.values()
    return (
        len(observer.view.alarms) >= expected
        and not needing
        and bool(tasks)
        and all(t["state"] in CLOSED for t in tasks)
    )


def print_summary(summary: dict[str, Any]) -> None:
    """The closing table."""
    print()
    print("== summary ==")
    print(
        f"expected alarms {summary['expected_alarms']}, raised {summary['raised_alarms']}, "
        f"missed {summary['missed']}, false {summary['false_alarms']}"
    )
    print(f"tasks {summary['tasks']}, notifications {summary['notifications']}")
    lat = summary["latency_ms"]
    print(f"sensor message → SMS request: p50 {lat['p50']} ms, p99 {lat['p99']} ms (n={lat['n']})")
    resp = summary["response_s"]
    print(f"alarm → worker on site: p50 {resp['p50']} s, max {resp['max']} s (wall time)")
    for line in summary["details"]["problems"]:
        print(f"  ! {line}")
    print("result:", "OK" if summary["ok"] else "NOT OK")


if __name__ == "__main__":
    sys.exit(main())
