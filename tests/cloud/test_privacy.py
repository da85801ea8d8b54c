"""One privacy policy: workers see only their tasks' homes, every read is access-logged."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, update

from cloud.auth.deps import Role
from cloud.auth.service import create_user
from cloud.dispatch.models import Offer, Task
from cloud.privacy.policy import (
    NOT_PERSONAL,
    POLICY,
    Audience,
    log_phone,
    markdown_table,
    mask_numbers,
    render,
)
from cloud.registry.models import FamilyContact, Household, Resident, Worker
from tests.cloud.conftest import login_as

pytestmark = pytest.mark.services

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cloud.md"
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
KEY = "key safe 4711 by the door"


async def _city(app: FastAPI) -> dict[str, Any]:
    """Two homes with a resident and a contact each, a worker with a login."""
    async with app.state.sessionmaker() as s:
        for hid in ("home-a", "home-b"):
            s.add(Household(id=hid, address=f"{hid} road 1", lat=31.2, lon=121.5, access_notes=KEY))
        await s.flush()
        people = [
            Resident(
                household_id=hid,
                first_name="Mei",
                last_name="Wang",
                phone="13812345678",
                id_number="110101194001011234",
                conditions=["diabetes"],
            )
            for hid in ("home-a", "home-b")
        ]
        contact = FamilyContact(household_id="home-a", name="Li", phone="13900000001")
        worker = Worker(name="w", phone="+8613700000001", duty_status="on")
        s.add_all([*people, contact, worker])
        await s.flush()
        await create_user(s, "w1", "correct horse battery", Role.WORKER, worker_id=worker.id)
        await s.commit()
        return {"worker": worker.id, "residents": [p.id for p in people], "contact": contact.id}


async def _worker_headers(client: httpx.AsyncClient) -> dict[str, str]:
    resp = await client.post(
        "/api/v1/auth/login", json={"username": "w1", "password": "correct horse battery"}
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def _task(app: FastAPI, household: str, **values: Any) -> int:
    async with app.state.sessionmaker() as s:
        task = Task(
            number=f"T20261122-{uuid.uuid4().int % 10000:04d}",
            household_id=household,
            alarm_kind="fall",
            severity="critical",
            skills=[],
            created_at=T0,
            deadline_at=T0 + timedelta(minutes=30),
            **values,
        )
        s.add(task)
        await s.commit()
        return task.id


async def _seen(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    homes = await client.get("/api/v1/households", headers=headers)
    people = await client.get("/api/v1/residents", headers=headers)
    assert homes.status_code == people.status_code == 200, homes.text
    return {
        "homes": {h["id"]: h for h in homes.json()},
        "people": {p["household_id"]: p for p in people.json()},
    }


async def test_a_worker_reads_only_the_homes_of_tasks_offered_or_assigned(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    city = await _city(app)
    me = await _worker_headers(client)
    nothing = await _seen(client, me)
    assert nothing == {"homes": {}, "people": {}}  # was: every household and resident
    assert (await client.get("/api/v1/households/home-a", headers=me)).status_code == 404
    rid_a, rid_b = city["residents"]
    assert (await client.get(f"/api/v1/residents/{rid_a}", headers=me)).status_code == 404
    assert (await client.get("/api/v1/contacts", headers=me)).status_code == 403

    task = await _task(app, "home-a", state="offered")
    async with app.state.sessionmaker() as s:
        s.add(
            Offer(
                task_id=task,
                worker_id=city["worker"],
                round=1,
                state="pending",
                offered_at=T0,
                expires_at=T0 + timedelta(minutes=2),
            )
        )
        await s.commit()
    offered = await _seen(client, me)
    assert set(offered["homes"]) == {"home-a"} and set(offered["people"]) == {"home-a"}
    home, person = offered["homes"]["home-a"], offered["people"]["home-a"]
    assert home["address"] == "home-a road 1" and home["access_notes"] is None  # not theirs yet
    assert person["first_name"] == "Mei" and person["conditions"] == ["diabetes"]
    assert person["phone"] is None and person["id_number"] is None and person["last_name"] is None
    assert (await client.get(f"/api/v1/residents/{rid_b}", headers=me)).status_code == 404

    async with app.state.sessionmaker() as s:
        await s.execute(update(Offer).values(state="accepted"))
        await s.execute(
            update(Task).where(Task.id == task).values(state="accepted", worker_id=city["worker"])
        )
        await s.commit()
    assigned = await _seen(client, me)
    assert assigned["homes"]["home-a"]["access_notes"] == KEY  # the task is theirs: the key
    assert assigned["people"]["home-a"]["id_number"] is None

    async with app.state.sessionmaker() as s:  # deactivated: the login is disabled
        await s.execute(update(Worker).values(active=False))
        await s.commit()
    assert (await client.get("/api/v1/households", headers=me)).status_code == 401
    assert (await client.get("/api/v1/households/home-a", headers=me)).status_code == 401

    async with app.state.sessionmaker() as s:  # deleted: the login is unlinked, still nothing
        await s.execute(update(Worker).values(active=True))
        await s.execute(delete(Offer))
        await s.execute(update(Task).values(worker_id=None))
        await s.execute(delete(Worker).where(Worker.id == city["worker"]))
        await s.commit()
    assert await _seen(client, me) == {"homes": {}, "people": {}}


async def test_api_shows_each_role_what_the_policy_says(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    city = await _city(app)
    rid = city["residents"][0]
    for role in (Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER):
        headers = await login_as(app, client, role)
        person = (await client.get(f"/api/v1/residents/{rid}", headers=headers)).json()
        home = (await client.get("/api/v1/households/home-a", headers=headers)).json()
        contact = (await client.get(f"/api/v1/contacts/{city['contact']}", headers=headers)).json()
        audience = Audience(role.value)
        assert person["phone"] == "13812345678"  # dispatchers call residents and families
        assert contact["phone"] == "13900000001"
        assert person["id_number"] == render(audience, "resident.id_number", "110101194001011234")
        assert home["access_notes"] == render(audience, "household.access_notes", KEY)
        assert home["updated_at"] and person["household_id"] == "home-a"  # never masked
    assert render(Audience.DISPATCHER, "household.access_notes", KEY) == "key safe **** by the door"


async def test_every_read_is_in_the_access_log_for_admins(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    city = await _city(app)
    rid = city["residents"][0]
    dispatcher = await login_as(app, client, Role.DISPATCHER)
    admin = await login_as(app, client, Role.ADMIN)
    assert (await client.get(f"/api/v1/residents/{rid}", headers=dispatcher)).status_code == 200
    assert (await client.get("/api/v1/residents", headers=dispatcher)).status_code == 200
    assert (await client.get("/api/v1/access-log", headers=dispatcher)).status_code == 403

    resp = await client.get(
        "/api/v1/access-log",
        params={"record_type": "resident", "record_id": str(rid), "limit": 10},
        headers=admin,
    )
    assert resp.status_code == 200, resp.text
    entries = resp.json()
    assert [e["via"] for e in entries] == [
        "GET /api/v1/residents",
        "GET /api/v1/residents/{id}",
    ]  # newest first
    first = entries[-1]
    assert first["role"] == "dispatcher" and first["username"].startswith("dispatcher-")
    assert first["fields"]["phone"] == "clear" and first["fields"]["id_number"] == "masked"
    assert "household_id" not in first["fields"]  # only personal fields are listed
    since = datetime.fromisoformat(first["at"].replace("Z", "+00:00"))
    later = await client.get(
        "/api/v1/access-log",
        params={"since": (since + timedelta(days=1)).isoformat()},
        headers=admin,
    )
    assert later.json() == []
    bad = await client.get("/api/v1/access-log", params={"record_type": "x"}, headers=admin)
    assert bad.status_code == 422

    vitals = await client.get("/api/v1/households/home-a/vitals", headers=dispatcher)
    assert vitals.status_code == 200, vitals.text
    home = await client.get(
        "/api/v1/access-log", params={"record_type": "household", "limit": 1}, headers=admin
    )
    (entry,) = home.json()
    assert entry["record_id"] == "home-a" and entry["fields"] == {"vitals": "clear"}
    assert entry["via"] == "GET /api/v1/households/{home_id}/vitals"


def test_every_personal_column_is_in_the_policy() -> None:
    tables = {
        "resident": Resident,
        "household": Household,
        "contact": FamilyContact,
        "worker": Worker,
    }
    for record, model in tables.items():
        for column in model.__table__.columns:
            name = f"{record}.{column.name}"
            assert name in POLICY or column.name in NOT_PERSONAL[record], name
    for name, (_kind, shows) in POLICY.items():
        assert set(shows) == set(Audience), name
        assert shows[Audience.LOG] != "clear", name  # logs carry no personal value in clear
    id_numbers = [a for a, how in POLICY["resident.id_number"][1].items() if how == "clear"]
    assert id_numbers == [Audience.ADMIN]


def test_masking_leaves_timestamps_ids_and_task_numbers_alone() -> None:
    text = (
        "deadline_at=2026-12-02T17:30:00+00:00, created 2026-12-02 17:30, task T20261202-0042, "
        "alarm al-20261202173000-1234567, call +86 138 1234 5678 or 13912345678"
    )
    masked = mask_numbers(text)
    assert "deadline_at=2026-12-02T17:30:00+00:00" in masked
    assert "2026-12-02 17:30" in masked and "T20261202-0042" in masked
    assert "al-20261202173000-1234567" in masked
    assert "1234 5678" not in masked and "13912345678" not in masked
    assert re.search(r"\+86\*+5678", masked) and "139****5678" in masked
    assert log_phone("+8613812345678") == "+86*******5678"


def test_docs_carry_the_policy_table() -> None:
    assert markdown_table() in DOCS.read_text(encoding="utf-8")
