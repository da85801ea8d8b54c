"""A real cloud (uvicorn on loopback, SQLite, the session's InfluxDB) seeded with a small city."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn

from cloud.app import create_app
from cloud.settings import Settings
from testbed import InfluxServer, PostgresServer
from testbed.services import free_port
from tests.console.seed import PASSWORD, City, seed_database, timeseries_lines, write_influx

ROLES = ("admin", "supervisor", "dispatcher", "worker")


@dataclass
class Console:
    """A running cloud with the console, its seeded data and a token per role."""

    base_url: str
    database_url: str
    city: City
    tokens: dict[str, str]

    def client(self, role: str | None = "supervisor") -> httpx.Client:
        """An HTTP client, signed in as ``role`` (anonymous for None)."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


class _ServerThread:
    """uvicorn serving an app from a background thread."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="console-uvicorn", daemon=True)

    def start(self) -> None:
        self.thread.start()
        for _ in range(600):
            if self.server.started:
                return
            if not self.thread.is_alive():
                break
            time.sleep(0.05)
        raise RuntimeError("the cloud did not start (see the log above)")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


async def _fresh_postgres_database(server: PostgresServer, name: str) -> str:
    """A new empty database on the session's PostgreSQL; its async URL."""
    conn = await asyncpg.connect(
        host="127.0.0.1",
        port=server.port,
        user=server.user,
        password=server.password,
        database=server.database,
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def console(
    request: pytest.FixtureRequest, influx: InfluxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """The cloud on a free loopback port, with the city seeded and everyone signed in.

    SQLite unless a test module parametrizes it indirectly with ``"postgres"``.
    """
    workdir: Path = tmp_path_factory.mktemp("console")
    database = f"console_{workdir.name}".replace("-", "_")
    if getattr(request, "param", "sqlite") == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = asyncio.run(_fresh_postgres_database(server, database))
    else:
        url = f"sqlite+aiosqlite:///{workdir}/carewatch.db"
    settings = Settings(
        database_url=url, data_dir=workdir, influx_url=influx.url, influx_database=database
    )
    app = create_app(settings)
    app.state.dispatch_autorun = False  # the seeded tasks stay exactly as written
    server = _ServerThread(app)
    server.start()
    try:
        now = datetime.now(UTC)
        city = asyncio.run(seed_database(url, now))
        write_influx(influx.url, database, timeseries_lines("h1", now))
        base = f"http://127.0.0.1:{server.port}"
        tokens = {}
        with httpx.Client(base_url=base, timeout=30) as http:
            for role in ROLES:
                resp = http.post(
                    "/api/v1/auth/login", json={"username": role, "password": PASSWORD}
                )
                resp.raise_for_status()
                tokens[role] = resp.json()["access_token"]
        yield Console(base_url=base, database_url=url, city=city, tokens=tokens)
    finally:
        server.stop()
