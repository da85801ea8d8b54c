"""Dispatch fixtures: migrated databases (SQLite, PostgreSQL), provider stand-ins, a seeded city."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.app import create_app
from cloud.auth.deps import Role
from cloud.auth.service import create_user
from cloud.db import make_engine, make_sessionmaker
from cloud.dispatch.clock import ManualClock
from cloud.dispatch.config import DispatchConfig
from cloud.dispatch.engine import Dispatcher
from cloud.dispatch.service import build_dispatcher, close_dispatcher
from cloud.migrate import upgrade
from cloud.models import Alarm, FamilyContact, Gateway, Household, Resident, Worker
from cloud.notify.endpoints import PushPolicy
from cloud.notify.push import generate_vapid_keys
from cloud.notify.push_standin import PushStandin
from cloud.notify.twilio_standin import TwilioStandin
from cloud.settings import Settings
from testbed import PostgresServer, free_port

TEMPLATE = "cwd_template"
# the push stand-in listens on loopback: allowed by name, for the tests only
STANDIN_POLICY = PushPolicy(("127.0.0.1",), allow_loopback=True)
SID, TOKEN, FROM = "AC" + "1" * 32, "test-auth-token-0123456789abcdef", "+15550000001"
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
HOME = (31.2300, 121.4700)


def _migrate(url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head (core + dispatch)."""
    path = tmp_path_factory.mktemp("dispatch-sqlite") / "template.db"
    _migrate(f"sqlite+aiosqlite:///{path}")
    return path


def _dsn(pg: PostgresServer, database: str) -> str:
    return f"postgresql://{pg.user}:{pg.password}@127.0.0.1:{pg.port}/{database}"


