"""Cloud fixtures: a fresh database per test on SQLite and PostgreSQL, the app, a client.

Isolation: migrations run once per session into a template (an SQLite file, a PostgreSQL
template database); each test gets its own copy, so tests may commit freely and even
run concurrent transactions. Each test also writes to its own InfluxDB database.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from cloud.app import create_app
from cloud.auth.deps import Role
from cloud.auth.service import create_user
from cloud.db import make_engine
from cloud.gateways.front import GatewayFront
from cloud.gateways.service import add_gateway
from cloud.migrate import upgrade
from cloud.registry.models import Device, Household
from cloud.settings import Settings
from testbed import InfluxServer, PostgresServer

TEMPLATE = "cw_template"
CORE = "head"  # the registry reads dispatch tables (workers see their tasks' homes)


def _migrate(url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        await upgrade(engine, CORE)
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with the schema applied."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    _migrate(f"sqlite+aiosqlite:///{path}")
    return path


def _pg_dsn(pg: PostgresServer, database: str) -> str:
    return f"postgresql://{pg.user}:{pg.password}@127.0.0.1:{pg.port}/{database}"


@pytest.fixture(scope="session")
def pg_template(postgres: PostgresServer) -> PostgresServer:
    """A PostgreSQL template database with the schema applied."""

    async def create() -> None:
        conn = await asyncpg.connect(_pg_dsn(postgres, "postgres"))
        await conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        await conn.execute(f"CREATE DATABASE {TEMPLATE}")
        await conn.close()

    asyncio.run(create())
    _migrate(postgres.url.rsplit("/", 1)[0] + f"/{TEMPLATE}")
    return postgres


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for this test only."""
    if request.param == "sqlite":
        path = tmp_path / "cloud.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    pg: PostgresServer = request.getfixturevalue("pg_template")
    name = "t_" + uuid.uuid4().hex[:16]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_pg_dsn(pg, "postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    yield pg.url.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def make_settings(db_url: str, tmp_path: Path, influx_url: str, **extra: Any) -> Settings:
    """Settings for a test service: its own data dir and InfluxDB database."""
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp_path / "data",
        "influx_url": influx_url,
        "influx_database": "t_" + uuid.uuid4().hex[:12],
        "influx_flush_ms": 2,
        "migrate_on_start": False,
        "monitor_interval_s": 3600,
        **extra,
    }
    return Settings(**values)


@pytest.fixture
def settings(db_url: str, tmp_path: Path, influx: InfluxServer) -> Settings:
    """Settings of the service under test."""
    return make_settings(db_url, tmp_path, influx.url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The started service (core features only)."""
    application = create_app(settings, features=())
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking in-process to ``app`` as served (behind ``GatewayFront``)."""
    transport = httpx.ASGITransport(app=GatewayFront(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://cloud") as c:
        yield c


async def add_household(app: FastAPI, home_id: str = "home-1") -> None:
    """A household row."""
    async with app.state.sessionmaker() as session:
        session.add(Household(id=home_id, lat=31.2, lon=121.5, district="d1"))
        await session.commit()


DEVICES = ("band-1", "pir-1")


async def new_gateway(
    app: FastAPI,
    gateway_id: str = "gw-1",
    home_id: str | None = "home-1",
    devices: tuple[str, ...] = DEVICES,
) -> str:
    """Register a gateway (and its household and devices); returns its credential."""
    if home_id:
        async with app.state.sessionmaker() as session:
            if await session.get(Household, home_id) is None:
                session.add(Household(id=home_id, lat=31.2, lon=121.5, district="d1"))
                await session.commit()
    async with app.state.sessionmaker() as session:
        _, credential = await add_gateway(session, gateway_id, home_id)
        if home_id:
            session.add_all(
                Device(household_id=home_id, gateway_id=gateway_id, device_id=d, profile="p")
                for d in devices
            )
        await session.commit()
    return credential


async def login_as(app: FastAPI, client: httpx.AsyncClient, role: Role) -> dict[str, str]:
    """Create an operator with ``role`` and return auth headers for it."""
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    async with app.state.sessionmaker() as session:
        await create_user(session, name, "correct horse battery", role)
        await session.commit()
    resp = await client.post(
        "/api/v1/auth/login", json={"username": name, "password": "correct horse battery"}
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def sos_alarm(alarm_id: str, gateway_id: str, home_id: str, raised_at: datetime) -> dict[str, Any]:
    """An SOS alarm as a gateway posts it."""
    return {
        "alarm_id": alarm_id,
        "gateway_id": gateway_id,
        "home_id": home_id,
        "kind": "sos",
        "severity": "critical",
        "raised_at": raised_at.isoformat(),
        "detector": "sos",
    }
