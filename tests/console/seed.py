"""A small, fully known city for the console tests: homes, people, alarms, tasks, time series."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.alarms.models import OPEN, RESOLVED, Alarm
from cloud.auth.deps import Role
from cloud.auth.service import create_user
from cloud.db import make_engine, make_sessionmaker
from cloud.dispatch import audit
from cloud.dispatch.models import Offer, Task, TaskAlarm, TaskEvent, TaskKind, TaskState
from cloud.gateways.service import add_gateway
from cloud.registry.models import Device, FamilyContact, Household, Resident, Worker
from cloud.timeseries.points import telemetry_line
from protocol import TelemetryPoint

PASSWORD = "console-test-password"
RESIDENT_PHONE = "13812345678"
RESIDENT_ID_NUMBER = "110101194501011234"
CONTACT_PHONE = "13900001111"
WORKER_PHONE = "+8613700002222"
DAY = "20261122"
# Response times (minutes) of the resolved history, and which were false alarms.
HISTORY = [(8, False), (12, True), (18, False), (25, True), (29, False), (36, False), (48, True)]
HISTORY += [(75, False)]


@dataclass
class City:
    """What the tests need to know about the seeded data."""

    now: datetime
    credentials: dict[str, str] = field(default_factory=dict)
    resident_id: int = 0
    tampered_task: str = ""


def _home(hid: str, name: str, lat: float, lon: float, district: str) -> Household:
    return Household(
        id=hid,
        name=name,
        address=f"{name} Road 1",
        lat=lat,
        lon=lon,
        district=district,
        risk_level="high",
        access_notes=f"key with neighbour, call {CONTACT_PHONE}",
        timezone="Asia/Shanghai",
    )


def _alarm(aid: str, home: str, kind: str, severity: str, raised: datetime, **kw: Any) -> Alarm:
    return Alarm(
        alarm_id=aid,
        gateway_id=kw.pop("gateway", f"gw-{home}"),
        home_id=home,
        household_id=home,
        kind=kind,
        severity=severity,
        status=kw.pop("status", OPEN),
        detector=kw.pop("detector", kind),
        raised_at=raised,
        received_at=raised + timedelta(seconds=2),
        updated_at=raised + timedelta(seconds=2),
        evidence=[],
        **kw,
    )


def _task(number: str, home: str, kind: str, created: datetime, **kw: Any) -> Task:
    return Task(
        number=number,
        household_id=home,
        kind=TaskKind.RESPONSE,
        alarm_kind=kind,
        severity=kw.pop("severity", "critical"),
        created_at=created,
        deadline_at=created + timedelta(minutes=30),
        skills=[],
        **kw,
    )


async def _people(s: AsyncSession, now: datetime) -> dict[str, Worker]:
    workers = {
        "near": Worker(name="Li Near", phone=WORKER_PHONE, lat=39.9105, lon=116.3705),
        "mid": Worker(name="Zhao Mid", phone="+8613700003333", lat=39.9200, lon=116.3800),
        "far": Worker(name="Sun Far", phone="+8613700004444", lat=39.9500, lon=116.4200),
        "off": Worker(name="Qian Off", phone="+8613700005555", lat=39.9101, lon=116.3701),
    }
    for key, w in workers.items():
        w.duty_status = "off" if key == "off" else "on"
        w.district, w.location_at, w.capacity = "Xicheng", now, 1
    s.add_all(workers.values())
    await s.flush()
    return workers


async def _chain(s: AsyncSession, task: Task, steps: list[tuple[str, str, dict[str, Any]]]) -> None:
    for i, (action, actor, detail) in enumerate(steps):
        ts = task.created_at + timedelta(seconds=30 * i)
        audit.append(s, task, action, actor=actor, channel="sms", ts=ts, **detail)
    await s.flush()


async def seed_database(url: str, now: datetime) -> City:
    """Write the city into the (migrated) database at ``url``."""
    city = City(now=now)
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as s:
        homes = [
            _home("h1", "Wang home", 39.9100, 116.3700, "Xicheng"),
            _home("h2", "Liu home", 39.9150, 116.3750, "Xicheng"),
            _home("h3", "Chen home", 39.9300, 116.4000, "Dongcheng"),
        ]
        s.add_all(homes)
        await s.flush()
        for h in homes:
            gw, cred = await add_gateway(s, f"gw-{h.id}", h.id, f"{h.name} gateway")
            city.credentials[h.id] = cred
            if h.id == "h2":
                gw.offline_since = now - timedelta(hours=3)
                gw.last_seen_at = now - timedelta(hours=3)
        wang = Resident(
            household_id="h1",
            first_name="Wang",
            last_name="Fang",
            phone=RESIDENT_PHONE,
            id_number=RESIDENT_ID_NUMBER,
            birth_year=1941,
            conditions=["diabetes"],
        )
        s.add_all([wang, Resident(household_id="h2", first_name="Liu", last_name="Min")])
        s.add(Resident(household_id="h3", first_name="Chen", last_name="Bo"))
        s.add(FamilyContact(household_id="h1", name="Wang Jr", relation="son", phone=CONTACT_PHONE))
        s.add_all(
            [
                Device(
                    household_id="h1",
                    gateway_id="gw-h1",
                    device_id="wrist-1",
                    profile="acme-wristband-w1",
                    room="bedroom",
                    worn_by_resident=True,
                ),
                Device(
                    household_id="h1",
                    gateway_id="gw-h1",
                    device_id="pir-1",
                    profile="aqara-rtcgq11lm",
                    room="kitchen",
                ),
                Device(
                    household_id="h3",
                    gateway_id="gw-h3",
                    device_id="wrist-3",
                    profile="acme-wristband-w1",
                    room="bedroom",
                    worn_by_resident=True,
                ),
                Device(
                    household_id="h3",
                    gateway_id="gw-h3",
                    device_id="radar-3",
                    profile="acme-radar-r2",
                    room="bathroom",
                ),
            ]
        )
        workers = await _people(s, now)
        for role in ("supervisor", "dispatcher", "worker", "admin"):
            wid = workers["near"].id if role == "worker" else None
            await create_user(s, role, PASSWORD, Role(role), wid)
        await s.flush()
        city.resident_id = wang.id

        # Open: a fresh fall with offers out, an inactivity without a task, an old SOS.
        fall = _alarm(
            "a-fall",
            "h1",
            "fall",
            "critical",
            now - timedelta(minutes=5),
            device_id="wrist-1",
            detector="wrist_fall",
        )
        idle = _alarm("a-idle", "h2", "inactivity", "high", now - timedelta(minutes=20))
        sos = _alarm("a-sos", "h3", "sos", "critical", now - timedelta(minutes=45))
        offline = _alarm(
            "a-off", "h1", "device_offline", "warning", now - timedelta(hours=2), device_id="pir-1"
        )
        battery = _alarm(
            "a-batt",
            "h3",
            "battery_low",
            "warning",
            now - timedelta(hours=5),
            device_id="wrist-3",
            details={"battery_pct": 12},
        )
        s.add_all([fall, idle, sos, offline, battery])
        await s.flush()
        t1 = _task(
            f"T{DAY}-0001", "h1", "fall", now - timedelta(minutes=4), state=TaskState.OFFERED
        )
        t2 = _task(
            f"T{DAY}-0002",
            "h3",
            "sos",
            now - timedelta(minutes=44),
            state=TaskState.ACCEPTED,
            worker_id=workers["far"].id,
        )
        s.add_all([t1, t2])
        await s.flush()
        s.add_all(
            [TaskAlarm(task_id=t1.id, alarm_pk=fall.id), TaskAlarm(task_id=t2.id, alarm_pk=sos.id)]
        )
        for key in ("near", "mid"):
            s.add(
                Offer(
                    task_id=t1.id,
                    worker_id=workers[key].id,
                    round=1,
                    distance_km=None,
                    state="pending",
                    offered_at=t1.created_at,
                    expires_at=t1.created_at + timedelta(minutes=2),
                    channel="sms",
                )
            )
        await _chain(
            s,
            t1,
            [
                ("created", "system", {"alarm": "a-fall"}),
                ("offered", f"worker:{workers['near'].id}", {"to": WORKER_PHONE, "round": 1}),
            ],
        )
        await _chain(
            s,
            t2,
            [
                ("created", "system", {"alarm": "a-sos"}),
                ("accepted", f"worker:{workers['far'].id}", {"reply": "1"}),
            ],
        )

        # Resolved history over the last days, for the reports.
        for i, (minutes, false_alarm) in enumerate(HISTORY, start=10):
            created = now - timedelta(days=1, hours=i)
            detector = "wrist_fall" if i % 3 else "radar_fall"
            home = "h1" if i % 2 and detector == "wrist_fall" else "h3"
            device = {"h1": "wrist-1", "h3": "wrist-3"}[home] if i % 3 else "radar-3"
            a = _alarm(
                f"a-old-{i}",
                home,
                "fall",
                "critical",
                created - timedelta(seconds=30),
                status=RESOLVED,
                device_id=device,
                detector=detector,
            )
            t = _task(
                f"T{DAY}-{i:04d}",
                home,
                "fall",
                created,
                state=TaskState.RESOLVED,
                worker_id=workers["near"].id,
                arrived_at=created + timedelta(minutes=minutes),
                closed_at=created + timedelta(minutes=minutes + 20),
                outcome="false_alarm" if false_alarm else "assisted",
            )
            s.add_all([a, t])
            await s.flush()
            s.add(TaskAlarm(task_id=t.id, alarm_pk=a.id))
            await _chain(s, t, [("created", "system", {}), ("on_site", "worker:1", {})])
        city.tampered_task = f"T{DAY}-{10:04d}"
        await s.commit()
    await engine.dispose()
    return city


async def tamper(url: str, number: str) -> None:
    """Edit one audit entry of a task behind the chain's back (as a DBA could, past the
    append-only trigger on PostgreSQL)."""
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as s:
        if engine.dialect.name == "postgresql":
            await s.execute(text("ALTER TABLE dispatch_task_events DISABLE TRIGGER USER"))
        task = await s.scalar(select(Task).where(Task.number == number))
        assert task is not None
        ev = await s.scalar(
            select(TaskEvent).where(TaskEvent.task_id == task.id, TaskEvent.seq == 1)
        )
        assert ev is not None
        ev.detail = {"edited": True}
        await s.flush()
        if engine.dialect.name == "postgresql":
            await s.execute(text("ALTER TABLE dispatch_task_events ENABLE TRIGGER USER"))
        await s.commit()
    await engine.dispose()


def timeseries_lines(home_id: str, now: datetime) -> list[str]:
    """Six hours of per-minute vitals and motion, and a low battery, for one home."""
    start = now.replace(second=0, microsecond=0) - timedelta(hours=6)
    lines = []
    for m in range(360):
        minute = start + timedelta(minutes=m)
        hr = 60.0 + (m % 30)
        lines.append(
            telemetry_line(
                home_id,
                TelemetryPoint(
                    minute=minute,
                    device_id="wrist-1",
                    metric="heart_rate",
                    count=12,
                    min=hr - 3,
                    mean=hr,
                    max=hr + 3,
                ),
            )
        )
        lines.append(
            telemetry_line(
                home_id,
                TelemetryPoint(
                    minute=minute,
                    device_id="wrist-1",
                    metric="spo2",
                    count=12,
                    min=95,
                    mean=97,
                    max=98,
                ),
            )
        )
        if m % 10 == 0:
            lines.append(
                telemetry_line(
                    home_id,
                    TelemetryPoint(
                        minute=minute, device_id="pir-1", metric="motion", count=3, mean=1.0
                    ),
                )
            )
    lines.append(
        telemetry_line(
            home_id,
            TelemetryPoint(
                minute=start + timedelta(hours=5),
                device_id="wrist-1",
                metric="battery",
                count=1,
                min=15,
                mean=15,
                max=15,
            ),
        )
    )
    return lines


def write_influx(url: str, database: str, lines: list[str]) -> None:
    """Write lines through InfluxDB's 1.x HTTP API."""
    with httpx.Client(base_url=url, timeout=30) as http:
        http.post("/query", data={"q": f'CREATE DATABASE "{database}"'}).raise_for_status()
        resp = http.post(
            "/write", params={"db": database, "precision": "ms"}, content="\n".join(lines)
        )
        resp.raise_for_status()
