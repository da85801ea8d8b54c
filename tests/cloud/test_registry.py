"""Operator auth, roles, registry CRUD, masking of personal data, errors naming fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cloud.app import create_app
from cloud.auth.deps import Role
from cloud.gateways.front import GatewayFront
from protocol.api import ALARMS_PATH, HEARTBEAT_PATH, TELEMETRY_PATH
from testbed import InfluxServer, free_port
from tests.cloud.conftest import login_as, make_settings

pytestmark = pytest.mark.services

HOUSE = {"id": "home-9", "lat": 31.2, "lon": 121.4, "district": "d7", "risk_level": "high"}
RESIDENT = {
    "household_id": "home-9",
    "first_name": "Mei",
    "last_name": "Wang",
    "phone": "13812345678",
    "id_number": "110101194001011234",
    "birth_year": 1940,
    "conditions": ["diabetes"],
    "consent": True,
}


async def test_login_and_roles(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/households")).status_code == 401
    bad = await client.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
    assert bad.status_code == 401
    dispatcher = await login_as(app, client, Role.DISPATCHER)
    assert (await client.get("/api/v1/auth/me", headers=dispatcher)).json()["role"] == "dispatcher"
    assert (
        await client.post("/api/v1/households", json=HOUSE, headers=dispatcher)
    ).status_code == 403
    assert (
        await client.post("/api/v1/gateways", json={"id": "g"}, headers=dispatcher)
    ).status_code == 403
    await client.post("/api/v1/auth/logout", headers=dispatcher)
    assert (await client.get("/api/v1/auth/me", headers=dispatcher)).status_code == 401


async def test_resident_personal_data_masked_by_role(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await login_as(app, client, Role.ADMIN)
    assert (await client.post("/api/v1/households", json=HOUSE, headers=admin)).status_code == 201
    created = await client.post("/api/v1/residents", json=RESIDENT, headers=admin)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    seen: dict[str, dict[str, Any]] = {}
    for role in (Role.ADMIN, Role.DISPATCHER):
        headers = admin if role is Role.ADMIN else await login_as(app, client, role)
        seen[role] = (await client.get(f"/api/v1/residents/{rid}", headers=headers)).json()
    assert seen[Role.ADMIN]["id_number"] == "110101194001011234"
    assert seen[Role.DISPATCHER]["phone"] == "13812345678"
    assert seen[Role.DISPATCHER]["id_number"] == "110***********1234"
    worker = await login_as(app, client, Role.WORKER)  # no task there (tests/cloud/test_privacy)
    assert (await client.get(f"/api/v1/residents/{rid}", headers=worker)).status_code == 404


async def test_crud_and_errors_name_the_field(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await login_as(app, client, Role.ADMIN)
    await client.post("/api/v1/households", json=HOUSE, headers=admin)
    dup = await client.post("/api/v1/households", json=HOUSE, headers=admin)
    assert dup.status_code == 409 and "id" in dup.json()["detail"]
    orphan = await client.post(
        "/api/v1/residents", json={**RESIDENT, "household_id": "nope"}, headers=admin
    )
    assert orphan.status_code == 422 and orphan.json()["detail"][0]["field"] == "household_id"
    bad_lat = await client.post(
        "/api/v1/households", json={**HOUSE, "id": "h2", "lat": 91}, headers=admin
    )
    assert bad_lat.json()["detail"][0]["field"] == "lat"
    worker = {
        "name": "Li",
        "phone": "+8613900000000",
        "skills": ["first_aid"],
        "capacity": 2,
        "district": "d7",
    }
    w = await client.post("/api/v1/workers", json=worker, headers=admin)
    assert w.status_code == 201
    wid = w.json()["id"]
    moved = await client.patch(
        f"/api/v1/workers/{wid}",
        json={
            "duty_status": "on",
            "lat": 31.0,
            "lon": 121.0,
            "location_at": "2026-11-22T08:00:00+00:00",
        },
        headers=admin,
    )
    assert moved.json()["duty_status"] == "on"
    null_name = await client.patch(f"/api/v1/workers/{wid}", json={"name": None}, headers=admin)
    assert null_name.status_code == 422 and null_name.json()["detail"][0]["field"] == "name"
    listed = await client.get("/api/v1/workers?duty_status=on", headers=admin)
    assert [x["id"] for x in listed.json()] == [wid]
    contact = {
        "household_id": "home-9",
        "name": "Son",
        "phone": "13700000000",
        "language": "en",
        "channels": ["sms", "push"],
        "alarm_kinds": ["fall", "sos"],
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "may_claim": True,
    }
    c = await client.post("/api/v1/contacts", json=contact, headers=admin)
    assert c.status_code == 201, c.text
    assert (await client.delete("/api/v1/households/home-9", headers=admin)).status_code == 204
    assert (
        await client.get(f"/api/v1/contacts/{c.json()['id']}", headers=admin)
    ).status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/households", {"id": "h\x00", "lat": 1, "lon": 1}),
        ("/api/v1/households", {"id": "h", "lat": "NaN", "lon": 1}),
        ("/api/v1/households", {"id": "h", "lat": 1, "lon": 1, "extra": 1}),
        ("/api/v1/workers", {"name": "x", "phone": "1" * 100}),
        ("/api/v1/workers", {"name": "x", "phone": "123", "capacity": 10**20}),
        ("/api/v1/workers", {"name": "x", "phone": "123", "location_at": "2026-01-01T00:00:00"}),
        ("/api/v1/residents", {"household_id": "h", "first_name": "a", "birth_year": 10**12}),
        ("/api/v1/users", {"username": "a b", "password": "12345678", "role": "admin"}),
        ("/api/v1/gateways", {"id": "bad id"}),
        ("/api/v1/auth/login", []),
    ],
)
async def test_garbage_gets_4xx(
    app: FastAPI, client: httpx.AsyncClient, path: str, body: Any
) -> None:
    admin = await login_as(app, client, Role.ADMIN)
    resp = await client.post(path, json=body, headers=admin)
    assert 400 <= resp.status_code < 500, resp.text
    for url in (
        "/api/v1/workers/99999999999999999999",
        "/api/v1/alarms?limit=0",
        "/api/v1/households/x/vitals?start=garbage",
    ):
        assert 400 <= (await client.get(url, headers=admin)).status_code < 500


async def test_health_openapi_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"ok": True}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["influx"]["up"] is True
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/api/v1/gateway/alarms" in paths and "/api/v1/workers" in paths
    assert "carewatch_http_request_seconds" in (await client.get("/metrics")).text


async def test_database_down_is_503_not_500(tmp_path: Path, influx: InfluxServer) -> None:
    url = f"postgresql+asyncpg://x:y@127.0.0.1:{free_port()}/nowhere"
    app = create_app(make_settings(url, tmp_path, influx.url), features=())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=GatewayFront(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://cloud") as client:
            assert (await client.get("/readyz")).status_code == 503
            gw = {"Authorization": "Bearer cwg_gw-1.secret"}
            for path in (ALARMS_PATH, HEARTBEAT_PATH, TELEMETRY_PATH):  # the last two: the front
                resp = await client.post(path, json={"alarms": []}, headers=gw)
                assert resp.status_code == 503 and resp.headers["retry-after"], path
            login = {"username": "a", "password": "b"}
            assert (await client.post("/api/v1/auth/login", json=login)).status_code == 503