async def _pg_admin(pg: PostgresServer, sql: str) -> None:
    conn = await asyncpg.connect(_dsn(pg, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template(postgres: PostgresServer) -> PostgresServer:
    """A PostgreSQL template database migrated to head."""
    asyncio.run(_pg_admin(postgres, f"DROP DATABASE IF EXISTS {TEMPLATE}"))
    asyncio.run(_pg_admin(postgres, f"CREATE DATABASE {TEMPLATE}"))
    _migrate(postgres.url.rsplit("/", 1)[0] + f"/{TEMPLATE}")
    return postgres


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite database."""
    path = tmp_path / "cloud.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def pg_url(pg_template: PostgresServer) -> Iterator[str]:
    """A fresh migrated PostgreSQL database."""
    name = "d_" + uuid.uuid4().hex[:16]
    asyncio.run(_pg_admin(pg_template, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    yield pg_template.url.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_pg_admin(pg_template, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test on both databases."""
    return str(request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}_url"))


@pytest.fixture
def twilio() -> Iterator[TwilioStandin]:
    """Twilio's Messages API on loopback."""
    with TwilioStandin(SID, TOKEN) as tw:
        yield tw


@pytest.fixture
def push() -> Iterator[PushStandin]:
    """A Web Push service on loopback."""
    with PushStandin() as ps:
        yield ps


@pytest.fixture(scope="session")
def vapid() -> tuple[str, str]:
    """The service's VAPID key pair (public, private)."""
    return generate_vapid_keys()


def settings_for(
    url: str, tw: TwilioStandin, vapid: tuple[str, str], public_url: str = "http://127.0.0.1:9"
) -> Settings:
    """Service settings pointing at the stand-ins."""
    return Settings(
        database_url=url,
        public_url=public_url,
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_from_number=FROM,
        twilio_base_url=tw.url,
        vapid_public_key=vapid[0],
        vapid_private_key=vapid[1],
        push_allowed_hosts=list(STANDIN_POLICY.allowed_hosts),
        push_allow_loopback=STANDIN_POLICY.allow_loopback,
        influx_url=f"http://127.0.0.1:{free_port()}",
        migrate_on_start=False,
        monitor_interval_s=3600,
    )


def fast_config(**extra: Any) -> DispatchConfig:
    """Dispatch policy for tests: no jitter-dependent waits beyond the manual clock."""
    values: dict[str, Any] = {"retry_base_s": 1.0, "idle_s": 0.2, "index_refresh_s": 0.0}
    values.update(extra)
    return DispatchConfig(**values)


@dataclass
class City:
    """Seeded ids: one household, its resident and family, workers around it, supervisors."""

    household_id: str = "home-1"
    gateway_id: str = "gw-1"
    workers: list[int] = field(default_factory=list)  # nearest first
    supervisors: list[int] = field(default_factory=list)  # district first
    family: list[int] = field(default_factory=list)


def worker_phone(i: int) -> str:
    """Phone number of the i-th seeded worker."""
    return f"+86138{i:08d}"


async def seed_city(
    sm: async_sessionmaker[AsyncSession], *, workers: int = 5, now: datetime = T0
) -> City:
    """A household with a resident and two family contacts, workers 0.5 km apart, supervisors."""
    city = City()
    async with sm() as s, s.begin():
        s.add(
            Household(
                id=city.household_id,
                name="Wang home",
                address="88 Huaihai Rd, Flat 1203",
                lat=HOME[0],
                lon=HOME[1],
                district="d1",
                access_notes="key box 4711",
                timezone="Asia/Shanghai",
            )
        )
        await s.flush()
        s.add(Resident(household_id=city.household_id, first_name="Mei", conditions=["diabetes"]))
        s.add(Gateway(id=city.gateway_id, household_id=city.household_id, secret_hash="x" * 64))
        fam = [
            FamilyContact(
                household_id=city.household_id,
                name="Li (son)",
                phone="+8613900000001",
                language="en",
                channels=["sms"],
                may_claim=True,
            ),
            FamilyContact(
                household_id=city.household_id,
                name="Ann (daughter)",
                phone="+8613900000002",
                language="zh",
                channels=["sms"],
                alarm_kinds=["sos"],
            ),
        ]
        s.add_all(fam)
        ws = [
            Worker(
                name=f"worker {i}",
                phone=worker_phone(i),
                language="zh" if i % 2 == 0 else "en",
                role="worker",
                district="d1",
                duty_status="on",
                skills=[],
                capacity=1,
                lat=HOME[0] + 0.0045 * (i + 1),  # about 0.5 km per step north
                lon=HOME[1],
                location_at=now,
            )
            for i in range(workers)
        ]
        sups = [
            Worker(name="sup d1", phone="+8613700000001", role="supervisor", district="d1"),
            Worker(name="sup d2", phone="+8613700000002", role="supervisor", district="d2"),
        ]
        s.add_all(ws + sups)
        await s.flush()
        city.workers = [w.id for w in ws]
        city.supervisors = [w.id for w in sups]
        city.family = [f.id for f in fam]
    return city


_seq = iter(range(1, 10**9))


async def raise_alarm(
    sm: async_sessionmaker[AsyncSession],
    city: City,
    kind: str = "fall",
    severity: str = "critical",
    *,
    now: datetime = T0,
) -> int:
    """Insert an alarm as the core's ingest would; returns its primary key."""
    async with sm() as s, s.begin():
        alarm = Alarm(
            alarm_id=f"al-{next(_seq)}-{uuid.uuid4().hex[:6]}",
            gateway_id=city.gateway_id,
            home_id=city.household_id,
            household_id=city.household_id,
            kind=kind,
            severity=severity,
            detector="test",
            raised_at=now,
            received_at=now,
            updated_at=now,
        )
        s.add(alarm)
        await s.flush()
        return alarm.id


@dataclass
class Rig:
    """A dispatcher on a database, with its clock and stand-ins."""

    engine: AsyncEngine
    sm: async_sessionmaker[AsyncSession]
    clock: ManualClock
    dispatcher: Dispatcher


async def make_rig(
    url: str,
    tw: TwilioStandin,
    vapid: tuple[str, str],
    *,
    clock: ManualClock | None = None,
    config: DispatchConfig | None = None,
) -> Rig:
    """A dispatcher (one 'service instance') on ``url``."""
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    clock = clock or ManualClock(T0)
    d = build_dispatcher(
        settings_for(url, tw, vapid), sm, config=config or fast_config(), clock=clock
    )
    return Rig(engine, sm, clock, d)


async def close_rig(rig: Rig) -> None:
    """Close senders and the engine."""
    await close_dispatcher(rig.dispatcher)
    await rig.engine.dispose()


async def settle(rig: Rig, rounds: int = 20) -> None:
    """Step until nothing more is due now (bounded)."""
    for _ in range(rounds):
        if not await rig.dispatcher.step():
            return
    raise AssertionError(f"dispatcher still busy after {rounds} steps")


@pytest.fixture
async def rig(sqlite_url: str, twilio: TwilioStandin, vapid: tuple[str, str]) -> AsyncIterator[Rig]:
    """A dispatcher on a fresh SQLite database with a manual clock."""
    r = await make_rig(sqlite_url, twilio, vapid)
    yield r
    await close_rig(r)


class LiveServer:
    """The whole service under uvicorn on a loopback port, in a thread."""

    def __init__(self, settings: Settings, **state: Any) -> None:
        self.app = create_app(settings)
        for key, value in state.items():
            setattr(self.app.state, key, value)
        self.port = int(settings.public_url.rsplit(":", 1)[1])
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,  # as served (cloud.server): X-Forwarded-For is the app's call
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


async def add_login(
    sm: async_sessionmaker[AsyncSession], username: str, password: str, worker_id: int
) -> None:
    """A worker login."""
    async with sm() as s, s.begin():
        await create_user(s, username, password, Role.WORKER, worker_id=worker_id)
