"""Bad input is a clear 4xx and loses nothing (finding 11): NUL bytes and out-of-range
dates in queries, oversize bodies, bad CSV rows, duplicate worker phone numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from cloud.auth.deps import Role
from cloud.imports import import_csv
from cloud.models import Worker
from cloud.settings import Settings
from protocol.api import TELEMETRY_PATH
from tests.cloud.conftest import add_household, login_as, new_gateway

LIMIT = 4096


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The service with a small body limit, so tests stay small."""
    return settings.model_copy(update={"max_body_bytes": LIMIT})


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/households?district=x%00",
        "/api/v1/workers?role=%00worker",
        "/api/v1/residents?household_id=home-1%00",
        "/api/v1/alarms?home_id=home-1%00",
        "/api/v1/households/home%00-1",
        "/api/v1/alarms/a%00b",
    ],
)
async def test_nul_in_a_query_is_422_naming_it(
    app: FastAPI, client: httpx.AsyncClient, path: str
) -> None:
    admin = await login_as(app, client, Role.ADMIN)
    resp = await client.get(path, headers=admin)
    assert resp.status_code == 422, resp.text
    name = path.split("?")[1].split("=")[0] if "?" in path else None
    named = {"/api/v1/households/home%00-1": "item_id", "/api/v1/alarms/a%00b": "alarm_id"}
    assert resp.json()["detail"][0]["field"] == (name or named[path])


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/households/home-1/vitals?metric=heart_rate&end=0001-01-01T00:00:00Z", "end"),
        ("/api/v1/households/home-1/vitals?metric=heart_rate&start=1677-01-01T00:00:00Z", "start"),
        ("/api/v1/households/home-1/activity?metric=motion&end=9999-12-31T23:59:59Z", "end"),
        ("/api/v1/alarms?since=0001-01-01T00:00:00Z", "since"),
        ("/api/v1/access-log?until=9999-01-01T00:00:00Z", "until"),
    ],
)
async def test_out_of_range_dates_are_422(
    app: FastAPI, client: httpx.AsyncClient, path: str, param: str
) -> None:
    await add_household(app)
    admin = await login_as(app, client, Role.ADMIN)
    resp = await client.get(path, headers=admin)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"][0]["field"] == param


class _Body:
    """A request body in 1 KiB chunks that counts how many were pulled."""

    def __init__(self, chunks: int) -> None:
        self.chunks, self.pulled = chunks, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield b"x" * 1024


@pytest.mark.parametrize("path", ["/api/v1/auth/login", TELEMETRY_PATH, "/api/v1/households"])
async def test_oversize_bodies_are_413_before_they_are_read(
    client: httpx.AsyncClient, path: str
) -> None:
    big = b"{" + b" " * (2 * LIMIT) + b"}"
    declared = await client.post(path, content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and "CAREWATCH_MAX_BODY_BYTES" in declared.text

    stream = _Body(1000)  # 1 MB, no Content-Length (chunked)
    resp = await client.post(path, content=stream, headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert stream.pulled <= LIMIT // 1024 + 1  # the rest was never read

    lying = await client.post(
        path, content=big, headers={"Content-Type": "application/json", "Content-Length": "10"}
    )
    assert lying.status_code == 413


async def test_a_body_within_the_limit_still_works(app: FastAPI, client: httpx.AsyncClient) -> None:
    credential = await new_gateway(app)
    batch = {"gateway_id": "gw-1", "home_id": "home-1", "points": []}
    resp = await client.post(
        TELEMETRY_PATH, json=batch, headers={"Authorization": f"Bearer {credential}"}
    )
    # it reached the route and was read: the answer is about its content, not its size
    assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "batch_id"


async def test_duplicate_worker_phones_are_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await login_as(app, client, Role.ADMIN)
    first = await client.post(
        "/api/v1/workers", json={"name": "Li", "phone": "+86 138 0000 0001"}, headers=admin
    )
    assert first.status_code == 201 and first.json()["phone"] == "+8613800000001"
    again = await client.post(
        "/api/v1/workers", json={"name": "Wang", "phone": "+8613800000001"}, headers=admin
    )
    assert again.status_code == 409 and again.json()["detail"].startswith("phone:")
    other = await client.post(
        "/api/v1/workers", json={"name": "Zhao", "phone": "+8613800000002"}, headers=admin
    )
    moved = await client.patch(
        f"/api/v1/workers/{other.json()['id']}", json={"phone": "+8613800000001"}, headers=admin
    )
    assert moved.status_code == 409 and "+8613800000001" not in moved.text
    empty = await client.post("/api/v1/workers", json={"name": "Sun", "phone": ""}, headers=admin)
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "phone"


async def test_csv_import_reports_every_bad_row_and_imports_the_rest(
    app: FastAPI, tmp_path: Path
) -> None:
    async with app.state.sessionmaker() as s, s.begin():
        s.add(Worker(name="known", phone="+8613900000009", skills=[]))
    csv = tmp_path / "workers.csv"
    csv.write_bytes(
        b"name,phone,district\n"
        b"Li,+8613900000001,d1\n"  # row 2: good
        b"W\xe4ng,+8613900000002,d1\n"  # row 3: Latin-1, not UTF-8
        b"Zhao,+8613900000003," + b"d" * (128 * 1024) + b"\n"  # row 4: a 128 KiB cell
        b"Qian,+86 139 0000 0001,d1\n"  # row 5: row 2's number, spelled differently
        b"Sun,+8613900000009,d1\n"  # row 6: already registered
        b"Zhou,+8613900000006,d\x001\n"  # row 7: a NUL byte
        b"Wu,+8613900000007,d1,extra\n"  # row 8: more cells than columns
        b"Zheng,+8613900000008,d2\n"  # row 9: good
    )
    report = await import_csv(app.state.sessionmaker, "workers", csv)
    assert report.imported == 2
    assert [(r.row, r.field) for r in report.rejected] == [
        (3, "name"),
        (4, "district"),
        (5, "phone"),
        (6, "phone"),
        (7, "district"),
        (8, "row"),
    ]
    assert "UTF-8" in report.rejected[0].error and "4096" in report.rejected[1].error
    async with app.state.sessionmaker() as s:
        names = set(await s.scalars(select(Worker.name)))
    assert names == {"known", "Li", "Zheng"}
